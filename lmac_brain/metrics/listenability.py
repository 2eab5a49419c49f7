"""Listenability against the clean event (SI-SDR, SDRi): what a listenable explanation should be.

On a synthetic twin the clean event of every clip is known, so the interpretation waveform (the
masked spectrogram inverted with the input's phase) can be scored against it the way source
separation is scored:

- ``SI-SDR``: scale-invariant signal-to-distortion ratio (Le Roux et al., 2019) of the
  interpretation against the clean event, in dB;
- ``SDRi``: its improvement over the input itself, ``SI-SDR(interpretation) - SI-SDR(input)``:
  positive when the explanation sounds more like the event alone than the input did.

SI-SDR is scale-invariant, so a quiet copy of the event scores as well as a loud one, and a
silent signal has no SI-SDR of its own: a silent interpretation (an all-zeros mask) scores the
floor, :data:`SI_SDR_FLOOR_DB`, as does anything below it, so silence is never rewarded. Items
whose event is silent are skipped (``NaN``).
"""

import torch
from speechbrain.nnet.losses import cal_si_snr

SI_SDR_EPS = 1e-8
"""An estimate with less energy than this fraction of the reference's counts as silent."""

SI_SDR_FLOOR_DB = -30.0
"""The lowest SI-SDR reported: that of a silent estimate (and of anything worse)."""


def si_sdr(estimate, reference, eps=SI_SDR_EPS, floor_db=SI_SDR_FLOOR_DB):
    """Per-item SI-SDR (dB) of ``estimate`` against ``reference``, both ``[batch, samples]``.

    SpeechBrain's ``cal_si_snr`` (the same definition: both zero-mean, the reference scaled to
    the estimate's projection on it; it is a loss, the negative, over ``[samples, batch,
    sources]``). At least ``floor_db`` (a silent estimate scores it); ``NaN`` where the reference
    is silent; a perfect estimate scores a large finite value (SpeechBrain's 1e-8 in the
    ratio), not infinity.

    Example
    -------
    >>> s = torch.sin(torch.linspace(0, 60, 1600)).unsqueeze(0)
    >>> float(si_sdr(0.5 * s, s)) > 60   # scale does not matter
    True
    >>> round(float(si_sdr(s + 0.1 * torch.cos(torch.linspace(0, 97, 1600)), s)), 1)
    20.0
    >>> float(si_sdr(torch.zeros_like(s), s))   # silence
    -30.0
    """
    ref_energy, est_energy = _centred_energy(reference), _centred_energy(estimate)
    # SpeechBrain adds an absolute 1e-8 to the energies; at unit RMS (SI-SDR does not change with
    # the scale of either signal) it is relative, so a quiet event scores as a loud one.
    score = -cal_si_snr(_at_unit_rms(reference, ref_energy), _at_unit_rms(estimate, est_energy))[0, :, 0]
    out = torch.where(est_energy > eps * ref_energy, score.clamp_min(floor_db), torch.full_like(score, floor_db))
    return torch.where(ref_energy > 0, out, torch.full_like(out, float("nan")))


def _centred_energy(x):
    """The energy of each row of ``x`` once made zero-mean."""
    return (x - x.mean(dim=-1, keepdim=True)).pow(2).sum(dim=-1)


def _at_unit_rms(x, energy):
    """``[batch, samples]`` ``x`` scaled to unit RMS, laid out as ``cal_si_snr`` takes it
    (``[samples, batch, 1]``). A new tensor: ``cal_si_snr`` writes into its estimate."""
    rms = (energy / x.shape[-1]).sqrt().clamp_min(torch.finfo(x.dtype).tiny)
    return (x / rms.unsqueeze(-1)).T.unsqueeze(-1)


def listenability_per_item(interpretation, mixture, event):
    """``{"SI-SDR", "SDRi"}`` per item: the interpretation and the input against the clean event.

    Arguments
    ---------
    interpretation, mixture, event : torch.Tensor
        ``[batch, samples]`` waveforms: the explanation, what the classifier heard, and the clean
        event as it is in that input.

    Example
    -------
    >>> event = torch.sin(torch.linspace(0, 300, 8000)).unsqueeze(0)
    >>> noise = 0.5 * torch.randn(1, 8000, generator=torch.Generator().manual_seed(0))
    >>> out = listenability_per_item(event + 0.1 * noise, event + noise, event)
    >>> round(float(out["SDRi"]), 0)
    20.0
    """
    score = si_sdr(interpretation, event)
    return {"SI-SDR": score, "SDRi": score - si_sdr(mixture, event)}
