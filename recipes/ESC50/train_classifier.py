#!/usr/bin/env python3
"""Recipe for training the CNN14 classifier that L-MAC explains, on ESC-50.

To run this recipe, do the following:
    python recipes/ESC50/train_classifier.py hparams/classifier_cnn14.yaml --data_folder=/path/to/ESC-50
    python recipes/ESC50/train_classifier.py hparams/classifier_cnn14_compact.yaml --data_folder=...

Add --add_wham_noise=True --wham_folder=/path for WHAM! augmentation.
recipes/US8K/train_classifier.py is a link to this script: run from there, it trains on
UrbanSound8K. Writes checkpoints, train_log.txt, test_accuracy.txt and
confusion_matrix.{csv,png} under results/<dataset>/<experiment_name>/<seed>/.
"""

import logging
import sys

import speechbrain as sb
import torch.nn.functional as F
from hyperpyyaml import load_hyperpyyaml

from lmac_brain.audio.mixing import wham_augmenter
from lmac_brain.brains.classifier import write_test_results
from lmac_brain.brains.distributed import CPUDistributedMixin
from lmac_brain.data.pipelines import classification_dataset
from lmac_brain.experiments.setup import (
    class_names,
    dataset_of_script,
    load_or_create_label_encoder,
    prepare_data,
    with_default,
)
from lmac_brain.reporting.training_curves import refresh_training_curves

logger = logging.getLogger(__name__)


class Classifier(CPUDistributedMixin, sb.Brain):
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


def dataio_prep(hparams, manifests, label_encoder):
    """Train/valid/test datasets of the prepared manifests."""
    return {
        split: classification_dataset(
            manifests[split], hparams["sample_rate"], hparams["signal_length_s"], label_encoder,
            peak_normalize=hparams.get("peak_normalize", False),
        )
        for split in ("train", "valid", "test")
    }


if __name__ == "__main__":
    hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])
    sb.utils.distributed.ddp_init_group(run_opts)  # no-op unless launched by torchrun
    # recipes/US8K/train_classifier.py links here: the folder of the script run names the dataset.
    overrides = with_default(overrides, "dataset", dataset_of_script(__file__))
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)

    # The saved YAML records the number of classes the data gave (out_n_neurons).
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=with_default(overrides, "out_n_neurons", hparams["out_n_neurons"]),
    )
    manifests = prepare_data(
        hparams["dataset"], hparams["data_folder"], hparams["manifest_folder"], hparams["train_fold_nums"],
        hparams["valid_fold_nums"], hparams["test_fold_nums"], hparams["esc10_only"], hparams["wham_folder"],
    )
    label_encoder = load_or_create_label_encoder(manifests, hparams["save_folder"])
    hparams["label_encoder"] = label_encoder
    hparams["classes"] = class_names(label_encoder)
    datasets = dataio_prep(hparams, manifests, label_encoder)

    brain = Classifier(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    if hparams["add_wham_noise"]:
        brain.noise_augmenter = wham_augmenter(
            manifests, hparams["sample_rate"], hparams["wham_snr_low"], hparams["wham_snr_high"]
        )

    brain.fit(
        hparams["epoch_counter"],
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hparams["train_loader_options"],
        valid_loader_kwargs=hparams["test_loader_options"],
    )
    brain.evaluate(datasets["test"], min_key="error", test_loader_kwargs=hparams["test_loader_options"])
