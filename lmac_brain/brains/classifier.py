"""Training the CNN14 classifier that the interpreters explain."""

import logging
import os

import numpy as np
import speechbrain as sb
import torch.nn.functional as F

from lmac_brain.brains.distributed import CPUDistributedMixin
from lmac_brain.reporting.plots import save_confusion_matrix
from lmac_brain.reporting.training_curves import refresh_training_curves

logger = logging.getLogger(__name__)


class ClassifierBrain(CPUDistributedMixin, sb.Brain):
    """Cross-entropy training of ``modules.model`` (an ``AudioClassifier``) on waveforms.

    Optional ``noise_augmenter`` (passed as an attribute after construction) mixes WHAM! noise
    into training batches. Validation and test statistics are SpeechBrain's
    ``ClassificationStats`` (``hparams.error_stats``) over the class names of
    ``hparams.label_encoder``; logs loss, error and accuracy (and redraws ``train_log.png``
    after every validation); at test time writes the accuracy,
    the class-wise report and a confusion matrix (CSV and PNG) to ``hparams.output_folder``.
    """

    noise_augmenter = None

    def compute_forward(self, batch, stage):
        batch = batch.to(self.device)
        wavs, _ = batch.sig
        if stage == sb.Stage.TRAIN and self.noise_augmenter is not None:
            wavs = self.noise_augmenter(wavs)
        return self.modules.model(wavs)

    def compute_objectives(self, logits, batch, stage):
        labels = batch.class_index.to(self.device)
        loss = F.cross_entropy(logits, labels, label_smoothing=self.hparams.label_smoothing)
        if stage != sb.Stage.TRAIN:
            encoder = self.hparams.label_encoder
            self.error_stats.append(
                batch.id,
                predictions=encoder.decode_ndim(logits.argmax(dim=-1).tolist()),
                targets=encoder.decode_ndim(labels.tolist()),
            )
        return loss

    def on_stage_start(self, stage, epoch=None):
        if stage != sb.Stage.TRAIN:
            self.error_stats = self.hparams.error_stats()

    def on_stage_end(self, stage, stage_loss, epoch=None):
        if stage == sb.Stage.TRAIN:
            self.train_loss = stage_loss
            return
        accuracy = self.error_stats.summarize("accuracy")
        stats = {"loss": stage_loss, "error": 1.0 - accuracy, "accuracy": accuracy}
        if stage == sb.Stage.VALID:
            lr, next_lr = self.hparams.lr_annealing(epoch)
            sb.nnet.schedulers.update_learning_rate(self.optimizer, next_lr)
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch": epoch, "lr": lr},
                train_stats={"loss": self.train_loss},
                valid_stats=stats,
            )
            self.checkpointer.save_and_keep_only(meta=stats, min_keys=["error"])
            if sb.utils.distributed.if_main_process():  # the only process that wrote the log
                refresh_training_curves(self.hparams.train_logger)
        else:
            self.hparams.train_logger.log_stats(
                stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
                test_stats=stats,
            )
            if sb.utils.distributed.if_main_process():
                write_test_results(self.error_stats, self.hparams.classes, self.hparams.output_folder)


def confusion_matrix(stats, class_names):
    """``[K, K]`` counts of a summarized ``ClassificationStats``, rows = true class, columns = prediction.

    Example
    -------
    >>> from speechbrain.utils.metric_stats import ClassificationStats
    >>> stats = ClassificationStats()
    >>> stats.append(["a", "b", "c"], predictions=["dog", "dog", "rain"], targets=["dog", "rain", "rain"])
    >>> confusion_matrix(stats, ["dog", "rain"]).tolist()
    [[1, 0], [1, 1]]
    """
    summary = stats.summarize()
    index = {name: i for i, name in enumerate(class_names)}
    rows = [index[key] for key in summary["keys"]]  # only the classes seen, in their order
    columns = [index[prediction] for prediction in summary["predictions"]]
    matrix = np.zeros((len(class_names), len(class_names)), dtype=int)
    matrix[np.ix_(rows, columns)] = summary["confusion_matrix"].round().int().numpy()
    return matrix


def write_test_results(stats, class_names, folder):
    """Write ``test_accuracy.txt``, ``classification_stats.txt`` (SpeechBrain's class-wise
    report), ``confusion_matrix.csv`` and ``confusion_matrix.png`` into ``folder``."""
    accuracy = stats.summarize("accuracy")
    matrix = confusion_matrix(stats, class_names)
    with open(os.path.join(folder, "test_accuracy.txt"), "w") as f:
        f.write(f"{accuracy:.4f}\n")
    with open(os.path.join(folder, "classification_stats.txt"), "w") as f:
        stats.write_stats(f)
    header = "true\\pred," + ",".join(class_names)
    rows = [f"{name}," + ",".join(map(str, row)) for name, row in zip(class_names, matrix)]
    with open(os.path.join(folder, "confusion_matrix.csv"), "w") as f:
        f.write("\n".join([header, *rows]) + "\n")
    save_confusion_matrix(matrix, class_names, os.path.join(folder, "confusion_matrix.png"), accuracy)
    logger.info("Test accuracy %.2f%% (confusion matrix in %s)", 100 * accuracy, folder)
