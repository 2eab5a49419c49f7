"""Synthetic twins of the ESC-50, UrbanSound8K, WHAM! noise and LJSpeech folder layouts.

None of the real datasets can be downloaded everywhere, so this module writes folders with
exactly their on-disk layouts, filled with synthetic audio:

* ESC-50 and UrbanSound8K twins hold sound-event classes, each defined by a spectro-temporal
  pattern (:data:`EVENT_CLASSES`), mixed over backgrounds (coloured noise with a random spectral
  tilt, mains/machine hum, a babble of random tones) and 0-2 distractors (stationary tones, noise
  bursts) that overlap the events' frequency ranges. For every clip the clean event and the
  background (everything else) are written as separate files under ``ground_truth/``, with the
  same rate, channels and length as the mixture, and ``mixture == event + background`` holds
  exactly on the PCM_16 sample values. ``ground_truth/events.csv`` lists each event's onset,
  offset, nominal frequency range, SNR and distractors.
* WHAM! noise twins hold stereo noise backgrounds (coloured noise, speech-like babble, hum, and
  mixtures of these).
* LJSpeech twins hold speech-like signals (a harmonic source with a moving f0 through moving
  formant resonances, a syllable-rate amplitude envelope, fricative noise) and a ``metadata.csv``.

Events cover a minority of the time-frequency plane: each lasts :data:`EVENT_FRACTION_RANGE` of
the clip and has a limited bandwidth, and its level is set by an event-to-background SNR drawn
from :data:`SNR_DB_RANGE` (in dB, measured over the event's support). :func:`event_coverage`
measures the fraction of STFT bins where the event dominates.

The backgrounds and distractors of the ESC-50 and UrbanSound8K twins are independent of the
class, so that the event is the only thing in a clip that tells its class, and the ground truth
says which time-frequency bins a classifier should use. Each clip's background is made first and
in full, from random draws that never look at the class: the bed (spectral tilt and bumps, hum,
babble of tones), the distractors (count, kind, band, duration, onset and level relative to the
bed) and the bed's absolute level, drawn from :data:`BACKGROUND_DBFS_RANGE` (a background that
would peak above :data:`BACKGROUND_PEAK_MAX` is scaled down by a gain that depends on the
background alone). It is never rescaled afterwards: the event is scaled to the background (by the
SNR), not the background to the event, and the clip is not peak-normalised, since a
normalisation gain depends on the event's crest factor and hence on its class, and would pass
that on to the level of the background. The level range leaves headroom for the events; in the
rare clip whose event would still push the mixture above :data:`MIXTURE_PEAK_MAX`, the event
alone is attenuated, and the SNR that ``events.csv`` lists is the one obtained (then below the
drawn value). The sample rate, channel count and duration of an UrbanSound8K twin clip are
drawn independently of its class, too. So a classifier that hears only the
``ground_truth/background/`` files can do no better than chance.

Everything derives from ``seed`` through per-item :class:`numpy.random.Generator` instances
(``default_rng([seed, dataset, ...])``); no global random state is touched, and re-running with
the same arguments rewrites byte-identical files (files whose bytes are unchanged are not touched,
so their mtime, and the preparation caches that depend on it, survive). Each twin root holds a
``SYNTHETIC_TWIN.json`` that marks it as synthetic; ``.wav`` files left over from an earlier run
with other arguments are removed, and a folder holding ``.wav`` files but no marker (a real
dataset) is never written into.

Below 16 kHz every synthetic frequency is scaled by ``sample_rate / 16000``, so that the patterns
stay below the Nyquist frequency.

Command line::

    python -m lmac_brain.synthetic.twins esc50 --out DIR --n-classes 10 --clips-per-class-per-fold 8
    python -m lmac_brain.synthetic.twins us8k --out DIR
    python -m lmac_brain.synthetic.twins wham --out DIR --files-per-split 20 5 5
    python -m lmac_brain.synthetic.twins ljspeech --out DIR --n-files 20
"""

import argparse
import csv
import io
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal as sps
from tqdm import tqdm

_MODULE = "lmac_brain.synthetic.twins"  # stable name, also under ``python -m``
logger = logging.getLogger(_MODULE)

#: Event-to-background SNR range in dB: ``10 log10(mean(event**2) / mean(background**2))``
#: over the event's support (onset to offset, all channels); drawn uniformly per clip.
SNR_DB_RANGE = (0.0, 10.0)

#: Event duration as a fraction of the clip duration, drawn uniformly per clip.
EVENT_FRACTION_RANGE = (0.15, 0.40)

#: Shortest event in seconds (short clips), never longer than the clip itself.
MIN_EVENT_SECONDS = 0.05

#: Distractor-to-background-bed SNR range in dB, over the distractor's own support.
DISTRACTOR_SNR_DB_RANGE = (-3.0, 6.0)

#: At most this many distractors per clip (the count is uniform in ``0..MAX_DISTRACTORS``).
MAX_DISTRACTORS = 2

#: RMS level of the background bed (before distractors) in dB relative to full scale (an RMS
#: of 1.0, i.e. 32767 in PCM_16, is 0 dB), drawn uniformly per clip, independently of the class.
BACKGROUND_DBFS_RANGE = (-44.0, -32.0)

#: The background (bed and distractors) never peaks above this (relative to full scale): a
#: background that would is scaled down, by a gain that depends on the background alone.
BACKGROUND_PEAK_MAX = 0.25

#: The mixture never peaks above this (relative to full scale): in a clip whose event would push
#: it higher, the event alone is attenuated (its SNR in ``events.csv`` is then the one obtained).
MIXTURE_PEAK_MAX = 0.98

#: Frequencies are designed for this rate; below it they are scaled by ``rate / 16000``.
REFERENCE_RATE = 16000

#: Sample rates of the UrbanSound8K twin (assigned in equal shares over the clips).
US8K_SAMPLE_RATES = (16000, 22050, 44100, 48000)

#: Share of UrbanSound8K twin clips that are stereo, and of those shorter than ``max_seconds``.
US8K_STEREO_SHARE = 1 / 3
US8K_SHORT_SHARE = 1 / 3

#: Sample rate of the LJSpeech twin (as the real corpus).
LJSPEECH_SAMPLE_RATE = 22050

#: Name of the marker file written at the root of every twin.
MARKER = "SYNTHETIC_TWIN.json"

ESC50_FOLDS = 5
US8K_FOLDS = 10
WHAM_SPLITS = ("tr", "cv", "tt")

# Dataset tags of the per-item seeds: default_rng([seed, tag, ...]).
_TAG_ESC50, _TAG_US8K, _TAG_WHAM, _TAG_LJSPEECH = 1, 2, 3, 4
_META, _CLIP = 0, 1
_PCM_SCALE = 32767.0
_TWO_PI = 2.0 * np.pi


# --------------------------------------------------------------------------------------------
# Small signal helpers (all vectorised; ``fs`` is the frequency scale, 1 at >= 16 kHz)
# --------------------------------------------------------------------------------------------
def _fscale(sample_rate):
    return min(1.0, sample_rate / REFERENCE_RATE)


