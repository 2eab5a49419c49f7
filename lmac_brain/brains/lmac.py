"""L-MAC training (paper Eq. 2) and its fine-tuning stage, as a SpeechBrain Brain."""

import logging
import os

import speechbrain as sb
import torch
import torch.nn.functional as F

from lmac_brain.audio.listenable import save_interpretation, stft_mask
from lmac_brain.audio.masking import apply_mask, masked_in_out
from lmac_brain.brains.distributed import CPUDistributedMixin
from lmac_brain.brains.interpreter_stats import InterpreterStatsMixin
from lmac_brain.metrics import (
    faithfulness_per_item,
    mask_mean,
    metrics_per_item,
)
from lmac_brain.metrics.ground_truth import event_references

logger = logging.getLogger(__name__)


class LMACBrain(InterpreterStatsMixin, CPUDistributedMixin, sb.Brain):
    """Trains ``modules.decoder`` to mask the input of a frozen ``hparams.classifier_model``.

    Loss (Eq. 2), with ``y`` the classifier's own decision on the unmasked input::

        l_in * CE(f(M*X), y) - l_out * CE(f((1-M)*X), y) + l_s * mean|M| + l_tv * TV(M)
        [+ l_g * guidance(M, X_clean) on items whose similarity to the target >= cct]

    ``M*X`` is :func:`~lmac_brain.audio.masking.apply_mask` in the decoder's mask space:
    ``M * |X|`` (``linear``) or ``expm1(M * log1p|X|)`` (``log1p``); the listenable outputs
    use the same space.

    The classifier stays in eval mode with frozen parameters and lives outside ``modules``, so
    SpeechBrain neither switches it to train mode nor wraps it in DDP.
    """

    noise_augmenter = None

    @property
    def classifier(self):
        return self.hparams.classifier_model

    def on_fit_start(self):
        self._freeze_classifier()
        super().on_fit_start()

    def on_evaluate_start(self, max_key=None, min_key=None):
        self._freeze_classifier()
        super().on_evaluate_start(max_key=max_key, min_key=min_key)

    def _freeze_classifier(self):
        self.classifier.to(self.device).eval().requires_grad_(False)

    def interpret(self, wavs):
        """Masks and classifier outputs for a ``[batch, samples]`` waveform batch."""
        domain = self.hparams.domain
        # Under DDP the decoder is wrapped: its settings are on `.module`.
        decoder = getattr(self.modules.decoder, "module", self.modules.decoder)
        with torch.no_grad():
            mag, phase = self.classifier.frontend.magnitude_phase(wavs)
            x = self.classifier.domain_input(mag, domain)
            logits_full, hidden = self.classifier.logits_of_input(
                x, domain, return_hidden=True, shallow=getattr(decoder, "uses_shallow", False)
            )
        mask = self.modules.decoder(hidden, x.shape[1])
        # Masked-in and masked-out share one classifier pass (one batch of 2B items).
        logits_in, logits_out = self.classifier.logits_of_input(
            torch.cat(masked_in_out(x, mask, decoder.mask_space)), domain
        ).chunk(2)
        return {
            "wavs": wavs, "mag": mag, "phase": phase, "x": x, "mask": mask,
            "logits_full": logits_full, "logits_in": logits_in, "logits_out": logits_out,
            "mask_space": decoder.mask_space,
        }

    def compute_forward(self, batch, stage):
        batch = batch.to(self.device)
        clean, _ = batch.sig
        wavs = clean
        if stage == sb.Stage.TRAIN and self.noise_augmenter is not None:
            wavs = self.noise_augmenter(clean)
        out = self.interpret(wavs)
        out["clean"] = clean
        return out

    def compute_objectives(self, out, batch, stage):
        hp = self.hparams
        mask = out["mask"]
        decision = out["logits_full"].argmax(dim=-1)
        loss = (
            hp.l_in * F.cross_entropy(out["logits_in"], decision)
            - hp.l_out * F.cross_entropy(out["logits_out"], decision)
        )
        if hp.l_tv:
            loss = loss + hp.l_tv * total_variation(mask)
        l1_weight = torch.ones(mask.shape[0], device=mask.device)
        if hp.finetuning:
            target = self.classifier.domain_input(
                self.classifier.frontend.magnitude_phase(out["clean"])[0], hp.domain
            )
            guidance, selected = guidance_loss(
                mask, out["x"], target, hp.cct, hp.bin_th, hp.guidance_gate, out["mask_space"]
            )
            loss = loss + hp.l_g * guidance
            if hp.guidance_gate == "reference":
                l1_weight = (~selected).float()  # the authors drop l1 where guidance applies
            self.metrics.update({"cct_pass": selected.float()})
        loss = loss + hp.l_s * (mask.abs().flatten(1).mean(dim=1) * l1_weight).mean()
        if stage == sb.Stage.TRAIN:
            self.metrics.update(faithfulness_per_item(out["logits_full"], out["logits_in"], out["logits_out"]))
            self.metrics.update({"MM": mask_mean(mask)})
        else:
            self.metrics.update(self._evaluation_metrics(out, batch, stage))
            self._maybe_save_listenable(out, batch, stage)
        return loss

    def _evaluation_metrics(self, out, batch, stage):
        """Valid/test metrics: faithfulness and MM; SPS and COMP at test time (Quantus is slow);
        on a synthetic twin (items with ``event_sig``) also localization against the ideal
        binary mask and SI-SDR/SDRi of the interpretation waveforms against the clean events."""
        ibm, listen = None, {}
        if hasattr(batch, "event_sig"):
            ibm, listen = event_references(
                self.classifier, self.hparams.domain, out["wavs"], out["mag"], out["phase"], out["mask"],
                batch.event_sig.data.to(self.device), out["mask_space"],
            )
        with torch.no_grad():
            stats = metrics_per_item(
                out["logits_full"], out["logits_in"], out["logits_out"], out["mask"].detach(),
                inputs=out["x"], ibm=ibm, quantus=stage == sb.Stage.TEST,
            )
        return {**stats, **listen}

    def _maybe_save_listenable(self, out, batch, stage):
        budget = self.hparams.n_listenable - self.n_saved
        if budget <= 0 or not sb.utils.distributed.if_main_process():
            return
        frontend = self.classifier.frontend
        folder = os.path.join(self.hparams.output_folder, "listenable", self.listen_tag)
        classes = self.hparams.classes
        probs = out["logits_full"].softmax(dim=-1)
        for i in range(min(budget, len(batch.id))):
            c = int(probs[i].argmax())
            save_interpretation(
                folder, batch.id[i], out["wavs"][i], out["mag"][i], out["phase"][i],
                stft_mask(frontend, out["mask"][i], self.hparams.domain), frontend,
                mask_space=out["mask_space"], title=f"{batch.id[i]}: predicted {classes[c]} ({probs[i, c]:.2f})",
            )
            self.n_saved += 1

    def on_stage_start(self, stage, epoch=None):
        super().on_stage_start(stage, epoch)
        self.n_saved = 0
        self.listen_tag = "test" if stage == sb.Stage.TEST else f"epoch{epoch}"
        if stage == sb.Stage.VALID and epoch % self.hparams.listen_every:
            self.n_saved = self.hparams.n_listenable  # nothing to write this epoch


