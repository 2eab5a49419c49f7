"""The files written for one explained input: three wavs and a figure."""

import os

import soundfile as sf
import torch

from lmac_brain.audio.listenable import listenable_pair
from lmac_brain.inference.result import PEAK_LIMIT, scaled_to_play  # noqa: F401 (PEAK_LIMIT: documented here too)

WAV_SUBTYPE = "PCM_16"
"""Written wavs are 16-bit PCM, which every browser plays."""


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
    return scaled_to_play({
        "original": explanation.wav.numpy(),
        "interpretation": interpretation.detach().cpu().numpy(),
        "residual": residual.detach().cpu().numpy(),
    })


def item_files(item_id):
    """File names written for an input (relative to the output folder), by kind."""
    return {
        "original": f"{item_id}_original.wav",
        "interpretation": f"{item_id}_interpretation.wav",
        "residual": f"{item_id}_residual.wav",
        "figure": f"{item_id}.png",
    }


def write_item(folder, item_id, interpretation, title):
    """Write the three wavs and the figure of one
    :class:`~lmac_brain.inference.result.Interpretation`; returns the file names and gain."""
    files = item_files(item_id)
    signals, gain = interpretation.signals()
    for kind in ("original", "interpretation", "residual"):
        sf.write(os.path.join(folder, files[kind]), signals[kind], interpretation.sample_rate, subtype=WAV_SUBTYPE)
    interpretation.save_figure(os.path.join(folder, files["figure"]), title=title)
    return files, gain



def remove_item_files(folder, item_id):
    for name in item_files(item_id).values():
        path = os.path.join(folder, name)
        if os.path.exists(path):
            os.remove(path)
