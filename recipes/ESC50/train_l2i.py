#!/usr/bin/env python3
"""Recipe for training the L2I baseline (Listen to Interpret, Parekh et al. 2022: an NMF
dictionary, a decoder Psi and a head Theta) on the CNN14 classifier of ESC-50.

To run this recipe, do the following:
    python recipes/ESC50/train_l2i.py hparams/l2i_cnn14.yaml --data_folder=/path/to/ESC-50
    python recipes/ESC50/train_l2i.py hparams/l2i_cnn14_compact.yaml --data_folder=...

recipes/US8K/train_l2i.py is a link to this script: run from there, it trains on UrbanSound8K.
Needs a trained classifier (train_classifier.py, or --classifier_source=...). Learns the NMF
dictionary (cached as save/nmf_dictionary.pt), then Psi and Theta; writes checkpoints and
train_log.txt (loss, rec, fid, sparsity, fid_acc, AI, AD, AG, FF, FidIn, MM per epoch) under
results/<dataset>/<experiment_name>/<seed>/. Explain with build_explainer("l2i", ...,
source=<that save folder>, relevance_threshold=0.2).
"""

import logging
import os
import sys

import speechbrain as sb
import torch
import torch.nn.functional as F
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main

from lmac_brain.audio.mixing import wham_augmenter
from lmac_brain.brains.distributed import CPUDistributedMixin
from lmac_brain.brains.interpreter_stats import InterpreterStatsMixin
from lmac_brain.checkpoints import CHECKPOINT_KEY
from lmac_brain.data.pipelines import classification_dataset
from lmac_brain.experiments.classifiers import load_classifier_weights
from lmac_brain.experiments.setup import dataset_of_script, load_or_create_label_encoder, prepare_data, with_default
from lmac_brain.inference.model_folder import write_model_folder
from lmac_brain.metrics import faithfulness_per_item, mask_mean
from lmac_brain.models.l2i import l2i_mask
from lmac_brain.models.nmf import NMFDictionary, collect_frames, learn_nmf
from lmac_brain.reporting.tables import format_table

logger = logging.getLogger(__name__)

# Not ".ckpt": a save folder holding .ckpt files would be read as a checkpoint folder.
NMF_FILE = "nmf_dictionary.pt"


class L2I(InterpreterStatsMixin, CPUDistributedMixin, sb.Brain):
    """Trains ``modules.psi`` and ``modules.theta``; ``hparams.classifier_model`` and
    ``hparams.nmf`` (the dictionary) stay frozen, outside ``modules``.

    Loss, with ``V = nmf.spectrum(|X|)``, ``H = Psi(h)`` and ``p`` the classifier's output
    distribution on the unmasked input::

        alpha * MSE(W H, V) + l_fid * KL(p || softmax(Theta(H))) + beta * mean|H|

    With ``fid_class_mean`` the fidelity term is averaged over the classes too (divided by
    their number), as the authors' code does (``(p * -log q).mean()`` over batch and classes);
    their weights are ``alpha = 10``, ``l_fid = 1``, ``beta = 0.8`` (docs/protocols.md).

    Logged per epoch: ``loss``, ``rec``, ``fid``, ``sparsity``, ``fid_acc`` (Theta agrees with
    the classifier's decision) and, at validation and test, the faithfulness metrics and ``MM``
    of the interpretation mask at ``relevance_th`` in ``domain``.
    """

    noise_augmenter = None

    @property
    def classifier(self):
        return self.hparams.classifier_model

    def on_fit_start(self):
        self._freeze()
        super().on_fit_start()

    def on_evaluate_start(self, max_key=None, min_key=None):
        self._freeze()
        super().on_evaluate_start(max_key=max_key, min_key=min_key)

    def _freeze(self):
        self.classifier.to(self.device).eval().requires_grad_(False)
        self.hparams.nmf.to(self.device).requires_grad_(False)
        if not self.hparams.nmf.is_learned:
            raise RuntimeError("The NMF dictionary is empty: learn or load it before training")

    def compute_forward(self, batch, stage):
        batch = batch.to(self.device)
        wavs, _ = batch.sig
        if stage == sb.Stage.TRAIN and self.noise_augmenter is not None:
            wavs = self.noise_augmenter(wavs)
        with torch.no_grad():
            mag, _ = self.classifier.frontend.magnitude_phase(wavs)
            logits, hidden = self.classifier.logits_of_input(mag, "stft", return_hidden=True)
        H = self.modules.psi(hidden, mag.shape[1])
        return {
            "mag": mag, "logits": logits, "H": H,
            "theta_logits": self.modules.theta(H),
            "recon": self.hparams.nmf.reconstruct(H),
            "target": self.hparams.nmf.spectrum(mag),
        }

    def compute_objectives(self, out, batch, stage):
        H = out["H"]
        rec = F.mse_loss(out["recon"], out["target"])
        fid = F.kl_div(
            F.log_softmax(out["theta_logits"], dim=-1),
            F.log_softmax(out["logits"], dim=-1),
            log_target=True,
            reduction="batchmean",
        )
        if self.hparams.fid_class_mean:
            fid = fid / out["logits"].shape[-1]
        sparsity = H.abs().mean()
        loss = self.hparams.alpha * rec + self.hparams.l_fid * fid + self.hparams.beta * sparsity
        n = H.shape[0]
        decision = out["logits"].argmax(dim=-1)
        self.metrics.update({
            "rec": rec.detach().expand(n), "fid": fid.detach().expand(n),
            "sparsity": sparsity.detach().expand(n),
            "fid_acc": (out["theta_logits"].argmax(dim=-1) == decision).float(),
        })
        if stage != sb.Stage.TRAIN:
            self._mask_metrics(out, decision)
        return loss

    @torch.no_grad()
    def _mask_metrics(self, out, decision):
        """Faithfulness and MM of the interpretation at ``relevance_th``."""
        domain = self.hparams.domain
        x = self.classifier.domain_input(out["mag"], domain)
        relevance = self.modules.theta.relevance(out["H"], decision)
        mask = l2i_mask(self.hparams.nmf, out["H"], relevance, self.hparams.relevance_th, domain,
                        self.classifier.frontend)
        logits_in, logits_out = self.classifier.logits_of_input(
            torch.cat([mask * x, (1 - mask) * x]), domain
        ).chunk(2)
        self.metrics.update(faithfulness_per_item(out["logits"], logits_in, logits_out))
        self.metrics.update({"MM": mask_mean(mask)})


