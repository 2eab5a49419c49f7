"""L2I training (Parekh et al., 2022) as a SpeechBrain Brain: ``Psi`` and ``Theta`` on a frozen
classifier and a fixed NMF dictionary (see :mod:`lmac_brain.models.l2i`)."""

import logging

import speechbrain as sb
import torch
import torch.nn.functional as F

from lmac_brain.brains.distributed import CPUDistributedMixin
from lmac_brain.brains.interpreter_stats import InterpreterStatsMixin
from lmac_brain.metrics import faithfulness_per_item, mask_mean
from lmac_brain.models.l2i import l2i_mask

logger = logging.getLogger(__name__)


class L2IBrain(InterpreterStatsMixin, CPUDistributedMixin, sb.Brain):
    """Trains ``modules.psi`` and ``modules.theta``; ``hparams.classifier_model`` and
    ``hparams.nmf`` (the dictionary) stay frozen, outside ``modules``.

    Loss, with ``V = nmf.spectrum(|X|)``, ``H = Psi(h)`` and ``p`` the classifier's output
    distribution on the unmasked input::

        l_rec * MSE(W H, V) + l_fid * KL(p || softmax(Theta(H))) + l_sparse * mean|H|

    With ``fid_class_mean`` the fidelity term is averaged over the classes too (divided by
    their number), as the authors' code does (``(p * -log q).mean()`` over batch and classes);
    their weights are ``l_rec = 10``, ``l_fid = 1``, ``l_sparse = 0.8`` (docs/protocols.md).

    Logged per epoch: ``loss``, ``rec``, ``fid``, ``sparsity``, ``fid_acc`` (Theta agrees with
    the classifier's decision) and, at validation and test, the faithfulness metrics and ``MM``
    of the interpretation mask at ``relevance_threshold`` in ``domain``.
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
        hp = self.hparams
        H = out["H"]
        rec = F.mse_loss(out["recon"], out["target"])
        fid = F.kl_div(
            F.log_softmax(out["theta_logits"], dim=-1),
            F.log_softmax(out["logits"], dim=-1),
            log_target=True,
            reduction="batchmean",
        )
        if hp.fid_class_mean:
            fid = fid / out["logits"].shape[-1]
        sparsity = H.abs().mean()
        loss = hp.l_rec * rec + hp.l_fid * fid + hp.l_sparse * sparsity
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
        """Faithfulness and MM of the interpretation at ``relevance_threshold``."""
        hp = self.hparams
        x = self.classifier.domain_input(out["mag"], hp.domain)
        relevance = self.modules.theta.relevance(out["H"], decision)
        mask = l2i_mask(hp.nmf, out["H"], relevance, hp.relevance_threshold, hp.domain,
                        self.classifier.frontend)
        logits_in, logits_out = self.classifier.logits_of_input(
            torch.cat([mask * x, (1 - mask) * x]), hp.domain
        ).chunk(2)
        self.metrics.update(faithfulness_per_item(out["logits"], logits_in, logits_out))
        self.metrics.update({"MM": mask_mean(mask)})
