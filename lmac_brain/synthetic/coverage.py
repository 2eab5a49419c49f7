"""Measuring the ground truth of a twin clip: how much of the time-frequency plane the event holds."""

import math

import numpy as np
from scipy import signal as sps

from lmac_brain.synthetic.signals import REFERENCE_RATE


def event_coverage(event, background, sample_rate, n_fft=1024, ref_rate=REFERENCE_RATE):
    """Fraction of STFT bins where the event's energy exceeds the background's.

    Both signals are averaged over channels, resampled to ``ref_rate`` and analysed with a Hann
    STFT (``n_fft`` points, hop ``n_fft // 4``); a bin counts when ``|E|**2 > |B|**2``.

    Arguments
    ---------
    event, background : numpy.ndarray
        The ground-truth signals, ``(n,)`` or ``(n, channels)``, int16 or float.
    sample_rate : int
        Their sample rate.
    n_fft : int
        STFT size at ``ref_rate``.
    ref_rate : int
        Analysis rate.

    Returns
    -------
    float
        The fraction of bins, in ``[0, 1]``.

    Example
    -------
    >>> sr = 16000
    >>> background = np.random.default_rng(0).standard_normal(sr)
    >>> event = np.zeros(sr)
    >>> event[:4000] = 10 * np.sin(2 * np.pi * 1000 * np.arange(4000) / sr)
    >>> 0.0 < event_coverage(event, background, sr) < 0.05
    True
    """
    def prepare(x):
        x = np.asarray(x, dtype=float)
        if x.ndim == 2:
            x = x.mean(axis=1)
        if sample_rate != ref_rate:
            g = math.gcd(int(sample_rate), int(ref_rate))
            x = sps.resample_poly(x, int(ref_rate) // g, int(sample_rate) // g)
        return sps.stft(x, nperseg=n_fft, noverlap=n_fft - n_fft // 4)[2]

    e, b = prepare(event), prepare(background)
    return float(np.mean(np.abs(e) ** 2 > np.abs(b) ** 2))
