#!/usr/bin/env python3
"""Recipe for training L-MAC (Listenable Maps for Audio Classifiers, paper Eq. 2) on the
CNN14 classifier of ESC-50, and for its fine-tuning stage with guidance (paper Sec. 2.1).

To run this recipe, do the following:
    python recipes/ESC50/train_lmac.py hparams/lmac_cnn14.yaml --data_folder=/path/to/ESC-50 \
        [--add_wham_noise=True --wham_folder=/path]
    python recipes/ESC50/train_lmac.py hparams/lmac_cnn14_ft.yaml --data_folder=...   # fine-tuning

recipes/US8K/train_lmac.py is a link to this script: run from there, it trains on UrbanSound8K.
Needs a trained classifier (train_classifier.py, or --classifier_source=HF id or folder).
Writes checkpoints, train_log.txt (loss, AI, AD, AG, FF, FidIn, MM per epoch), test_metrics.json
and listenable/ (original, interpretation and residual wavs + a PNG per item) under
results/<dataset>/<experiment_name>/<seed>/.
"""

import logging
import os
import sys

import speechbrain as sb
import torch
import torch.nn.functional as F
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import if_main_process, run_on_main

from lmac_brain.audio.mixing import wham_augmenter
from lmac_brain.brains.lmac import LMACBase, guidance_loss, regularizers
from lmac_brain.checkpoints import CHECKPOINT_KEY, load_pretrained
from lmac_brain.data.pipelines import classification_dataset, has_ground_truth
from lmac_brain.experiments.classifiers import load_classifier_weights
from lmac_brain.experiments.commands import RECIPE_DIRS, TRAINING_COMMANDS
from lmac_brain.experiments.setup import (
    class_names,
    dataset_of_script,
    load_or_create_label_encoder,
    prepare_data,
    with_default,
)
from lmac_brain.inference.model_folder import write_model_folder
from lmac_brain.reporting.tables import format_table, write_json

logger = logging.getLogger(__name__)


class LMAC(LMACBase):
    """Trains ``modules.decoder`` to mask the input of a frozen ``hparams.classifier_model``.

    Loss (Eq. 2), with ``y`` the classifier's own decision on the unmasked input::

        l_in_w * CE(f(M*X), y) - l_out_w * CE(f((1-M)*X), y)
        + reg_w_l1 * n * mean|M| + reg_w_tv * n * TV(M)
        [+ g_w * guidance(M, X_clean) on items whose similarity to the target >= crosscor_th]

    The regularisers are the authors' (:func:`~lmac_brain.brains.lmac.regularizers`):
    ``mean|M|`` over the whole batch times ``n``, the number of items without guidance (the
    batch size in the first stage), so ``reg_w_l1`` 0.4 at batch 16 weighs ``6.4 * mean|M|``
    as in their recipe; ``regularizer_reduction: item_mean`` divides both by the batch size.
    """

    def compute_forward(self, batch, stage):
        batch = batch.to(self.device)
        clean, _ = batch.sig
        wavs = clean
        # The authors add WHAM! at validation too, so their checkpoint is chosen on noisy clips.
        noisy_stages = (sb.Stage.TRAIN, sb.Stage.VALID) if self.hparams.wham_at_validation else (sb.Stage.TRAIN,)
        if stage in noisy_stages and self.noise_augmenter is not None:
            wavs = self.noise_augmenter(clean)
        out = self.interpret(wavs)
        out["clean"] = clean
        return out

    def compute_objectives(self, out, batch, stage):
        mask = out["mask"]
        decision = out["logits_full"].argmax(dim=-1)
        loss = (
            self.hparams.l_in_w * F.cross_entropy(out["logits_in"], decision)
            - self.hparams.l_out_w * F.cross_entropy(out["logits_out"], decision)
        )
        unguided = torch.ones(mask.shape[0], device=mask.device)
        if self.hparams.finetuning:
            target = self.classifier.domain_input(
                self.classifier.frontend.magnitude_phase(out["clean"])[0], self.hparams.domain
            )
            guidance, selected = guidance_loss(
                mask, out["x"], target, self.hparams.crosscor_th, self.hparams.bin_th,
                self.hparams.guidance_gate, out["mask_space"],
            )
            loss = loss + self.hparams.g_w * guidance
            if self.hparams.guidance_gate == "reference":
                unguided = (~selected).float()  # the authors drop l1 and TV where guidance applies
            self.metrics.update({"cct_pass": selected.float()})
        loss = loss + regularizers(
            mask, unguided, self.hparams.reg_w_l1, self.hparams.reg_w_tv, self.hparams.regularizer_reduction
        )
        self.log_metrics(out, batch, stage)
        return loss

    def on_stage_start(self, stage, epoch=None):
        super().on_stage_start(stage, epoch)
        # Listenable outputs: n_listenable items at test time and every interpret_period epochs.
        self.n_saved = 0
        self.listen_tag = "test" if stage == sb.Stage.TEST else f"epoch{epoch}"
        if stage == sb.Stage.VALID and epoch % self.hparams.interpret_period:
            self.n_saved = self.hparams.n_listenable  # nothing to write this epoch