def learn_dictionary(train_set, frontend, nmf, path, max_frames, n_iter, batch_frames, seed, batch_size):
    """Learn the NMF dictionary on the frames of ``train_set`` and save it to ``path``.

    Skipped when ``path`` exists: delete it to learn the dictionary again. ``nmf`` gives the
    number of atoms and the compression; the frames are a seeded subset of at most
    ``max_frames``, updated ``batch_frames`` at a time.
    """
    if os.path.isfile(path):
        logger.info("NMF dictionary found at %s", path)
        return
    frames = collect_frames(train_set, frontend, nmf.compression, max_frames=max_frames, seed=seed,
                            batch_size=batch_size)
    W, _, errors = learn_nmf(frames, nmf.n_components, n_iter=n_iter, seed=seed, batch_frames=batch_frames)
    learned = NMFDictionary(W.shape[0], W.shape[1], nmf.compression)
    learned.W = W.cpu()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    learned.save(path)
    logger.info("NMF dictionary (relative error %.4f) saved to %s", errors[-1], path)


def dataio_prep(hparams, manifests, label_encoder):
    """Train/valid/test datasets of the prepared manifests."""
    return {
        split: classification_dataset(manifests[split], hparams["sample_rate"], hparams["signal_length_s"], label_encoder)
        for split in ("train", "valid", "test")
    }


if __name__ == "__main__":
    hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])
    sb.utils.distributed.ddp_init_group(run_opts)  # no-op unless launched by torchrun
    # recipes/US8K/train_l2i.py links here: the folder of the script run names the dataset.
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
    datasets = dataio_prep(hparams, manifests, label_encoder)
    load_classifier_weights(
        hparams["embedding_model"], hparams["classifier"], hparams["classifier_source"], hparams["save_folder"],
        dataset, hparams["use_pretrained"],
    )

    # The dictionary is learned once, on the main process; every process then loads it.
    nmf_path = os.path.join(hparams["save_folder"], NMF_FILE)
    run_on_main(learn_dictionary, args=[
        datasets["train"], hparams["frontend"], hparams["nmf"], nmf_path, hparams["nmf_max_frames"],
        hparams["nmf_iterations"], hparams["nmf_batch_frames"], hparams["seed"], hparams["batch_size"],
    ])
    hparams["nmf"].load(nmf_path)

    brain = L2I(
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
    logger.info("Test metrics of %s:\n%s", hparams["experiment_name"],
                format_table([{"method": hparams["experiment_name"], **brain.test_stats}]))
    run_on_main(write_model_folder, args=[hparams["output_folder"]])
