"""Small signal helpers of the synthetic twins (all vectorised over samples).

Frequencies are designed for :data:`REFERENCE_RATE`; below it every synthetic frequency is
scaled by ``sample_rate / 16000`` (:func:`fscale`, the ``fs`` argument of the generators), so
that the patterns stay below the Nyquist frequency.
"""

import math

import numpy as np
from scipy import signal as sps

#: Frequencies are designed for this rate; below it they are scaled by ``rate / 16000``.
REFERENCE_RATE = 16000

TWO_PI = 2.0 * np.pi


def fscale(sample_rate):
    """The frequency scale of ``sample_rate``: 1 at or above :data:`REFERENCE_RATE`.

    Example
    -------
    >>> fscale(44100), fscale(8000)
    (1.0, 0.5)
    """
    return min(1.0, sample_rate / REFERENCE_RATE)


def loguniform(rng, low, high):
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def rms(x):
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def normalise(x):
    r = rms(x)
    return x / r if r > 0 else x


def phase(rng, freq, sample_rate):
    """Phase (rad) of an oscillator whose instantaneous frequency (Hz) is ``freq``."""
    return TWO_PI * np.cumsum(freq) / sample_rate + rng.uniform(0.0, TWO_PI)


def fade(n, sample_rate, seconds=0.005):
    """Raised-cosine fade in and out of ``seconds`` (at most a quarter of ``n`` each)."""
    m = int(min(seconds * sample_rate, n // 4))
    env = np.ones(n)
    if m > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(m) + 0.5) / m)
        env[:m] = ramp
        env[n - m:] = ramp[::-1]
    return env


def taper_tail(x, share=0.25):
    """``x`` with its last ``share`` faded out (no click where a decaying kernel is cut)."""
    m = int(x.size * share)
    if m > 0:
        x = x.copy()
        x[x.size - m:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(m) + 0.5) / m)
    return x


def smooth_random(rng, n, sample_rate, rate_hz, low, high):
    """A random curve with values in ``[low, high]`` and about ``rate_hz`` knots per second."""
    knots = max(2, int(math.ceil(n / sample_rate * rate_hz)) + 2)
    values = rng.uniform(low, high, knots)
    m = min(n, 16 * (knots - 1) + 1)  # cosine-interpolated on a coarse grid ...
    pos = np.linspace(0.0, knots - 1, max(m, 2))
    idx = np.minimum(pos.astype(np.int64), knots - 2)
    w = 0.5 - 0.5 * np.cos(np.pi * (pos - idx))
    coarse = values[idx] * (1.0 - w) + values[idx + 1] * w
    return np.interp(np.linspace(0.0, knots - 1, n), pos, coarse)  # ... then linearly


def moving_average(x, m):
    if m <= 1:
        return x
    padded = np.pad(x, (m // 2, m - 1 - m // 2), mode="edge")
    c = np.cumsum(np.concatenate(([0.0], padded)))
    return (c[m:] - c[:-m]) / m


def band_mask(freqs, f_low, f_high, taper_oct=0.15):
    """1 inside ``[f_low, f_high]``, raised-cosine roll-off over ``taper_oct`` octaves outside."""
    lf = np.log2(np.maximum(freqs, 1.0))
    lo, hi = np.log2(f_low), np.log2(f_high)
    dist = np.maximum(lo - lf, lf - hi)
    dist = np.clip(dist / taper_oct, 0.0, 1.0)
    return 0.5 + 0.5 * np.cos(np.pi * dist)


def band_noise(rng, n, sample_rate, f_low, f_high, channels=None):
    """White noise band-limited to ``[f_low, f_high]`` Hz (FFT filter)."""
    shape = (n,) if channels is None else (n, channels)
    spec = np.fft.rfft(rng.standard_normal(shape), axis=0)
    mask = band_mask(np.fft.rfftfreq(n, 1.0 / sample_rate), f_low, f_high)
    if channels is not None:
        mask = mask[:, None]
    return np.fft.irfft(spec * mask, n, axis=0)


def sweeping_band_noise(rng, n, sample_rate, f_centre, bw_oct):
    """Noise band of ``bw_oct`` octaves whose centre follows ``f_centre`` (one value per sample)."""
    nper = int(2 ** round(math.log2(0.02 * sample_rate)))
    nper = max(16, min(nper, 1 << int(math.log2(max(n, 16)))))
    noise = rng.standard_normal(n)
    freqs, times, spec = sps.stft(noise, fs=sample_rate, nperseg=nper)
    centre = np.interp(times * sample_rate, np.arange(n), f_centre)
    lf = np.log2(np.maximum(freqs, 1.0))[:, None]
    dist = np.abs(lf - np.log2(centre)[None, :]) - bw_oct / 2
    mask = 0.5 + 0.5 * np.cos(np.pi * np.clip(dist / 0.15, 0.0, 1.0))
    _, out = sps.istft(spec * mask, fs=sample_rate, nperseg=nper)
    out = out[:n]
    if out.size < n:
        out = np.pad(out, (0, n - out.size))
    return out


def onsets(n, period, length):
    """Local time (samples) within a period and whether a whole burst of ``length`` fits."""
    t = np.arange(n)
    local = np.mod(t, period)
    start = t - local
    return local, (local < length) & (start + length <= n)
