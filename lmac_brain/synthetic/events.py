"""The sound-event classes of the ESC-50 and UrbanSound8K twins.

Each class is a spectro-temporal pattern, drawn afresh for every clip by a generator
``(rng, n, sr, fs) -> (signal of n samples, nominal lowest Hz, nominal highest Hz)`` where
``fs`` is the frequency scale of :func:`lmac_brain.synthetic.signals.fscale`. Frequency ranges
overlap between classes; the pattern, not the band, tells them apart.
"""

import numpy as np
from scipy import signal as sps

from lmac_brain.synthetic.signals import (
    TWO_PI,
    band_noise,
    loguniform,
    moving_average,
    onsets,
    phase,
    sweeping_band_noise,
    taper_tail,
)


def _ev_rising_chirp(rng, n, sr, fs):
    f0 = rng.uniform(300, 1500) * fs
    f1 = min(f0 * rng.uniform(2.0, 3.5), 6000 * fs)
    freq = f0 * (f1 / f0) ** (np.arange(n) / n)
    return np.sin(phase(rng, freq, sr)), f0, f1


def _ev_falling_chirp(rng, n, sr, fs):
    f0 = rng.uniform(1200, 5000) * fs
    f1 = max(f0 / rng.uniform(2.0, 3.5), 250 * fs)
    freq = f0 * (f1 / f0) ** (np.arange(n) / n)
    return np.sin(phase(rng, freq, sr)), f1, f0


def _ev_harmonic_stack(rng, n, sr, fs):
    f0 = rng.uniform(150, 450) * fs
    drift = rng.uniform(-0.03, 0.03)
    k_max = max(3, min(int(rng.integers(5, 11)), int(6500 * fs / (f0 * (1 + abs(drift))))))
    ph = phase(rng, f0 * (1.0 + drift * np.linspace(-1.0, 1.0, n)), sr)
    slope = rng.uniform(0.5, 1.2)
    x = np.zeros(n)
    for k in range(1, k_max + 1):
        x += k ** -slope * rng.uniform(0.6, 1.0) * np.sin(k * ph + rng.uniform(0, TWO_PI))
    return x, f0 * (1 - abs(drift)), k_max * f0 * (1 + abs(drift))


def _ev_am_noise_band(rng, n, sr, fs):
    fc = loguniform(rng, 600, 3000) * fs
    bw = rng.uniform(0.3, 0.6)
    lo, hi = fc * 2 ** (-bw / 2), fc * 2 ** (bw / 2)
    t = np.arange(n) / sr
    env = 1.0 - rng.uniform(0.8, 1.0) * (0.5 + 0.5 * np.cos(
        TWO_PI * rng.uniform(4, 10) * t + rng.uniform(0, TWO_PI)))
    return band_noise(rng, n, sr, lo, hi) * env, lo, hi


def _ev_click_train(rng, n, sr, fs):
    period = sr / rng.uniform(15, 40)
    fc = rng.uniform(1500, 4500) * fs
    tau = rng.uniform(0.0006, 0.0015) / fs
    pos = np.arange(0.0, n, period)
    pos = np.clip(np.round(pos + rng.uniform(-0.03, 0.03, pos.size) * period), 0, n - 1)
    impulses = np.zeros(n)
    impulses[pos.astype(np.int64)] = rng.uniform(0.7, 1.0, pos.size)
    tk = np.arange(max(2, min(n, int(6 * tau * sr)))) / sr
    kernel = taper_tail(np.exp(-tk / tau) * np.sin(TWO_PI * fc * tk))
    half_bw = 1.0 / (np.pi * tau)
    return sps.fftconvolve(impulses, kernel)[:n], max(fc - half_bw, 20.0), fc + half_bw


def _ev_fm_vibrato(rng, n, sr, fs):
    fc = rng.uniform(500, 2500) * fs
    depth = rng.uniform(0.04, 0.10)
    t = np.arange(n) / sr
    freq = fc * (1.0 + depth * np.sin(TWO_PI * rng.uniform(5, 9) * t + rng.uniform(0, TWO_PI)))
    ph = phase(rng, freq, sr)
    return np.sin(ph) + 0.35 * np.sin(2 * ph + rng.uniform(0, TWO_PI)), fc * (1 - depth), \
        2 * fc * (1 + depth)


def _ev_two_tone_alternation(rng, n, sr, fs):
    fa = rng.uniform(600, 2000) * fs
    fb = fa * rng.uniform(1.25, 1.6)
    seg = rng.uniform(0.08, 0.25) * sr
    state = np.floor(np.arange(n) / seg + rng.integers(0, 2)) % 2
    freq = moving_average(np.where(state > 0, fb, fa), int(0.005 * sr))
    ph = phase(rng, freq, sr)
    return np.sin(ph) + 0.25 * np.sin(2 * ph), fa, 2 * fb


def _ev_repeated_bursts(rng, n, sr, fs):
    fc = loguniform(rng, 1000, 4000) * fs
    bw = rng.uniform(0.5, 1.0)
    lo, hi = fc * 2 ** (-bw / 2), fc * 2 ** (bw / 2)
    length = min(n, max(2, int(rng.uniform(0.03, 0.09) * sr)))
    period = length + rng.uniform(0.04, 0.25) * sr
    local, active = onsets(n, period, length)
    env = np.where(active, np.sin(np.pi * local / length) ** 2, 0.0)
    return band_noise(rng, n, sr, lo, hi) * env, lo, hi


