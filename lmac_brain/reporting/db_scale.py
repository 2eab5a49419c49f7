"""The one dB scale every spectrogram picture of an input is drawn on.

The input, its masked version ``M * |X|`` and the residual ``(1 - M) * |X|`` are drawn on the
scale of the *input*: ``20 log10 |X|`` between ``max_dB - DYNAMIC_RANGE_DB`` and ``max_dB``.
What the mask removes therefore looks darker on the same colours instead of being stretched
back to full contrast. An input whose loudest bin is under ``SILENT_PEAK`` has no scale worth
drawing (it would be a flat field at the floor): it is flagged silent and no log is taken.

Example
-------
>>> mag = torch.tensor([[10.0, 1.0], [0.1, 0.0]])
>>> scale = input_db_scale(mag)
>>> scale
DbScale(vmin=-60.0, vmax=20.0, silent=False)
>>> to_db(mag, scale).tolist()
[[20.0, 0.0], [-20.0, -60.0]]
>>> to_db(0.5 * mag, scale).max().item() < scale.vmax  # masking darkens, on the same scale
True
>>> input_db_scale(torch.zeros(3, 4)).silent
True
"""

import math
from dataclasses import dataclass

import torch  # noqa: F401 (the doctest uses it)
from torchaudio.transforms import AmplitudeToDB

DYNAMIC_RANGE_DB = 80.0
"""Decibels shown below the input's loudest bin; quieter bins are drawn at the floor."""

SILENT_PEAK = 1e-3
"""Peak STFT magnitude (linear, the frontend's unnormalised ``|X|``) under which an input is
drawn as silent. A sine one 16-bit step tall (1/32768) already peaks at about 2e-3 with the
smallest window used here (256 samples, Hamming), so only digital silence or content below the
resolution of a 16-bit file is flagged."""


@dataclass(frozen=True)
class DbScale:
    """Colour limits (dB) of an input's pictures; ``silent``: nothing above ``SILENT_PEAK``."""

    vmin: float
    vmax: float
    silent: bool


def input_db_scale(mag, dynamic_range_db=DYNAMIC_RANGE_DB, silent_peak=SILENT_PEAK):
    """The :class:`DbScale` of an input magnitude ``mag`` (any shape, linear, non-negative).

    A silent input gets the scale a ``silent_peak`` input would have, so anything drawn on it
    stays finite; callers check ``silent`` and say so instead of drawing.
    """
    peak = float(mag.detach().abs().max()) if mag.numel() else 0.0
    silent = not peak >= silent_peak  # also catches NaN
    vmax = 20.0 * math.log10(silent_peak if silent else peak)
    return DbScale(vmin=vmax - dynamic_range_db, vmax=vmax, silent=silent)


def to_db(mag, scale):
    """``20 log10 mag`` (torchaudio's ``AmplitudeToDB``) floored at ``scale.vmin``.

    The floor is the input's (``scale``), not ``top_db`` below each picture's own peak: a masked
    spectrogram drawn on the input's scale must not get a floor of its own.
    """
    return AmplitudeToDB(stype="magnitude")(mag.detach().float().abs()).clamp_min(scale.vmin)
