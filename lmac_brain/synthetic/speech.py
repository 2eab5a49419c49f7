"""Speech-like signals: the LJSpeech twin's utterances and the WHAM! twin's babble.

A harmonic source with a moving f0 through moving formant resonances, a syllable-rate amplitude
envelope and fricative noise (:func:`speech_like`).
"""

import numpy as np

from lmac_brain.synthetic.signals import band_noise, fscale, normalise, phase, smooth_random

_VOWELS = np.array([  # F1, F2, F3 (Hz) of a few vowels (Peterson & Barney averages)
    [730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480],
    [660, 1720, 2410], [570, 840, 2410], [440, 1020, 2240], [490, 1350, 1690],
], dtype=float)


def speech_like(rng, n, sr, f0_range=(90.0, 250.0)):
    """Speech-like signal: harmonics of a moving f0 weighted by moving formant resonances.

    Syllables (3.5-6 per second, closures between them, some pauses) give the amplitude
    envelope; formant targets are random vowels interpolated between syllable centres; some
    syllables start with fricative noise. Returns unit-peak audio of ``n`` samples.
    """
    fs = fscale(sr)
    seconds = n / sr
    rate = rng.uniform(3.5, 6.0)
    segments, cursor = [], rng.uniform(0.0, 0.15)
    while cursor < seconds:
        if rng.random() < 0.12:
            cursor += rng.uniform(0.15, 0.4)
            continue
        length = float(np.clip(rng.gamma(4.0, 1.0 / (4.0 * rate)), 0.08, 0.45))
        segments.append((cursor, min(cursor + length, seconds)))
        cursor += length + rng.uniform(0.02, 0.06)  # a consonant closure between syllables
    if not segments:
        segments = [(0.0, seconds)]

    env = np.zeros(n)
    fric_env = np.zeros(n)
    for start, stop in segments:
        a, b = int(start * sr), max(int(start * sr) + 2, int(stop * sr))
        b = min(b, n)
        if b - a < 2:
            continue
        u = (np.arange(b - a) + 0.5) / (b - a)
        env[a:b] = rng.uniform(0.5, 1.0) * np.sin(np.pi * u) ** 0.6
        if rng.random() < 0.35:
            m = min(b - a, int(rng.uniform(0.04, 0.12) * sr))
            fric_env[a:a + m] = rng.uniform(0.2, 0.5) * np.sin(np.pi * (np.arange(m) + 0.5) / m)

    # Slowly varying controls on a 400 Hz grid, interpolated to the audio rate.
    hop = max(1, sr // 400)
    grid = np.arange(0, n + hop, hop)
    t_grid = grid / sr
    f0 = rng.uniform(*f0_range) * fs * 2.0 ** smooth_random(rng, grid.size, 400, 2.5, -0.2, 0.2)
    f0 *= 1.0 - 0.15 * t_grid / max(seconds, 1e-9)
    centres = np.array([(a + b) / 2 for a, b in segments])
    targets = _VOWELS[rng.integers(0, len(_VOWELS), centres.size)] * rng.uniform(0.9, 1.1) * fs
    formants = np.stack([np.interp(t_grid, centres, targets[:, i]) for i in range(3)])
    bandwidths = np.array([80.0, 100.0, 150.0]) * rng.uniform(0.8, 1.3) * fs

    f0_audio = np.interp(np.arange(n), grid, f0)
    ph = phase(rng, f0_audio, sr)
    top = min(5000.0 * fs, 0.45 * sr)
    harmonics = np.arange(1, int(top / f0.min()) + 1)[:, None]
    fk = harmonics * f0[None, :]  # (harmonic, grid)
    gain = (fk < top) / harmonics
    for fi, bi in zip(formants, bandwidths):
        gain = gain * fi ** 2 / np.sqrt((fi ** 2 - fk ** 2) ** 2 + (bi * fk) ** 2)
    gain /= np.sqrt(np.sum(gain ** 2, axis=0, keepdims=True) / 2) + 1e-12  # unit power per frame
    samples = np.arange(n)
    voiced = np.zeros(n)
    for k in range(harmonics.size):
        voiced += np.interp(samples, grid, gain[k]) * np.sin((k + 1) * ph)
    voiced *= env
    fric = band_noise(rng, n, sr, 2500 * fs, min(7000 * fs, 0.45 * sr))
    out = voiced + normalise(fric) * fric_env
    peak = np.max(np.abs(out))
    return out / peak if peak > 0 else out