def _loguniform(rng, low, high):
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def _normalise(x):
    r = _rms(x)
    return x / r if r > 0 else x


def _phase(rng, freq, sample_rate):
    """Phase (rad) of an oscillator whose instantaneous frequency (Hz) is ``freq``."""
    return _TWO_PI * np.cumsum(freq) / sample_rate + rng.uniform(0.0, _TWO_PI)


def _fade(n, sample_rate, seconds=0.005):
    """Raised-cosine fade in and out of ``seconds`` (at most a quarter of ``n`` each)."""
    m = int(min(seconds * sample_rate, n // 4))
    env = np.ones(n)
    if m > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(m) + 0.5) / m)
        env[:m] = ramp
        env[n - m:] = ramp[::-1]
    return env


def _taper_tail(x, share=0.25):
    """``x`` with its last ``share`` faded out (no click where a decaying kernel is cut)."""
    m = int(x.size * share)
    if m > 0:
        x = x.copy()
        x[x.size - m:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(m) + 0.5) / m)
    return x


def _smooth_random(rng, n, sample_rate, rate_hz, low, high):
    """A random curve with values in ``[low, high]`` and about ``rate_hz`` knots per second."""
    knots = max(2, int(math.ceil(n / sample_rate * rate_hz)) + 2)
    values = rng.uniform(low, high, knots)
    m = min(n, 16 * (knots - 1) + 1)  # cosine-interpolated on a coarse grid ...
    pos = np.linspace(0.0, knots - 1, max(m, 2))
    idx = np.minimum(pos.astype(np.int64), knots - 2)
    w = 0.5 - 0.5 * np.cos(np.pi * (pos - idx))
    coarse = values[idx] * (1.0 - w) + values[idx + 1] * w
    return np.interp(np.linspace(0.0, knots - 1, n), pos, coarse)  # ... then linearly