def dataio_prep(hparams, manifests, label_encoder):
    """Train/valid/test datasets; the valid and test items of a synthetic twin also carry their
    clean event, so SI-SDR and SDRi are logged."""
    return {
        split: classification_dataset(
            manifests[split], hparams["sample_rate"], hparams["signal_length_s"], label_encoder,
            ground_truth=split != "train" and has_ground_truth(manifests[split]),
            peak_normalize=hparams["peak_normalize"],
        )
        for split in ("train", "valid", "test")
    }


if __name__ == "__main__":
    hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])
    sb.utils.distributed.ddp_init_group(run_opts)  # no-op unless launched by torchrun
    # recipes/US8K/train_lmac.py links here: the folder of the script run names the dataset.
    overrides = with_default(overrides, "dataset", dataset_of_script(__file__))
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)

    # The saved YAML records the number of classes the data gave (out_n_neurons).
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=with_default(overrides, "out_n_neurons", hparams["out_n_neurons"]),
    )
    dataset = hparams["dataset"]
    manifests = prepare_data(
        dataset, hparams["data_folder"], hparams["manifest_folder"], hparams["train_fold_nums"],
        hparams["valid_fold_nums"], hparams["test_fold_nums"], hparams["esc10_only"], hparams["wham_folder"],
    )
    label_encoder = load_or_create_label_encoder(manifests, hparams["save_folder"], hparams["classifier_source"])
    hparams["classes"] = class_names(label_encoder)
    datasets = dataio_prep(hparams, manifests, label_encoder)

    load_classifier_weights(
        hparams["embedding_model"], hparams["classifier"], hparams["classifier_source"], hparams["save_folder"],
        dataset, hparams["use_pretrained"],
    )
    if hparams["finetuning"] and not hparams["use_pretrained"]:
        logger.warning("use_pretrained is False: fine-tuning starts from a random decoder")
    elif hparams["finetuning"]:
        load_pretrained(
            {"decoder": hparams["decoder"]},
            hparams["lmac_source"],
            collect_in=os.path.join(hparams["save_folder"], "pretrained_lmac"),
            min_key=CHECKPOINT_KEY,
            hint="Train the first stage first: "
            + TRAINING_COMMANDS["lmac"].format(recipe=RECIPE_DIRS[dataset])
            + " (or set --lmac_source).",
        )

    brain = LMAC(
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
    logger.info("Stats of every epoch go to %s", hparams["train_logger"].save_file)

    brain.fit(
        hparams["epoch_counter"],
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hparams["train_loader_options"],
        valid_loader_kwargs=hparams["test_loader_options"],
    )
    brain.evaluate(datasets["test"], min_key=CHECKPOINT_KEY, test_loader_kwargs=hparams["test_loader_options"])

    row = {"method": hparams["experiment_name"], **brain.test_stats}
    if if_main_process():
        write_json(os.path.join(hparams["output_folder"], "test_metrics.json"), row)
    # Written by the main process while the others wait (the barriers of its loading are skipped).
    run_on_main(write_model_folder, args=[hparams["output_folder"]])
    logger.info("Test metrics of %s:\n%s", hparams["experiment_name"], format_table([row]))
