"""Training the CNN14 classifier that the interpreters explain."""

import logging
import os

import numpy as np
import speechbrain as sb
import torch.nn.functional as F

from lmac_brain.brains.distributed import CPUDistributedMixin
from lmac_brain.reporting.plots import save_confusion_matrix

logger = logging.getLogger(__name__)


class ClassifierBrain(CPUDistributedMixin, sb.Brain):
    """Cross-entropy training of ``modules.model`` (an ``AudioClassifier``) on waveforms.

    Optional ``noise_augmenter`` (passed as an attribute after construction) mixes WHAM! noise
    into training batches. Logs loss, error and accuracy; at test time writes the accuracy and
    a confusion matrix (CSV and PNG) to ``hparams.output_folder``.
    """

    noise_augmenter = None

    def compute_forward(self, batch, stage):
        batch = batch.to(self.device)
        wavs, _ = batch.sig
        if stage == sb.Stage.TRAIN and self.noise_augmenter is not None:
            wavs = self.noise_augmenter(wavs)
        return self.modules.model(wavs)

    def compute_objectives(self, logits, batch, stage):
        labels = batch.label.to(self.device)
        loss = F.cross_entropy(logits, labels, label_smoothing=self.hparams.label_smoothing)
        if stage != sb.Stage.TRAIN:
            predictions = logits.argmax(dim=-1)
            self.error_stats.append(batch.id, predictions, labels)
        return loss

    def on_stage_start(self, stage, epoch=None):
        if stage != sb.Stage.TRAIN:
            self.error_stats = PredictionStats()

    def on_stage_end(self, stage, stage_loss, epoch=None):
        if stage == sb.Stage.TRAIN:
            self.train_loss = stage_loss
            return
        stats = {"loss": stage_loss, "error": self.error_stats.error_rate()}
        stats["accuracy"] = 1.0 - stats["error"]
        if stage == sb.Stage.VALID:
            lr, next_lr = self.hparams.lr_annealing(epoch)
            sb.nnet.schedulers.update_learning_rate(self.optimizer, next_lr)
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch": epoch, "lr": lr},
                train_stats={"loss": self.train_loss},
                valid_stats=stats,
            )
            self.checkpointer.save_and_keep_only(meta=stats, min_keys=["error"])
        else:
            self.hparams.train_logger.log_stats(
                stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
                test_stats=stats,
            )
            if sb.utils.distributed.if_main_process():
                self.error_stats.write(self.hparams.output_folder, self.hparams.classes)


class PredictionStats:
    """Collects (id, prediction, label) triples; error rate and confusion matrix."""

    def __init__(self):
        self.ids, self.predictions, self.labels = [], [], []

    def append(self, ids, predictions, labels):
        self.ids.extend(ids)
        self.predictions.extend(predictions.tolist())
        self.labels.extend(labels.tolist())

    def error_rate(self):
        if not self.labels:
            return float("nan")
        return float(np.mean(np.array(self.predictions) != np.array(self.labels)))

    def confusion(self, n_classes):
        """``[n_classes, n_classes]`` counts, rows = true class, columns = prediction."""
        matrix = np.zeros((n_classes, n_classes), dtype=int)
        np.add.at(matrix, (self.labels, self.predictions), 1)
        return matrix

    def write(self, folder, class_names):
        """Write ``test_accuracy.txt``, ``confusion_matrix.csv`` and ``confusion_matrix.png``."""
        matrix = self.confusion(len(class_names))
        accuracy = 1.0 - self.error_rate()
        with open(os.path.join(folder, "test_accuracy.txt"), "w") as f:
            f.write(f"{accuracy:.4f}\n")
        header = "true\\pred," + ",".join(class_names)
        rows = [f"{name}," + ",".join(map(str, row)) for name, row in zip(class_names, matrix)]
        with open(os.path.join(folder, "confusion_matrix.csv"), "w") as f:
            f.write("\n".join([header, *rows]) + "\n")
        save_confusion_matrix(matrix, class_names, os.path.join(folder, "confusion_matrix.png"), accuracy)
        logger.info("Test accuracy %.2f%% (confusion matrix in %s)", 100 * accuracy, folder)