def _moving_average(x, m):
    if m <= 1:
        return x
    padded = np.pad(x, (m // 2, m - 1 - m // 2), mode="edge")
    c = np.cumsum(np.concatenate(([0.0], padded)))
    return (c[m:] - c[:-m]) / m


def _band_mask(freqs, f_low, f_high, taper_oct=0.15):
    """1 inside ``[f_low, f_high]``, raised-cosine roll-off over ``taper_oct`` octaves outside."""
    lf = np.log2(np.maximum(freqs, 1.0))
    lo, hi = np.log2(f_low), np.log2(f_high)
    dist = np.maximum(lo - lf, lf - hi)
    dist = np.clip(dist / taper_oct, 0.0, 1.0)
    return 0.5 + 0.5 * np.cos(np.pi * dist)


def _band_noise(rng, n, sample_rate, f_low, f_high, channels=None):
    """White noise band-limited to ``[f_low, f_high]`` Hz (FFT filter)."""
    shape = (n,) if channels is None else (n, channels)
    spec = np.fft.rfft(rng.standard_normal(shape), axis=0)
    mask = _band_mask(np.fft.rfftfreq(n, 1.0 / sample_rate), f_low, f_high)
    if channels is not None:
        mask = mask[:, None]
    return np.fft.irfft(spec * mask, n, axis=0)


def _sweeping_band_noise(rng, n, sample_rate, f_centre, bw_oct):
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


def _onsets(n, period, length):
    """Local time (samples) within a period and whether a whole burst of ``length`` fits."""
    t = np.arange(n)
    local = np.mod(t, period)
    start = t - local
    return local, (local < length) & (start + length <= n)


# --------------------------------------------------------------------------------------------
# Event classes: each returns (signal of n samples, nominal lowest Hz, nominal highest Hz)
# --------------------------------------------------------------------------------------------
def _ev_rising_chirp(rng, n, sr, fs):
    f0 = rng.uniform(300, 1500) * fs
    f1 = min(f0 * rng.uniform(2.0, 3.5), 6000 * fs)
    freq = f0 * (f1 / f0) ** (np.arange(n) / n)
    return np.sin(_phase(rng, freq, sr)), f0, f1


def _ev_falling_chirp(rng, n, sr, fs):
    f0 = rng.uniform(1200, 5000) * fs
    f1 = max(f0 / rng.uniform(2.0, 3.5), 250 * fs)
    freq = f0 * (f1 / f0) ** (np.arange(n) / n)
    return np.sin(_phase(rng, freq, sr)), f1, f0


def _ev_harmonic_stack(rng, n, sr, fs):
    f0 = rng.uniform(150, 450) * fs
    drift = rng.uniform(-0.03, 0.03)
    k_max = max(3, min(int(rng.integers(5, 11)), int(6500 * fs / (f0 * (1 + abs(drift))))))
    ph = _phase(rng, f0 * (1.0 + drift * np.linspace(-1.0, 1.0, n)), sr)
    slope = rng.uniform(0.5, 1.2)
    x = np.zeros(n)
    for k in range(1, k_max + 1):
        x += k ** -slope * rng.uniform(0.6, 1.0) * np.sin(k * ph + rng.uniform(0, _TWO_PI))
    return x, f0 * (1 - abs(drift)), k_max * f0 * (1 + abs(drift))


def _ev_am_noise_band(rng, n, sr, fs):
    fc = _loguniform(rng, 600, 3000) * fs
    bw = rng.uniform(0.3, 0.6)
    lo, hi = fc * 2 ** (-bw / 2), fc * 2 ** (bw / 2)
    t = np.arange(n) / sr
    env = 1.0 - rng.uniform(0.8, 1.0) * (0.5 + 0.5 * np.cos(
        _TWO_PI * rng.uniform(4, 10) * t + rng.uniform(0, _TWO_PI)))
    return _band_noise(rng, n, sr, lo, hi) * env, lo, hi


def _ev_click_train(rng, n, sr, fs):
    period = sr / rng.uniform(15, 40)
    fc = rng.uniform(1500, 4500) * fs
    tau = rng.uniform(0.0006, 0.0015) / fs
    pos = np.arange(0.0, n, period)
    pos = np.clip(np.round(pos + rng.uniform(-0.03, 0.03, pos.size) * period), 0, n - 1)
    impulses = np.zeros(n)
    impulses[pos.astype(np.int64)] = rng.uniform(0.7, 1.0, pos.size)
    tk = np.arange(max(2, min(n, int(6 * tau * sr)))) / sr
    kernel = _taper_tail(np.exp(-tk / tau) * np.sin(_TWO_PI * fc * tk))
    half_bw = 1.0 / (np.pi * tau)
    return sps.fftconvolve(impulses, kernel)[:n], max(fc - half_bw, 20.0), fc + half_bw


def _ev_fm_vibrato(rng, n, sr, fs):
    fc = rng.uniform(500, 2500) * fs
    depth = rng.uniform(0.04, 0.10)
    t = np.arange(n) / sr
    freq = fc * (1.0 + depth * np.sin(_TWO_PI * rng.uniform(5, 9) * t + rng.uniform(0, _TWO_PI)))
    ph = _phase(rng, freq, sr)
    return np.sin(ph) + 0.35 * np.sin(2 * ph + rng.uniform(0, _TWO_PI)), fc * (1 - depth), \
        2 * fc * (1 + depth)


def _ev_two_tone_alternation(rng, n, sr, fs):
    fa = rng.uniform(600, 2000) * fs
    fb = fa * rng.uniform(1.25, 1.6)
    seg = rng.uniform(0.08, 0.25) * sr
    state = np.floor(np.arange(n) / seg + rng.integers(0, 2)) % 2
    freq = _moving_average(np.where(state > 0, fb, fa), int(0.005 * sr))
    ph = _phase(rng, freq, sr)
    return np.sin(ph) + 0.25 * np.sin(2 * ph), fa, 2 * fb


def _ev_repeated_bursts(rng, n, sr, fs):
    fc = _loguniform(rng, 1000, 4000) * fs
    bw = rng.uniform(0.5, 1.0)
    lo, hi = fc * 2 ** (-bw / 2), fc * 2 ** (bw / 2)
    length = min(n, max(2, int(rng.uniform(0.03, 0.09) * sr)))
    period = length + rng.uniform(0.04, 0.25) * sr
    local, active = _onsets(n, period, length)
    env = np.where(active, np.sin(np.pi * local / length) ** 2, 0.0)
    return _band_noise(rng, n, sr, lo, hi) * env, lo, hi


def _ev_decaying_resonance(rng, n, sr, fs):
    spacing = rng.uniform(0.25, 0.6) * sr
    f1 = _loguniform(rng, 400, 2000) * fs
    ratios = np.array([1.0, rng.uniform(2.0, 2.9), rng.uniform(3.5, 5.4)])
    ratios = ratios[ratios * f1 < 6500 * fs]
    amps = np.array([1.0, rng.uniform(0.4, 0.8), rng.uniform(0.2, 0.5)])[: ratios.size]
    tau = rng.uniform(0.06, 0.25)
    tk = np.arange(max(2, min(n, int(5 * tau * sr)))) / sr
    kernel = np.zeros(tk.size)
    for r, a in zip(ratios, amps):
        kernel += a * np.exp(-tk * np.sqrt(r) / tau) * np.sin(_TWO_PI * f1 * r * tk)
    kernel = _taper_tail(kernel)
    strikes = np.arange(0.0, n, spacing)[: max(1, int(n // spacing))].astype(np.int64)
    impulses = np.zeros(n)
    impulses[strikes] = rng.uniform(0.6, 1.0, strikes.size)
    return sps.fftconvolve(impulses, kernel)[:n], f1, f1 * ratios[-1]


def _ev_tremolo_tone(rng, n, sr, fs):
    f = _loguniform(rng, 400, 3000) * fs
    t = np.arange(n) / sr
    ph = _phase(rng, np.full(n, f), sr)
    env = 1.0 - rng.uniform(0.7, 1.0) * (0.5 + 0.5 * np.cos(
        _TWO_PI * rng.uniform(10, 25) * t + rng.uniform(0, _TWO_PI)))
    return (np.sin(ph) + 0.3 * np.sin(2 * ph)) * env, f, 2 * f


def _ev_chirp_train(rng, n, sr, fs):
    length = min(n, max(2, int(rng.uniform(0.04, 0.10) * sr)))
    period = max(length + 0.03 * sr, sr / rng.uniform(3, 8))
    f_start = _loguniform(rng, 1500, 3000) * fs
    f_end = min(f_start * rng.uniform(1.5, 2.0), 6000 * fs)
    local, active = _onsets(n, period, length)
    freq = f_start * (f_end / f_start) ** np.minimum(local / length, 1.0)
    env = np.where(active, np.sin(np.pi * local / length) ** 2, 0.0)
    return np.sin(_phase(rng, freq, sr)) * env, f_start, f_end


def _ev_noise_sweep(rng, n, sr, fs):
    f_a = _loguniform(rng, 500, 1500) * fs
    f_b = f_a * rng.uniform(2.0, 4.0)
    if rng.random() < 0.5:
        f_a, f_b = f_b, f_a
    bw = rng.uniform(0.25, 0.4)
    centre = f_a * (f_b / f_a) ** (np.arange(n) / n)
    lo, hi = min(f_a, f_b) * 2 ** (-bw / 2), max(f_a, f_b) * 2 ** (bw / 2)
    return _sweeping_band_noise(rng, n, sr, centre, bw), lo, hi


_EVENT_GENERATORS = (
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
EVENT_CLASSES = tuple(name for name, _ in _EVENT_GENERATORS)


def _check_n_classes(n_classes):
    if not isinstance(n_classes, (int, np.integer)) or not 2 <= n_classes <= len(EVENT_CLASSES):
        raise ValueError(
            f"n_classes must be an integer in 2..{len(EVENT_CLASSES)} (the synthetic event "
            f"patterns available: {', '.join(EVENT_CLASSES)}), got {n_classes!r}"
        )


# --------------------------------------------------------------------------------------------
# Backgrounds, distractors, speech-like signals
# --------------------------------------------------------------------------------------------
def _spectral_shape(rng, freqs, fs):
    """|gain| ~ f**(-alpha/2) (PSD tilt alpha random in 0..1.5) times 0-2 broad random bumps."""
    gain = (np.maximum(freqs, 30.0) / 1000.0) ** (-rng.uniform(0.0, 1.5) / 2)
    log_f = np.log2(np.maximum(freqs, 1.0))
    log_gain = np.zeros_like(freqs)
    for _ in range(int(rng.integers(0, 3))):
        centre = np.log2(_loguniform(rng, 200, 6000) * fs)
        width = rng.uniform(0.5, 1.5)
        log_gain += rng.uniform(-6, 12) / 20 * np.exp(-0.5 * ((log_f - centre) / width) ** 2)
    return gain * 10.0 ** log_gain


def _complex_gaussian(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _spectrum_power(spec, n):
    """Mean power (per sample, averaged over channels) of ``irfft(spec, n)``."""
    return 2.0 * float(np.sum(np.abs(spec) ** 2)) / (n * n * (spec.size // spec.shape[0]))


def _background_bed(rng, n, sr, channels, hum_p=0.5, hum_db=(-15.0, -3.0), babble_p=0.7,
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
    fs = _fscale(sr)
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
                lines[b] += amplitude * np.exp(1j * rng.uniform(0, _TWO_PI))
        if np.any(lines):
            lines *= 10 ** (rng.uniform(*hum_db) / 20) / np.sqrt(_spectrum_power(lines[:, None], n))
    if rng.random() < babble_p:
        tones = np.zeros(n_bins, dtype=complex)
        for _ in range(int(rng.integers(3, 9))):
            centre = _loguniform(rng, 200, 5000) * fs / df
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
    return _normalise(np.fft.irfft(spec, n, axis=0))


def _distractor(rng, n, sr):
    """A non-class sound: ``(segment, kind, onset, offset)``, the segment of unit RMS."""
    fs = _fscale(sr)
    if rng.random() < 0.5:
        kind = "stationary_tone"
        length = max(2, int(rng.uniform(0.2, 0.6) * n))
        f = _loguniform(rng, 300, 5000) * fs
        x = np.sin(_TWO_PI * f * np.arange(length) / sr + rng.uniform(0, _TWO_PI))
        x *= _fade(length, sr, 0.02)
    else:
        kind = "noise_burst"
        length = max(2, min(n, int(rng.uniform(0.05, 0.4) * sr)))
        fc = _loguniform(rng, 500, 5000) * fs
        bw = rng.uniform(1.0, 2.0)
        x = _band_noise(rng, length, sr, fc * 2 ** (-bw / 2), min(fc * 2 ** (bw / 2), 0.45 * sr))
        x *= _fade(length, sr)
    onset = int(rng.integers(0, n - length + 1))
    return _normalise(x), kind, onset, onset + length


_VOWELS = np.array([  # F1, F2, F3 (Hz) of a few vowels (Peterson & Barney averages)
    [730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480],
    [660, 1720, 2410], [570, 840, 2410], [440, 1020, 2240], [490, 1350, 1690],
], dtype=float)


def _speech_like(rng, n, sr, f0_range=(90.0, 250.0)):
    """Speech-like signal: harmonics of a moving f0 weighted by moving formant resonances.

    Syllables (3.5-6 per second, closures between them, some pauses) give the amplitude
    envelope; formant targets are random vowels interpolated between syllable centres; some
    syllables start with fricative noise. Returns unit-peak audio of ``n`` samples.
    """
    fs = _fscale(sr)
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
    f0 = rng.uniform(*f0_range) * fs * 2.0 ** _smooth_random(rng, grid.size, 400, 2.5, -0.2, 0.2)
    f0 *= 1.0 - 0.15 * t_grid / max(seconds, 1e-9)
    centres = np.array([(a + b) / 2 for a, b in segments])
    targets = _VOWELS[rng.integers(0, len(_VOWELS), centres.size)] * rng.uniform(0.9, 1.1) * fs
    formants = np.stack([np.interp(t_grid, centres, targets[:, i]) for i in range(3)])
    bandwidths = np.array([80.0, 100.0, 150.0]) * rng.uniform(0.8, 1.3) * fs

    f0_audio = np.interp(np.arange(n), grid, f0)
    ph = _phase(rng, f0_audio, sr)
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
    fric = _band_noise(rng, n, sr, 2500 * fs, min(7000 * fs, 0.45 * sr))
    out = voiced + _normalise(fric) * fric_env
    peak = np.max(np.abs(out))
    return out / peak if peak > 0 else out


# --------------------------------------------------------------------------------------------
# Clip rendering and file writing
# --------------------------------------------------------------------------------------------
def _to_pcm16(x):
    return np.round(x * _PCM_SCALE).astype(np.int16)


def _render_clip(rng, target, n, sr, channels, snr_db_range=SNR_DB_RANGE,
                 event_fraction_range=EVENT_FRACTION_RANGE, max_distractors=MAX_DISTRACTORS):
    """One event-over-background clip: ``(mixture, event, background, info)`` as int16 arrays.

    The arrays are ``(n,)`` for mono, ``(n, 2)`` for stereo; ``mixture == event + background``
    exactly. ``info`` holds the ground truth (onset/offset in samples, band in Hz, SNR in dB).
    ``target`` is not used before the background is complete (see the module docstring).
    """
    fs = _fscale(sr)
    # The background is drawn first and in full (bed, distractors, absolute level) from draws
    # that do not depend on ``target``: its distribution is the same for every class.
    bed = _background_bed(rng, n, sr, channels)
    gains = rng.uniform(0.8, 1.2, channels) if channels > 1 else np.ones(1)
    background = bed.copy()
    kinds = []
    for _ in range(int(rng.integers(0, max_distractors + 1))):
        x, kind, on, off = _distractor(rng, n, sr)
        level = _rms(bed[on:off]) * 10 ** (rng.uniform(*DISTRACTOR_SNR_DB_RANGE) / 20)
        background[on:off] += level * x[:, None] * gains
        kinds.append(kind)
    level = 10 ** (rng.uniform(*BACKGROUND_DBFS_RANGE) / 20)  # the bed has unit RMS
    level = min(level, BACKGROUND_PEAK_MAX / max(np.max(np.abs(background)), 1e-12))
    background *= level

    length = int(round(rng.uniform(*event_fraction_range) * n))
    length = min(n, max(length, int(MIN_EVENT_SECONDS * sr), 2))
    onset = int(rng.integers(0, n - length + 1))
    name, generator = _EVENT_GENERATORS[target]
    x, f_low, f_high = generator(rng, length, sr, fs)
    x = _normalise(x * _fade(length, sr))
    snr_db = float(rng.uniform(*snr_db_range))
    bg_power = float(np.mean(background[onset:onset + length] ** 2))
    x *= np.sqrt(bg_power * 10 ** (snr_db / 10))
    if channels == 2:
        pan = rng.uniform(0.25, 0.75) * np.pi / 2
        pan_gains = np.sqrt(2.0) * np.array([np.cos(pan), np.sin(pan)])
    else:
        pan_gains = np.ones(1)
    segment = x[:, None] * pan_gains
    # Headroom: the largest gain g <= 1 with |g * event + background| <= MIXTURE_PEAK_MAX
    # everywhere (the background alone stays below BACKGROUND_PEAK_MAX < MIXTURE_PEAK_MAX).
    # Only the event is attenuated, never the background.
    bg_seg = background[onset:onset + length]
    mag = np.abs(segment)
    nz = mag > 0
    if np.any(nz):
        room = (MIXTURE_PEAK_MAX - np.sign(segment[nz]) * bg_seg[nz]) / mag[nz]
        g = float(min(1.0, room.min()))
        if g < 1.0:
            segment = segment * g
            snr_db += 20 * math.log10(g)
    event = np.zeros((n, channels))
    event[onset:onset + length] = segment

    event_q = _to_pcm16(event)
    background_q = _to_pcm16(background)
    mixture_q = (event_q.astype(np.int32) + background_q).astype(np.int16)
    if channels == 1:
        event_q, background_q, mixture_q = event_q[:, 0], background_q[:, 0], mixture_q[:, 0]
    info = dict(category=name, onset=onset, offset=onset + length, f_low=f_low, f_high=f_high,
                snr_db=snr_db, distractors=";".join(kinds))
    return mixture_q, event_q, background_q, info


def _wav_bytes(data, sample_rate):
    buf = io.BytesIO()
    sf.write(buf, data, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _write_if_changed(path, content):
    """Write ``content`` (bytes) unless the file already holds exactly it (keeps its mtime)."""
    path = Path(path)
    if path.is_file() and path.stat().st_size == len(content) and path.read_bytes() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)


def _csv_bytes(header, rows):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


class _TwinWriter:
    """Guards a twin root, writes files, and removes stale ``.wav`` files at the end."""

    def __init__(self, root, dataset, params, managed):
        self.root = Path(root)
        self.managed = [self.root / m for m in managed]
        existing = set()
        for folder in self.managed:
            if folder.is_dir():
                existing.update(p for p in folder.rglob("*.wav") if p.is_file())
        marker = self.root / MARKER
        if existing and not marker.is_file():
            raise FileExistsError(
                f"{self.root} already holds .wav files (e.g. {sorted(existing)[0]}) but no "
                f"{MARKER}: it looks like a real dataset, refusing to overwrite it; "
                "choose another (or an empty) folder for the synthetic twin"
            )
        self.existing = existing
        self.written = set()
        self.root.mkdir(parents=True, exist_ok=True)
        description = {
            "synthetic_twin_of": dataset,
            "generator": _MODULE,
            "parameters": params,
            "note": "Synthetic audio in the layout of the real dataset; not the real dataset.",
        }
        _write_if_changed(marker, (json.dumps(description, indent=2, sort_keys=True) + "\n")
                          .encode("utf-8"))

    def wav(self, relative, data, sample_rate):
        path = self.root / relative
        _write_if_changed(path, _wav_bytes(data, sample_rate))
        self.written.add(path)

    def text(self, relative, content):
        _write_if_changed(self.root / relative, content)

    def finish(self):
        stale = sorted(self.existing - self.written)
        for path in stale:
            path.unlink()
        if stale:
            logger.info("removed %d stale .wav files from an earlier twin in %s", len(stale),
                        self.root)
        return self.root


def _progress(total, desc):
    return tqdm(total=total, desc=desc, unit="file", disable=None, leave=False)


def _unique_ids(rng, count, low, high):
    ids, seen = [], set()
    while len(ids) < count:
        value = int(rng.integers(low, high))
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids


def _group_sizes(rng, total, max_size=3):
    """Split ``total`` items into consecutive groups of 1..max_size (several takes of a source)."""
    sizes = []
    while sum(sizes) < total:
        sizes.append(min(total - sum(sizes), int(rng.choice(np.arange(1, max_size + 1),
                                                            p=_GROUP_P[:max_size] /
                                                            _GROUP_P[:max_size].sum()))))
    return sizes


_GROUP_P = np.array([0.6, 0.3, 0.1])


def _check_positive(name, value, minimum=0.0):
    if not value > minimum:
        raise ValueError(f"{name} must be > {minimum}, got {value!r}")


def _check_range(name, values, low=-np.inf, high=np.inf):
    try:
        a, b = (float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two numbers (low, high), got {values!r}") from None
    if not low <= a <= b <= high:
        raise ValueError(f"{name} must satisfy {low} <= low <= high <= {high}, got {values!r}")


def _check_seed(seed):
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def _event_rows(rel, target, info, sr, channels):
    return [rel, target, info["category"], f"{info['onset'] / sr:.6f}",
            f"{info['offset'] / sr:.6f}", f"{info['f_low']:.1f}", f"{info['f_high']:.1f}",
            f"{info['snr_db']:.3f}", info["distractors"], sr, channels]


_EVENTS_HEADER = ["path", "target", "category", "onset_s", "offset_s", "f_low_hz", "f_high_hz",
                  "snr_db", "distractors", "sample_rate", "channels"]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def make_esc50_twin(root, n_classes=10, clips_per_class_per_fold=8, clip_seconds=5.0,
                    sample_rate=44100, seed=0, *, snr_db_range=SNR_DB_RANGE,
                    event_fraction_range=EVENT_FRACTION_RANGE, max_distractors=MAX_DISTRACTORS):
    """Write an ESC-50-layout twin with synthetic sound-event classes and its ground truth.

    Layout (as the real ESC-50, plus ``ground_truth/``)::

        root/audio/{fold}-{src}-{take}-{target}.wav      5 folds, mono PCM_16
        root/meta/esc50.csv      filename,fold,target,category,esc10,src_file,take
        root/ground_truth/event/<file>.wav        the clean event alone
        root/ground_truth/background/<file>.wav   background + distractors
        root/ground_truth/events.csv              onset, offset, band, SNR of each event
        root/SYNTHETIC_TWIN.json                  marker with the arguments

    Every clip lasts exactly ``clip_seconds``. ``src_file`` is a 6-digit source id; a source
    gives 1-3 takes (``A``, ``B``, ``C``) of the same class in the same fold. ``esc10`` is
    ``True`` for even targets.

    Arguments
    ---------
    root : str or Path
        Dataset root to write (created if needed).
    n_classes : int
        Number of classes, 2..12; class ``k`` is ``EVENT_CLASSES[k]``.
    clips_per_class_per_fold : int
        Clips of each class in each of the 5 folds.
    clip_seconds : float
        Duration of every clip.
    sample_rate : int
        Sample rate (Hz) of every file.
    seed : int
        Non-negative seed; everything derives from it.
    snr_db_range, event_fraction_range, max_distractors
        How hard the clips are (defaults :data:`SNR_DB_RANGE`, :data:`EVENT_FRACTION_RANGE`,
        :data:`MAX_DISTRACTORS`); louder, longer events without distractors make classes that a
        tiny model separates in a few epochs (the tests' fixtures).

    Returns
    -------
    pathlib.Path
        ``root``.

    Example
    -------
    >>> import tempfile, soundfile as sf
    >>> root = make_esc50_twin(tempfile.mkdtemp(), n_classes=2, clips_per_class_per_fold=1,
    ...                        clip_seconds=0.5, sample_rate=16000)
    >>> open(root / "meta" / "esc50.csv").readline().strip()
    'filename,fold,target,category,esc10,src_file,take'
    >>> wavs = sorted((root / "audio").glob("*.wav"))
    >>> len(wavs), sf.info(str(wavs[0])).samplerate, sf.info(str(wavs[0])).frames
    (10, 16000, 8000)
    """
    _check_n_classes(n_classes)
    _check_positive("clips_per_class_per_fold", clips_per_class_per_fold)
    _check_positive("clip_seconds", clip_seconds)
    _check_positive("sample_rate", sample_rate, 1000)
    _check_seed(seed)
    n_classes, cpf, sample_rate, seed = int(n_classes), int(clips_per_class_per_fold), \
        int(sample_rate), int(seed)
    n = int(round(clip_seconds * sample_rate))
    _check_range("snr_db_range", snr_db_range)
    _check_range("event_fraction_range", event_fraction_range, 0.0, 1.0)
    if int(max_distractors) != max_distractors or max_distractors < 0:
        raise ValueError(f"max_distractors must be a non-negative integer, got {max_distractors!r}")
    difficulty = dict(snr_db_range=[float(v) for v in snr_db_range],
                      event_fraction_range=[float(v) for v in event_fraction_range],
                      max_distractors=int(max_distractors))
    params = dict(n_classes=n_classes, clips_per_class_per_fold=cpf, clip_seconds=clip_seconds,
                  sample_rate=sample_rate, seed=seed, classes=list(EVENT_CLASSES[:n_classes]),
                  background_dbfs_range=list(BACKGROUND_DBFS_RANGE), **difficulty)
    writer = _TwinWriter(root, "ESC-50", params,
                         ["audio", "ground_truth/event", "ground_truth/background"])

    meta_rng = np.random.default_rng([seed, _TAG_ESC50, _META])
    clips = []  # (fold, target, k, src, take)
    for fold in range(1, ESC50_FOLDS + 1):
        for target in range(n_classes):
            k = 0
            for size in _group_sizes(meta_rng, cpf):
                for take in range(size):
                    clips.append([fold, target, k, None, "ABC"[take]])
                    k += 1
    sources = _unique_ids(meta_rng, sum(c[4] == "A" for c in clips), 100000, 1000000)
    src_iter = iter(sources)
    for clip in clips:
        if clip[4] == "A":
            src = next(src_iter)
        clip[3] = src

    rows, events = [], []
    with _progress(len(clips), "ESC-50 twin") as bar:
        for fold, target, k, src, take in clips:
            rng = np.random.default_rng([seed, _TAG_ESC50, _CLIP, fold, target, k])
            mixture, event, background, info = _render_clip(rng, target, n, sample_rate, 1, **difficulty)
            name = f"{fold}-{src}-{take}-{target}.wav"
            writer.wav(f"audio/{name}", mixture, sample_rate)
            writer.wav(f"ground_truth/event/{name}", event, sample_rate)
            writer.wav(f"ground_truth/background/{name}", background, sample_rate)
            rows.append([name, fold, target, EVENT_CLASSES[target], str(target % 2 == 0),
                         src, take])
            events.append(_event_rows(name, target, info, sample_rate, 1))
            bar.update(1)
    rows.sort(key=lambda r: r[0])
    events.sort(key=lambda r: r[0])
    writer.text("meta/esc50.csv", _csv_bytes(
        ["filename", "fold", "target", "category", "esc10", "src_file", "take"], rows))
    writer.text("ground_truth/events.csv", _csv_bytes(_EVENTS_HEADER, events))
    logger.info("ESC-50 twin: %d clips of %d classes in %s", len(rows), n_classes, writer.root)
    return writer.finish()


def make_us8k_twin(root, n_classes=10, clips_per_class_per_fold=4, max_seconds=4.0, seed=0):
    """Write an UrbanSound8K-layout twin with synthetic sound-event classes and ground truth.

    Layout (as the real UrbanSound8K, plus ``ground_truth/``)::

        root/audio/fold{1..10}/{fsID}-{classID}-{occurrenceID}-{sliceID}.wav
        root/metadata/UrbanSound8K.csv   slice_file_name,fsID,start,end,salience,fold,classID,class
        root/ground_truth/event/fold{k}/<file>.wav        the clean event alone
        root/ground_truth/background/fold{k}/<file>.wav   background + distractors
        root/ground_truth/events.csv                      onset, offset, band, SNR of each event
        root/SYNTHETIC_TWIN.json                          marker with the arguments

    As in the real dataset the files have mixed sample rates (:data:`US8K_SAMPLE_RATES`, in equal
    shares), a third of them are stereo and a third are shorter than ``max_seconds`` (30-95 % of
    it); none is longer. All slices of one ``fsID`` share the class and the fold.

    Arguments
    ---------
    root : str or Path
        Dataset root to write (created if needed).
    n_classes : int
        Number of classes, 2..12; class ``k`` is ``EVENT_CLASSES[k]``.
    clips_per_class_per_fold : int
        Clips of each class in each of the 10 folds.
    max_seconds : float
        Longest clip duration (the real slices last at most 4 s).
    seed : int
        Non-negative seed; everything derives from it.

    Returns
    -------
    pathlib.Path
        ``root``.

    Example
    -------
    >>> import tempfile
    >>> root = make_us8k_twin(tempfile.mkdtemp(), n_classes=2, clips_per_class_per_fold=1,
    ...                       max_seconds=0.5)
    >>> open(root / "metadata" / "UrbanSound8K.csv").readline().strip()
    'slice_file_name,fsID,start,end,salience,fold,classID,class'
    >>> sorted(p.name for p in (root / "audio").iterdir())[:3]
    ['fold1', 'fold10', 'fold2']
    >>> len(list((root / "audio").rglob("*.wav")))
    20
    """
    _check_n_classes(n_classes)
    _check_positive("clips_per_class_per_fold", clips_per_class_per_fold)
    _check_positive("max_seconds", max_seconds)
    _check_seed(seed)
    n_classes, cpf, seed = int(n_classes), int(clips_per_class_per_fold), int(seed)
    params = dict(n_classes=n_classes, clips_per_class_per_fold=cpf, max_seconds=max_seconds,
                  seed=seed, snr_db_range=list(SNR_DB_RANGE),
                  background_dbfs_range=list(BACKGROUND_DBFS_RANGE),
                  classes=list(EVENT_CLASSES[:n_classes]))
    writer = _TwinWriter(root, "UrbanSound8K", params,
                         ["audio", "ground_truth/event", "ground_truth/background"])
    for fold in range(1, US8K_FOLDS + 1):
        (writer.root / "audio" / f"fold{fold}").mkdir(parents=True, exist_ok=True)

    meta_rng = np.random.default_rng([seed, _TAG_US8K, _META])
    clips = []  # fold, class, k, slice index within its source
    for fold in range(1, US8K_FOLDS + 1):
        for target in range(n_classes):
            k = 0
            for size in _group_sizes(meta_rng, cpf):
                for slice_idx in range(size):
                    clips.append([fold, target, k, slice_idx])
                    k += 1
    total = len(clips)
    n_sources = sum(c[3] == 0 for c in clips)
    fs_ids = iter(_unique_ids(meta_rng, n_sources, 1000, 200000))
    rates = np.array(US8K_SAMPLE_RATES)[meta_rng.permutation(total) % len(US8K_SAMPLE_RATES)]
    stereo = meta_rng.permutation(total) < round(US8K_STEREO_SHARE * total)
    short = meta_rng.permutation(total) < round(US8K_SHORT_SHARE * total)
    short_frac = meta_rng.uniform(0.3, 0.95, total)
    salience = meta_rng.integers(1, 3, total)

    rows, events = [], []
    with _progress(total, "UrbanSound8K twin") as bar:
        for i, (fold, target, k, slice_idx) in enumerate(clips):
            if slice_idx == 0:
                fs_id, occurrence = next(fs_ids), int(meta_rng.integers(0, 2))
                source_start = round(float(meta_rng.uniform(0.0, 60.0)), 6)
            sr = int(rates[i])
            seconds = max_seconds * (short_frac[i] if short[i] else 1.0)
            n = max(2, int(math.floor(seconds * sr + 1e-9)))
            channels = 2 if stereo[i] else 1
            rng = np.random.default_rng([seed, _TAG_US8K, _CLIP, fold, target, k])
            mixture, event, background, info = _render_clip(rng, target, n, sr, channels)
            name = f"{fs_id}-{target}-{occurrence}-{slice_idx}.wav"
            rel = f"fold{fold}/{name}"
            writer.wav(f"audio/{rel}", mixture, sr)
            writer.wav(f"ground_truth/event/{rel}", event, sr)
            writer.wav(f"ground_truth/background/{rel}", background, sr)
            start = source_start + slice_idx * max_seconds
            rows.append([name, fs_id, round(start, 6), round(start + n / sr, 6),
                         int(salience[i]), fold, target, EVENT_CLASSES[target]])
            events.append(_event_rows(rel, target, info, sr, channels))
            bar.update(1)
    rows.sort(key=lambda r: r[0])
    events.sort(key=lambda r: r[0])
    writer.text("metadata/UrbanSound8K.csv", _csv_bytes(
        ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"],
        rows))
    writer.text("ground_truth/events.csv", _csv_bytes(_EVENTS_HEADER, events))
    logger.info("UrbanSound8K twin: %d clips of %d classes in %s", total, n_classes, writer.root)
    return writer.finish()


_WHAM_KINDS = ("coloured_noise", "babble", "hum", "mixed")


def _wham_noise(rng, kind, n, sr):
    """A stereo WHAM!-like background of ``kind`` (see ``_WHAM_KINDS``), shape (n, 2)."""
    if kind == "coloured_noise":
        return _background_bed(rng, n, sr, 2, hum_p=0.0, babble_p=0.0)
    if kind == "hum":
        return _background_bed(rng, n, sr, 2, hum_p=1.0, hum_db=(8.0, 20.0), babble_p=0.0)
    babble = np.zeros((n, 2))
    for _ in range(int(rng.integers(3, 7))):
        pan = rng.uniform(0.1, 0.9) * np.pi / 2
        talker = _speech_like(rng, n, sr) * rng.uniform(0.5, 1.0)
        babble += talker[:, None] * np.array([np.cos(pan), np.sin(pan)])
    babble = _normalise(babble)
    if kind == "babble":
        return _normalise(babble + 10 ** (rng.uniform(-25, -15) / 20)
                          * _background_bed(rng, n, sr, 2, hum_p=0.0, babble_p=0.0))
    return _normalise(babble * 10 ** (rng.uniform(-6, 0) / 20) + _background_bed(rng, n, sr, 2))


def make_wham_twin(root, files_per_split=(20, 5, 5), seconds=6.0, sample_rate=16000, seed=0):
    """Write a WHAM!-noise-layout twin: stereo noise backgrounds in ``tr``, ``cv`` and ``tt``.

    Layout (as the real WHAM! noise)::

        root/wham_noise/{tr,cv,tt}/*.wav     stereo PCM_16, each exactly ``seconds`` long
        root/SYNTHETIC_TWIN.json             marker with the arguments

    The files cycle through four kinds: coloured noise (random tilt and bumps), speech-like
    babble (3-6 talkers), hum (over faint noise), and a mixture of babble, noise, hum and random
    tones. Names follow the real pattern ``{utt}_{gain}_{utt}_{-gain}.wav``.

    Arguments
    ---------
    root : str or Path
        Folder to hold ``wham_noise/`` (created if needed).
    files_per_split : tuple of int
        Number of files in ``tr``, ``cv`` and ``tt``.
    seconds : float
        Duration of every file.
    sample_rate : int
        Sample rate (Hz).
    seed : int
        Non-negative seed; everything derives from it.

    Returns
    -------
    pathlib.Path
        ``root`` (the folder holding ``wham_noise/``).

    Example
    -------
    >>> import tempfile, soundfile as sf
    >>> root = make_wham_twin(tempfile.mkdtemp(), files_per_split=(2, 1, 1), seconds=0.25)
    >>> [len(list((root / "wham_noise" / s).glob("*.wav"))) for s in ("tr", "cv", "tt")]
    [2, 1, 1]
    >>> info = sf.info(str(next((root / "wham_noise" / "cv").glob("*.wav"))))
    >>> info.samplerate, info.channels, info.frames
    (16000, 2, 4000)
    """
    files_per_split = tuple(int(c) for c in files_per_split)
    if len(files_per_split) != 3 or min(files_per_split) < 0:
        raise ValueError(f"files_per_split must be 3 non-negative counts (tr, cv, tt), got "
                         f"{files_per_split!r}")
    _check_positive("seconds", seconds)
    _check_positive("sample_rate", sample_rate, 1000)
    _check_seed(seed)
    sample_rate, seed = int(sample_rate), int(seed)
    n = max(2, int(round(seconds * sample_rate)))
    params = dict(files_per_split=list(files_per_split), seconds=seconds,
                  sample_rate=sample_rate, seed=seed)
    writer = _TwinWriter(root, "WHAM! noise", params, [f"wham_noise/{s}" for s in WHAM_SPLITS])
    names = set()
    with _progress(sum(files_per_split), "WHAM! noise twin") as bar:
        for s, (split, count) in enumerate(zip(WHAM_SPLITS, files_per_split)):
            (writer.root / "wham_noise" / split).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                rng = np.random.default_rng([seed, _TAG_WHAM, s, i])
                name = None
                while name is None or name in names:
                    utt = [f"{rng.integers(0, 1000):03d}{'aco'[rng.integers(0, 3)]}"
                           f"{rng.integers(0, 1000):03d}{'abcdefghij'[rng.integers(0, 10)]}"
                           for _ in range(2)]
                    gain = rng.uniform(0.0, 2.5)
                    name = f"{utt[0]}_{gain:.4f}_{utt[1]}_{-gain:.4f}.wav"
                names.add(name)
                kind = _WHAM_KINDS[(i + s) % len(_WHAM_KINDS)]
                audio = _wham_noise(rng, kind, n, sample_rate)
                audio *= rng.uniform(0.2, 0.8) / np.max(np.abs(audio))
                writer.wav(f"wham_noise/{split}/{name}", _to_pcm16(audio), sample_rate)
                bar.update(1)
    logger.info("WHAM! noise twin: %s files in %s", files_per_split, writer.root)
    return writer.finish()


_WORDS = (
    "the printer of a book in which art was shown to be practised with care and skill by men "
    "who had learned their craft well under masters whose names are still known in many towns "
    "letters were cut and cast from metal then set by hand into lines and pages before the "
    "press could print them on paper that was made from linen rags soaked in water"
).split()
_NUMBERS = {"1450": "fourteen fifty", "1476": "fourteen seventy-six", "1500": "fifteen hundred",
            "1830": "eighteen thirty", "1850": "eighteen fifty", "12": "twelve", "3": "three"}
_ABBREVIATIONS = {"Mr.": "Mister", "Dr.": "Doctor", "St.": "Saint"}


def _sentence(rng):
    """``(transcription, normalized transcription)`` of one pseudo-sentence."""
    words = [str(w) for w in rng.choice(_WORDS, int(rng.integers(6, 15)))]
    if rng.random() < 0.4:
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(list(_NUMBERS))))
    if rng.random() < 0.2:
        words.insert(0, str(rng.choice(list(_ABBREVIATIONS))))
    raw = " ".join(words)
    raw = raw[0].upper() + raw[1:] + "."
    norm = " ".join(_NUMBERS.get(w, _ABBREVIATIONS.get(w, w)) for w in raw[:-1].split()) + "."
    return raw, norm[0].upper() + norm[1:]


def make_ljspeech_twin(root, n_files=20, seconds=3.0, seed=0):
    """Write an LJSpeech-layout twin: speech-like utterances and their ``metadata.csv``.

    Layout (as the real LJSpeech 1.1)::

        root/LJSpeech-1.1/wavs/LJ001-0001.wav ...   22050 Hz mono PCM_16, ``seconds`` long
        root/LJSpeech-1.1/metadata.csv              id|transcription|normalized (no header)
        root/SYNTHETIC_TWIN.json                    marker with the arguments

    The audio is speech-like (see the module docstring), with f0 160-230 Hz as a female
    reader; ids run ``LJ001-0001 .. LJ001-0300, LJ002-0001, ...``; the texts are random word
    sequences whose normalized form spells out numbers and abbreviations.

    Arguments
    ---------
    root : str or Path
        Folder to hold ``LJSpeech-1.1/`` (created if needed).
    n_files : int
        Number of utterances.
    seconds : float
        Duration of every utterance.
    seed : int
        Non-negative seed; everything derives from it.

    Returns
    -------
    pathlib.Path
        ``root`` (the folder holding ``LJSpeech-1.1/``).

    Example
    -------
    >>> import tempfile
    >>> root = make_ljspeech_twin(tempfile.mkdtemp(), n_files=2, seconds=0.5)
    >>> lines = open(root / "LJSpeech-1.1" / "metadata.csv").read().splitlines()
    >>> len(lines), lines[0].split("|")[0], len(lines[0].split("|"))
    (2, 'LJ001-0001', 3)
    >>> sorted(p.name for p in (root / "LJSpeech-1.1" / "wavs").iterdir())
    ['LJ001-0001.wav', 'LJ001-0002.wav']
    """
    _check_positive("n_files", n_files)
    _check_positive("seconds", seconds)
    _check_seed(seed)
    n_files, seed = int(n_files), int(seed)
    sr = LJSPEECH_SAMPLE_RATE
    n = max(2, int(round(seconds * sr)))
    params = dict(n_files=n_files, seconds=seconds, seed=seed)
    writer = _TwinWriter(root, "LJSpeech-1.1", params, ["LJSpeech-1.1/wavs"])
    meta_rng = np.random.default_rng([seed, _TAG_LJSPEECH, _META])
    lines = []
    with _progress(n_files, "LJSpeech twin") as bar:
        for i in range(n_files):
            uid = f"LJ{i // 300 + 1:03d}-{i % 300 + 1:04d}"
            rng = np.random.default_rng([seed, _TAG_LJSPEECH, _CLIP, i])
            audio = _speech_like(rng, n, sr, f0_range=(160.0, 230.0)) * rng.uniform(0.5, 0.9)
            writer.wav(f"LJSpeech-1.1/wavs/{uid}.wav", _to_pcm16(audio), sr)
            raw, norm = _sentence(meta_rng)
            lines.append(f"{uid}|{raw}|{norm}\n")
            bar.update(1)
    writer.text("LJSpeech-1.1/metadata.csv", "".join(lines).encode("utf-8"))
    logger.info("LJSpeech twin: %d utterances in %s", n_files, writer.root)
    return writer.finish()


# --------------------------------------------------------------------------------------------
# Measuring the ground truth
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m lmac_brain.synthetic.twins",
        description="Write synthetic twins of the ESC-50, UrbanSound8K, WHAM! noise and LJSpeech "
                    "folder layouts (with event/background ground truth for ESC-50 and US8K).",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    sub = parser.add_subparsers(dest="dataset", required=True, metavar="DATASET")

    def common(p):
        p.add_argument("--out", required=True, type=Path, help="dataset root to write")
        p.add_argument("--seed", type=int, default=0, help="non-negative seed (default: 0)")
        p.add_argument("--log-level", default=argparse.SUPPRESS,
                       help="logging level, e.g. WARNING (default: INFO)")

    p = sub.add_parser("esc50", help="ESC-50 layout (5 folds, 44.1 kHz, 5 s)")
    common(p)
    p.add_argument("--n-classes", type=int, default=10,
                   help=f"2..{len(EVENT_CLASSES)} (default: 10)")
    p.add_argument("--clips-per-class-per-fold", type=int, default=8, help="(default: 8)")
    p.add_argument("--clip-seconds", type=float, default=5.0, help="(default: 5.0)")
    p.add_argument("--sample-rate", type=int, default=44100, help="(default: 44100)")

    p = sub.add_parser("us8k", help="UrbanSound8K layout (10 folds, mixed rates, <= 4 s)")
    common(p)
    p.add_argument("--n-classes", type=int, default=10,
                   help=f"2..{len(EVENT_CLASSES)} (default: 10)")
    p.add_argument("--clips-per-class-per-fold", type=int, default=4, help="(default: 4)")
    p.add_argument("--max-seconds", type=float, default=4.0, help="(default: 4.0)")

    p = sub.add_parser("wham", help="WHAM! noise layout (wham_noise/{tr,cv,tt})")
    common(p)
    p.add_argument("--files-per-split", type=int, nargs=3, default=[20, 5, 5],
                   metavar=("TR", "CV", "TT"), help="(default: 20 5 5)")
    p.add_argument("--seconds", type=float, default=6.0, help="(default: 6.0)")
    p.add_argument("--sample-rate", type=int, default=16000, help="(default: 16000)")

    p = sub.add_parser("ljspeech", help="LJSpeech-1.1 layout (22.05 kHz speech-like audio)")
    common(p)
    p.add_argument("--n-files", type=int, default=20, help="(default: 20)")
    p.add_argument("--seconds", type=float, default=3.0, help="(default: 3.0)")
    return parser


def main(argv=None):
    """Command-line entry point; returns the dataset root written.

    Example
    -------
    >>> import tempfile
    >>> root = main(["ljspeech", "--out", tempfile.mkdtemp(), "--n-files", "1",
    ...              "--seconds", "0.2"])
    >>> (root / "LJSpeech-1.1" / "wavs" / "LJ001-0001.wav").is_file()
    True
    """
    args = _parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.dataset == "esc50":
        root = make_esc50_twin(args.out, args.n_classes, args.clips_per_class_per_fold,
                               args.clip_seconds, args.sample_rate, args.seed)
    elif args.dataset == "us8k":
        root = make_us8k_twin(args.out, args.n_classes, args.clips_per_class_per_fold,
                              args.max_seconds, args.seed)
    elif args.dataset == "wham":
        root = make_wham_twin(args.out, tuple(args.files_per_split), args.seconds,
                              args.sample_rate, args.seed)
    else:
        root = make_ljspeech_twin(args.out, args.n_files, args.seconds, args.seed)
    logger.info("wrote %s", root)
    return root


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