def _ev_decaying_resonance(rng, n, sr, fs):
    spacing = rng.uniform(0.25, 0.6) * sr
    f1 = loguniform(rng, 400, 2000) * fs
    ratios = np.array([1.0, rng.uniform(2.0, 2.9), rng.uniform(3.5, 5.4)])
    ratios = ratios[ratios * f1 < 6500 * fs]
    amps = np.array([1.0, rng.uniform(0.4, 0.8), rng.uniform(0.2, 0.5)])[: ratios.size]
    tau = rng.uniform(0.06, 0.25)
    tk = np.arange(max(2, min(n, int(5 * tau * sr)))) / sr
    kernel = np.zeros(tk.size)
    for r, a in zip(ratios, amps):
        kernel += a * np.exp(-tk * np.sqrt(r) / tau) * np.sin(TWO_PI * f1 * r * tk)
    kernel = taper_tail(kernel)
    strikes = np.arange(0.0, n, spacing)[: max(1, int(n // spacing))].astype(np.int64)
    impulses = np.zeros(n)
    impulses[strikes] = rng.uniform(0.6, 1.0, strikes.size)
    return sps.fftconvolve(impulses, kernel)[:n], f1, f1 * ratios[-1]


def _ev_tremolo_tone(rng, n, sr, fs):
    f = loguniform(rng, 400, 3000) * fs
    t = np.arange(n) / sr
    ph = phase(rng, np.full(n, f), sr)
    env = 1.0 - rng.uniform(0.7, 1.0) * (0.5 + 0.5 * np.cos(
        TWO_PI * rng.uniform(10, 25) * t + rng.uniform(0, TWO_PI)))
    return (np.sin(ph) + 0.3 * np.sin(2 * ph)) * env, f, 2 * f


def _ev_chirp_train(rng, n, sr, fs):
    length = min(n, max(2, int(rng.uniform(0.04, 0.10) * sr)))
    period = max(length + 0.03 * sr, sr / rng.uniform(3, 8))
    f_start = loguniform(rng, 1500, 3000) * fs
    f_end = min(f_start * rng.uniform(1.5, 2.0), 6000 * fs)
    local, active = onsets(n, period, length)
    freq = f_start * (f_end / f_start) ** np.minimum(local / length, 1.0)
    env = np.where(active, np.sin(np.pi * local / length) ** 2, 0.0)
    return np.sin(phase(rng, freq, sr)) * env, f_start, f_end


def _ev_noise_sweep(rng, n, sr, fs):
    f_a = loguniform(rng, 500, 1500) * fs
    f_b = f_a * rng.uniform(2.0, 4.0)
    if rng.random() < 0.5:
        f_a, f_b = f_b, f_a
    bw = rng.uniform(0.25, 0.4)
    centre = f_a * (f_b / f_a) ** (np.arange(n) / n)
    lo, hi = min(f_a, f_b) * 2 ** (-bw / 2), max(f_a, f_b) * 2 ** (bw / 2)
    return sweeping_band_noise(rng, n, sr, centre, bw), lo, hi


#: ``(name, generator)`` of every event class, in target order.
EVENT_GENERATORS = (
    ("rising_chirp", _ev_rising_chirp),
    ("falling_chirp", _ev_falling_chirp),
    ("harmonic_stack", _ev_harmonic_stack),
    ("am_noise_band", _ev_am_noise_band),
    ("click_train", _ev_click_train),
    ("fm_vibrato", _ev_fm_vibrato),
    ("two_tone_alternation", _ev_two_tone_alternation),
    ("repeated_bursts", _ev_repeated_bursts),
    ("decaying_resonance", _ev_decaying_resonance),
    ("tremolo_tone", _ev_tremolo_tone),
    ("chirp_train", _ev_chirp_train),
    ("noise_sweep", _ev_noise_sweep),
)

#: The event classes, in target order (class ``k`` of a twin with ``n_classes`` is entry ``k``):
#: rising/falling exponential chirps (300-6000 Hz), a harmonic stack (f0 150-450 Hz, 3-10
#: partials), an amplitude-modulated noise band (4-10 Hz), a train of band-limited clicks
#: (15-40 Hz), an FM vibrato tone (5-9 Hz, 4-10 % depth), a two-tone alternation, repeated
#: short noise bursts, struck inharmonic resonances, a tremolo tone (10-25 Hz), a train of short
#: up-chirps (3-8 Hz) and a sweeping noise band. Frequency ranges overlap between classes; the
#: pattern, not the band, tells them apart.
EVENT_CLASSES = tuple(name for name, _ in EVENT_GENERATORS)


def check_n_classes(n_classes):
    if not isinstance(n_classes, (int, np.integer)) or not 2 <= n_classes <= len(EVENT_CLASSES):
        raise ValueError(
            f"n_classes must be an integer in 2..{len(EVENT_CLASSES)} (the synthetic event "
            f"patterns available: {', '.join(EVENT_CLASSES)}), got {n_classes!r}"
        )
