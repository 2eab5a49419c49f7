"""What :class:`~lmac_brain.inference.LMACAudioInterpreter` gives back for one recording."""

from dataclasses import dataclass, field

import numpy as np
import torch

from lmac_brain.reporting.mask_figure import draw_mask_figure, save_mask_figure

PEAK_LIMIT = 0.999
"""Written or played signals whose peak would clip are scaled down together (they keep adding up)."""


@dataclass
class Interpretation:
    """The explanation of one recording, ready to listen to.

    ``original``, ``interpretation`` and ``residual`` are ``[samples]`` CPU waveforms at
    ``sample_rate`` (mono, the classifier's rate): what the classifier heard, ISTFT of
    ``M * |X|`` (paper Eq. 3) and of ``(1 - M) * |X|``, both with the input's phase. They are
    not rescaled: in the linear mask space ``interpretation + residual == original``.
    ``mask`` is ``[frames, freq]`` on the STFT grid of the whole recording, ``label`` and
    ``score`` the predicted class and its probability (the mean over the windows of a long
    recording), ``probs`` every class's.
    """

    original: torch.Tensor
    interpretation: torch.Tensor
    residual: torch.Tensor
    mask: torch.Tensor
    label: str
    score: float
    sample_rate: int
    probs: torch.Tensor = field(repr=False)
    classes: list = field(repr=False)
    n_windows: int = 1
    mag: torch.Tensor = field(repr=False, default=None)
    hop_length: int = field(repr=False, default=None)
    mask_space: str = "linear"
    source: dict = field(repr=False, default=None)
    """What the input file was before downmixing and resampling (``interpret_file`` only)."""

    def top(self, k=3):
        """The ``k`` most probable ``(class, probability)`` pairs.

        Example
        -------
        >>> result = Interpretation(*[torch.zeros(1)] * 4, "b", 0.6, 16000,
        ...                         probs=torch.tensor([0.1, 0.6, 0.3]), classes=["a", "b", "c"])
        >>> [(name, round(p, 2)) for name, p in result.top(2)]
        [('b', 0.6), ('c', 0.3)]
        """
        values, index = self.probs.topk(min(k, self.probs.numel()))
        return [(self.classes[int(i)], float(v)) for v, i in zip(values, index)]

    def signals(self):
        """``({"original", "interpretation", "residual"} numpy arrays, gain)``: the three scaled
        by one gain (1 unless the loudest would clip), for writing 16-bit files or playing."""
        signals = {
            "original": self.original.numpy(),
            "interpretation": self.interpretation.numpy(),
            "residual": self.residual.numpy(),
        }
        return scaled_to_play(signals)

    def figure(self, title=""):
        """The picture the interpret CLI draws: input, masked-in and masked-out spectrograms and
        the mask (a matplotlib figure)."""
        return draw_mask_figure(self.mag, self.mask, self.sample_rate, self.hop_length, title=title,
                                mask_space=self.mask_space)

    def save_figure(self, path, title=""):
        """Write :meth:`figure` to ``path`` (PNG)."""
        save_mask_figure(self.mag, self.mask, path, self.sample_rate, self.hop_length, title=title,
                         mask_space=self.mask_space)


def scaled_to_play(signals):
    """``(signals, gain)``: numpy ``signals`` scaled by one gain so that none exceeds
    :data:`PEAK_LIMIT` (gain 1 when none would).

    Example
    -------
    >>> scaled, gain = scaled_to_play({"a": np.array([2.0, -1.0]), "b": np.array([0.5])})
    >>> round(gain, 4), scaled["b"].round(4).tolist()
    (0.4995, [0.2498])
    """
    peak = max(float(np.abs(s).max()) if s.size else 0.0 for s in signals.values())
    gain = PEAK_LIMIT / peak if peak > PEAK_LIMIT else 1.0
    if gain != 1.0:
        signals = {k: v * gain for k, v in signals.items()}
    return signals, gain
