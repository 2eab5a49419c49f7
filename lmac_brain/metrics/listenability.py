"""Listenability against the clean event (SI-SDR, SDRi): what a listenable explanation should be.

On a synthetic twin the clean event of every clip is known, so the interpretation waveform (the
masked spectrogram inverted with the input's phase) can be scored against it the way source
separation is scored:

- ``SI-SDR``: scale-invariant signal-to-distortion ratio (Le Roux et al., 2019) of the
  interpretation against the clean event, in dB;
- ``SDRi``: its improvement over the input itself, ``SI-SDR(interpretation) - SI-SDR(input)``:
  positive when the explanation sounds more like the event alone than the input did.

A silent interpretation (an all-zeros mask) scores 0 dB SI-SDR (numerator and denominator are
both the regulariser), so it is not rewarded; items whose event is silent are skipped (``NaN``).
"""

import torch

SI_SDR_EPS = 1e-8
"""Added to both energies, so silent signals give finite values."""


def si_sdr(estimate, reference, eps=SI_SDR_EPS):
    """Per-item SI-SDR (dB) of ``estimate`` against ``reference``, both ``[batch, samples]``.

    Both are made zero-mean; the reference is scaled to its projection on the estimate's line.
    ``NaN`` where the reference is silent.

    Example
    -------
    >>> s = torch.sin(torch.linspace(0, 60, 1600)).unsqueeze(0)
    >>> float(si_sdr(0.5 * s, s)) > 60   # scale does not matter
    True
    >>> round(float(si_sdr(s + 0.1 * torch.cos(torch.linspace(0, 97, 1600)), s)), 1)
    20.0
    """
    estimate = estimate - estimate.mean(dim=-1, keepdim=True)
    reference = reference - reference.mean(dim=-1, keepdim=True)
    ref_energy = (reference ** 2).sum(dim=-1)
    alpha = (estimate * reference).sum(dim=-1) / ref_energy.clamp_min(eps)
    target = alpha.unsqueeze(-1) * reference
    noise = estimate - target
    ratio = ((target ** 2).sum(dim=-1) + eps) / ((noise ** 2).sum(dim=-1) + eps)
    out = 10 * torch.log10(ratio)
    return torch.where(ref_energy > eps, out, torch.full_like(out, float("nan")))


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