def total_variation(mask):
    """Mean absolute difference between neighbouring bins, over time and frequency."""
    return (mask.diff(dim=-2).abs().mean() + mask.diff(dim=-1).abs().mean()) / 2


def binarized_target(target, bin_th):
    """Bins of the clean target whose ``log1p`` magnitude reaches ``bin_th`` of the item's max."""
    log_target = torch.log1p(target)
    peak = log_target.flatten(1).amax(dim=1).clamp_min(1e-8)
    return (log_target >= bin_th * peak.view(-1, 1, 1)).float()


GUIDANCE_GATES = ("paper", "reference")


def guidance_loss(mask, x, target, cct, bin_th, gate="paper", mask_space="linear"):
    """Fine-tuning guidance (paper Sec. 2.1), applied only to items that pass ``cct``.

    Items are selected by a cosine similarity (the authors' "normalized dot product") reaching
    ``cct``; selected items get a binary cross-entropy pulling the mask towards the binarized
    clean target. Two gates:

    - ``"paper"`` (the paper's text): the masked-in log spectrogram ``log1p(M*X)`` (``M*X`` in
      ``mask_space``) against the *binarized* clean target;
    - ``"reference"`` (the authors' code): ``M * log1p(X)`` against the *continuous* clean
      ``log1p(X_clean)``. The authors also drop the l1 term of the selected items; the Brain
      does that.

    Returns the loss (averaged over the whole batch) and the boolean ``[batch]`` selection.

    Example
    -------
    >>> x = torch.rand(2, 4, 3) * 10
    >>> mask = torch.ones(2, 4, 3)  # keeps everything: maximally similar to a clean x
    >>> _, ref = guidance_loss(mask, x, x, cct=0.99, bin_th=0.35, gate="reference")
    >>> ref.tolist()
    [True, True]
    """
    if gate not in GUIDANCE_GATES:
        raise ValueError(f"guidance_gate must be one of {GUIDANCE_GATES}, got {gate!r}")
    target_bin = binarized_target(target, bin_th)
    if gate == "paper":
        masked, reference = torch.log1p(apply_mask(x, mask, mask_space)), target_bin
    else:
        masked, reference = mask * torch.log1p(x), torch.log1p(target)
    similarity = F.cosine_similarity(masked.flatten(1), reference.flatten(1), dim=1)
    selected = similarity.detach() >= cct
    per_item = F.binary_cross_entropy(mask, target_bin, reduction="none").flatten(1).mean(dim=1)
    return (per_item * selected.float()).mean(), selected
