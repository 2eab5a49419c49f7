"""The files written for one explained input: three wavs and a figure."""

import os

import numpy as np
import soundfile as sf
import torch

from lmac_brain.audio.listenable import listenable_pair
from lmac_brain.reporting.mask_figure import save_mask_figure

WAV_SUBTYPE = "PCM_16"
"""Written wavs are 16-bit PCM, which every browser plays."""

PEAK_LIMIT = 0.999
"""Outputs whose peak would clip are scaled down together (the three keep adding up)."""


def listenable_signals(explanation, frontend, mask_space="linear"):
    """``{"original", "interpretation", "residual"}`` numpy waveforms and the common gain.

    The masks are applied in ``mask_space``. The three are scaled by one gain (1 unless the
    loudest would clip), so in the linear space they still add up.
    """
    with torch.no_grad():
        interpretation, residual = listenable_pair(
            frontend, explanation.mag, explanation.phase, explanation.mask, explanation.wav.numel(),
            mask_space,
        )
    signals = {
        "original": explanation.wav.numpy(),
        "interpretation": interpretation.detach().cpu().numpy(),
        "residual": residual.detach().cpu().numpy(),
    }
    peak = max(float(np.abs(s).max()) if s.size else 0.0 for s in signals.values())
    gain = PEAK_LIMIT / peak if peak > PEAK_LIMIT else 1.0
    if gain != 1.0:
        signals = {k: v * gain for k, v in signals.items()}
    return signals, gain


def top_classes(probs, classes, k=3):
    """The ``k`` most probable ``(class name, probability)`` pairs.

    Example
    -------
    >>> top_classes(torch.tensor([0.1, 0.6, 0.3]), ["a", "b", "c"], k=2)
    [('b', 0.6000000238418579), ('c', 0.30000001192092896)]
    """
    values, index = probs.topk(min(k, probs.numel()))
    return [(classes[int(i)], float(v)) for v, i in zip(values, index)]


def item_files(item_id):
    """File names written for an input (relative to the output folder), by kind."""
    return {
        "original": f"{item_id}_original.wav",
        "interpretation": f"{item_id}_interpretation.wav",
        "residual": f"{item_id}_residual.wav",
        "figure": f"{item_id}.png",
    }


def write_item(folder, item_id, explanation, frontend, title, mask_space="linear"):
    """Write the three wavs and the figure of one explanation; returns the file names and gain."""
    files = item_files(item_id)
    signals, gain = listenable_signals(explanation, frontend, mask_space)
    for kind in ("original", "interpretation", "residual"):
        sf.write(os.path.join(folder, files[kind]), signals[kind], frontend.sample_rate, subtype=WAV_SUBTYPE)
    save_mask_figure(
        explanation.mag, explanation.mask, os.path.join(folder, files["figure"]),
        frontend.sample_rate, frontend.hop_length, title=title, mask_space=mask_space,
    )
    return files, gain



def remove_item_files(folder, item_id):
    for name in item_files(item_id).values():
        path = os.path.join(folder, name)
        if os.path.exists(path):
            os.remove(path)
