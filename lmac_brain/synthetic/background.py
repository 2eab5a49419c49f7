"""The backgrounds of the synthetic twins: the stationary bed and the distractors.

The bed (:func:`background_bed`) is coloured noise with a random spectral tilt and bumps, mains
or machine hum and a babble of random tones; the distractors (:func:`distractor`) are stationary
tones and noise bursts that overlap the events' frequency ranges. Neither looks at the class of
the clip they go into (see :mod:`lmac_brain.synthetic.render`). The WHAM! twin builds its noises
from beds, too.
"""

import math

import numpy as np

from lmac_brain.synthetic.signals import TWO_PI, band_noise, fade, fscale, loguniform, normalise


def _spectral_shape(rng, freqs, fs):
    """|gain| ~ f**(-alpha/2) (PSD tilt alpha random in 0..1.5) times 0-2 broad random bumps."""
    gain = (np.maximum(freqs, 30.0) / 1000.0) ** (-rng.uniform(0.0, 1.5) / 2)
    log_f = np.log2(np.maximum(freqs, 1.0))
    log_gain = np.zeros_like(freqs)
    for _ in range(int(rng.integers(0, 3))):
        centre = np.log2(loguniform(rng, 200, 6000) * fs)
        width = rng.uniform(0.5, 1.5)
        log_gain += rng.uniform(-6, 12) / 20 * np.exp(-0.5 * ((log_f - centre) / width) ** 2)
    return gain * 10.0 ** log_gain


def _complex_gaussian(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _spectrum_power(spec, n):
    """Mean power (per sample, averaged over channels) of ``irfft(spec, n)``."""
    return 2.0 * float(np.sum(np.abs(spec) ** 2)) / (n * n * (spec.size // spec.shape[0]))


def background_bed(rng, n, sr, channels, hum_p=0.5, hum_db=(-15.0, -3.0), babble_p=0.7,
                   babble_db=(-10.0, 0.0)):
    """Stationary background bed of unit RMS, shape ``(n, channels)``, from one inverse FFT.

    * coloured noise (PSD tilt and bumps from :func:`_spectral_shape`, 0 dB); in stereo the
      channels are partially correlated (0.3-0.9);
    * with probability ``hum_p``: mains (50/60 Hz) or machine (80-200 Hz) hum, 4-12 harmonics,
      at ``hum_db`` relative to the noise;
    * with probability ``babble_p``: a babble of 3-8 random tones (200-5000 Hz), each a narrow
      band (1-4 Hz wide) of Gaussian noise, i.e. a tone with a slowly and randomly fluctuating
      amplitude and frequency, at ``babble_db`` relative to the noise.
    """
    fs = fscale(sr)
    n_bins = n // 2 + 1
    df = sr / n
    freqs = np.arange(n_bins) * df
    noise = _complex_gaussian(rng, (n_bins, channels)) * _spectral_shape(rng, freqs, fs)[:, None]
    noise[0] = 0.0
    if channels == 2:
        rho = rng.uniform(0.3, 0.9)
        noise[:, 1] = rho * noise[:, 0] + np.sqrt(1 - rho ** 2) * noise[:, 1]
    spec = noise / np.sqrt(_spectrum_power(noise, n))
    gains = rng.uniform(0.8, 1.2, channels) if channels > 1 else np.ones(1)

    lines = np.zeros(n_bins, dtype=complex)
    if rng.random() < hum_p:
        f = float(rng.choice([50.0, 60.0])) if rng.random() < 0.6 else rng.uniform(80, 200)
        f *= fs
        slope = rng.uniform(0.3, 1.0)
        for k in range(1, int(rng.integers(4, 13)) + 1):
            b = int(round(k * f / df))
            if 0 < b < n_bins - 1 and k * f < 0.45 * sr:
                amplitude = rng.uniform(0.2, 1.0) * k ** -slope
                lines[b] += amplitude * np.exp(1j * rng.uniform(0, TWO_PI))
        if np.any(lines):
            lines *= 10 ** (rng.uniform(*hum_db) / 20) / np.sqrt(_spectrum_power(lines[:, None], n))
    if rng.random() < babble_p:
        tones = np.zeros(n_bins, dtype=complex)
        for _ in range(int(rng.integers(3, 9))):
            centre = loguniform(rng, 200, 5000) * fs / df
            half = max(1.0, rng.uniform(0.5, 2.0) / df)
            lo, hi = int(max(1, math.floor(centre - 3 * half))), int(math.ceil(centre + 3 * half))
            hi = min(hi, n_bins - 2)
            if hi < lo:
                continue
            k = np.arange(lo, hi + 1)
            band = _complex_gaussian(rng, k.size) * np.exp(-0.5 * ((k - centre) / half) ** 2)
            tones[lo:hi + 1] += band / np.sqrt(_spectrum_power(band[:, None], n))
        if np.any(tones):
            lines += tones * (10 ** (rng.uniform(*babble_db) / 20)
                              / np.sqrt(_spectrum_power(tones[:, None], n)))
    spec = spec + lines[:, None] * gains
    return normalise(np.fft.irfft(spec, n, axis=0))


def distractor(rng, n, sr):
    """A non-class sound: ``(segment, kind, onset, offset)``, the segment of unit RMS."""
    fs = fscale(sr)
    if rng.random() < 0.5:
        kind = "stationary_tone"
        length = max(2, int(rng.uniform(0.2, 0.6) * n))
        f = loguniform(rng, 300, 5000) * fs
        x = np.sin(TWO_PI * f * np.arange(length) / sr + rng.uniform(0, TWO_PI))
        x *= fade(length, sr, 0.02)
    else:
        kind = "noise_burst"
        length = max(2, min(n, int(rng.uniform(0.05, 0.4) * sr)))
        fc = loguniform(rng, 500, 5000) * fs
        bw = rng.uniform(1.0, 2.0)
        x = band_noise(rng, length, sr, fc * 2 ** (-bw / 2), min(fc * 2 ** (bw / 2), 0.45 * sr))
        x *= fade(length, sr)
    onset = int(rng.integers(0, n - length + 1))
    return normalise(x), kind, onset, onset + length
