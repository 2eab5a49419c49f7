"""The library side of L-MAC training: the Brain base the recipe's ``LMAC`` extends, and the
terms of its loss (paper Eq. 2) other than the classifier's."""

import logging
import os

import speechbrain as sb
import torch
import torch.nn.functional as F

from lmac_brain.audio.listenable import stft_mask
from lmac_brain.audio.masking import apply_mask, masked_in_out
from lmac_brain.brains.distributed import CPUDistributedMixin
from lmac_brain.brains.interpreter_stats import InterpreterStatsMixin
from lmac_brain.metrics import (
    faithfulness_per_item,
    mask_mean,
    metrics_per_item,
)
from lmac_brain.metrics.ground_truth import event_references
from lmac_brain.metrics.template import TemplateShare
from lmac_brain.reporting.mask_figure import save_interpretation

logger = logging.getLogger(__name__)


class LMACBase(InterpreterStatsMixin, CPUDistributedMixin, sb.Brain):
    """What the L-MAC recipe's Brain (``recipes/ESC50/train_lmac.py``, which holds the loss)
    shares with its tests and benchmarks: the frozen classifier, the masking pass, the
    valid/test metrics and the listenable outputs.

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

    def log_metrics(self, out, batch, stage):
        """Per-item metrics of a batch: faithfulness and MM while training; at validation and
        test, also the metrics of :meth:`_evaluation_metrics` and the listenable outputs."""
        if stage == sb.Stage.TRAIN:
            self.metrics.update(faithfulness_per_item(out["logits_full"], out["logits_in"], out["logits_out"]))
            self.metrics.update({"MM": mask_mean(out["mask"])})
        else:
            self.metrics.update(self._evaluation_metrics(out, batch, stage))
            self._maybe_save_listenable(out, batch, stage)

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
        self.template_share.update(out["mask"])
        with torch.no_grad():
            stats = metrics_per_item(
                out["logits_full"], out["logits_in"], out["logits_out"], out["mask"].detach(),
                inputs=out["x"], ibm=ibm, quantus=stage == sb.Stage.TEST,
            )
        return {**stats, **listen}

    def _maybe_save_listenable(self, out, batch, stage):
        """Write the listenable outputs of up to ``n_listenable - self.n_saved`` items (the
        recipe's ``on_stage_start`` sets ``n_saved`` and ``listen_tag``)."""
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

    def set_level_stats(self, stage):
        """``template_share`` of the valid/test masks (:mod:`lmac_brain.metrics.template`)."""
        if stage == sb.Stage.TRAIN or self.template_share.n < 2:
            return {}
        return {"template_share": self.template_share.value()}

    def on_stage_start(self, stage, epoch=None):
        super().on_stage_start(stage, epoch)
        self.template_share = TemplateShare()


REGULARIZER_REDUCTIONS = ("batch_sum", "item_mean")


def total_variation(mask):
    """The authors' TV term of a ``[batch, time, freq]`` mask: squared differences between
    neighbouring bins, summed over time and frequency, divided by ``2 * batch``."""
    squared = mask.diff(dim=-1).pow(2).sum() + mask.diff(dim=-2).pow(2).sum()
    return squared / (2 * mask.shape[0])


def regularizers(mask, unguided, reg_w_l1, reg_w_tv=0.0, reduction="batch_sum"):
    """The l1 and TV terms of the L-MAC loss, as the authors compute them.

    ``batch_sum`` (the authors'): ``reg_w_l1 * mean|M| * n + reg_w_tv * TV(M) * n``, with ``mean|M|``
    taken over the whole batch and ``n = unguided.sum()`` the number of items that get no
    guidance (the batch size in the first stage): the per-batch value repeated for every item
    and summed. ``item_mean`` divides that by the batch size (``reg_w_l1 * mean|M|`` in the first
    stage: 16x weaker at batch 16).

    Example
    -------
    >>> mask = torch.full((4, 2, 3), 0.5)
    >>> round(float(regularizers(mask, torch.ones(4), reg_w_l1=0.4)), 6)  # 0.4 * 0.5 * 4
    0.8
    >>> round(float(regularizers(mask, torch.ones(4), reg_w_l1=0.4, reduction="item_mean")), 6)
    0.2
    """
    if reduction not in REGULARIZER_REDUCTIONS:
        raise ValueError(f"regularizer_reduction must be one of {REGULARIZER_REDUCTIONS}, got {reduction!r}")
    n = unguided.sum()
    if reduction == "item_mean":
        n = n / mask.shape[0]
    value = reg_w_l1 * mask.abs().mean() * n
    if reg_w_tv:
        value = value + reg_w_tv * total_variation(mask) * n
    return value


def binarized_target(target, bin_th):
    """Bins of the clean target whose ``log1p`` magnitude reaches ``bin_th`` of the item's max."""
    log_target = torch.log1p(target)
    peak = log_target.flatten(1).amax(dim=1).clamp_min(1e-8)
    return (log_target >= bin_th * peak.view(-1, 1, 1)).float()


GUIDANCE_GATES = ("paper", "reference")


def guidance_loss(mask, x, target, crosscor_th, bin_th, gate="paper", mask_space="linear"):
    """Fine-tuning guidance (paper Sec. 2.1), applied only to items that pass ``crosscor_th``.

    Items are selected by a cosine similarity (the authors' "normalized dot product") reaching
    ``crosscor_th``; the selected ones get the guidance term, averaged over the whole batch. Two gates:

    - ``"paper"`` (the paper's text, ``g_w * ||M . X - X_clean||``): items whose masked-in log
      spectrogram ``log1p(M*X)`` (``M*X`` in ``mask_space``) is similar to the *binarized* clean
      target; the term is the mean squared difference between ``log1p(M*X)`` and
      ``log1p(X_clean)``. In the ``log1p`` space ``log1p(M*X) = M * log1p X``, which is the
      authors' non-binary ``guidelosstype``.
    - ``"reference"`` (the authors' code, its default binary ``guidelosstype``): items whose
      ``M * log1p(X)`` is similar to the *continuous* clean ``log1p(X_clean)``; the term is a
      binary cross-entropy between ``M`` and the binarized target. The authors also drop the l1
      and TV terms of the selected items; the Brain does that.

    Returns the loss and the boolean ``[batch]`` selection.

    Example
    -------
    >>> x = torch.rand(2, 4, 3) * 10
    >>> mask = torch.ones(2, 4, 3)  # keeps everything: maximally similar to a clean x
    >>> loss, ref = guidance_loss(mask, x, x, crosscor_th=0.99, bin_th=0.35, gate="reference")
    >>> ref.tolist()
    [True, True]
    >>> float(guidance_loss(mask, x, x, crosscor_th=0.0, bin_th=0.35, gate="paper")[0])  # M*X = X_clean
    0.0
    """
    if gate not in GUIDANCE_GATES:
        raise ValueError(f"guidance_gate must be one of {GUIDANCE_GATES}, got {gate!r}")
    target_bin = binarized_target(target, bin_th)
    if gate == "paper":
        masked, reference = torch.log1p(apply_mask(x, mask, mask_space)), target_bin
    else:
        masked, reference = mask * torch.log1p(x), torch.log1p(target)
    similarity = F.cosine_similarity(masked.flatten(1), reference.flatten(1), dim=1)
    selected = similarity.detach() >= crosscor_th
    if gate == "paper":
        per_item = (masked - torch.log1p(target)).pow(2).flatten(1).mean(dim=1)
    else:
        per_item = F.binary_cross_entropy(mask, target_bin, reduction="none").flatten(1).mean(dim=1)
    return (per_item * selected.float()).mean(), selected
