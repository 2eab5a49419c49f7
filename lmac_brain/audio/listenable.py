"""Listenable interpretations (paper Eq. 3) and the files a person inspects."""

import os

import soundfile as sf
import torch

from lmac_brain.audio.masking import apply_mask, masked_in_out
from lmac_brain.reporting.mask_figure import save_mask_figure


def stft_mask(frontend, mask, domain):
    """The STFT-grid version of a mask of ``domain`` (a Mel mask is spread over its bins)."""
    return mask if domain == "stft" else frontend.mel_to_linear(mask)


def listenable_pair(frontend, mag, phase, mask, length, mask_space="linear"):
    """``(interpretation, residual)`` waveforms: ISTFT of ``M*|X|`` and ``(1-M)*|X|``, the
    products taken in ``mask_space`` (:func:`~lmac_brain.audio.masking.apply_mask`).

    Both keep the input's phase and have ``length`` samples; in the linear space the two add up
    to the input. ``mag``, ``phase`` and ``mask`` are ``[time, freq]`` or ``[batch, time, freq]``
    on the STFT grid.
    """
    masked_in, masked_out = masked_in_out(mag, mask, mask_space)
    return frontend.invert(masked_in, phase, length), frontend.invert(masked_out, phase, length)


def interpretation_waveform(frontend, mag, phase, mask, domain, length, mask_space="linear"):
    """The interpretation alone (ISTFT of ``M*|X|`` in ``mask_space``, the input's phase), for a
    mask of ``domain`` (a Mel mask is spread over the STFT bins first)."""
    masked = apply_mask(mag, stft_mask(frontend, mask, domain), mask_space)
    return frontend.invert(masked, phase, length)


def save_interpretation(folder, item_id, wav, mag, phase, mask, frontend, title="", mask_space="linear"):
    """Write ``<id>_original.wav``, ``<id>_interpretation.wav``, ``<id>_residual.wav``, ``<id>.png``.

    ``wav`` is ``[samples]``, ``mag``/``phase``/``mask`` are ``[time, freq]`` on the STFT grid.
    The PNG draws the input, masked-in and masked-out spectrograms on the input's dB scale and
    the mask on ``[0, 1]`` (:mod:`lmac_brain.reporting.mask_figure`).
    Returns the paths written, by kind.
    """
    os.makedirs(folder, exist_ok=True)
    with torch.no_grad():
        interpretation, residual = listenable_pair(frontend, mag, phase, mask, wav.shape[-1], mask_space)
    paths = {}
    rate = frontend.sample_rate
    for kind, signal in (("original", wav), ("interpretation", interpretation), ("residual", residual)):
        paths[kind] = os.path.join(folder, f"{item_id}_{kind}.wav")
        sf.write(paths[kind], signal.detach().cpu().numpy(), rate)
    paths["figure"] = os.path.join(folder, f"{item_id}.png")
    save_mask_figure(mag, mask, paths["figure"], rate, frontend.hop_length, title=title, mask_space=mask_space)
    return paths
