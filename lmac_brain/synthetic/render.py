"""Rendering one event-over-background clip of the ESC-50 and UrbanSound8K twins.

Events cover a minority of the time-frequency plane: each lasts :data:`EVENT_FRACTION_RANGE` of
the clip and has a limited bandwidth, and its level is set by an event-to-background SNR drawn
from :data:`SNR_DB_RANGE` (in dB, measured over the event's support).
:func:`lmac_brain.synthetic.coverage.event_coverage` measures the fraction of STFT bins where the
event dominates.

The backgrounds and distractors are independent of the class, so that the event is the only
thing in a clip that tells its class, and the ground truth says which time-frequency bins a
classifier should use. Each clip's background is made first and in full, from random draws that
never look at the class: the bed (spectral tilt and bumps, hum, babble of tones), the
distractors (count, kind, band, duration, onset and level relative to the bed) and the bed's
absolute level, drawn from :data:`BACKGROUND_DBFS_RANGE` (a background that would peak above
:data:`BACKGROUND_PEAK_MAX` is scaled down by a gain that depends on the background alone). It
is never rescaled afterwards: the event is scaled to the background (by the SNR), not the
background to the event, and the clip is not peak-normalised, since a normalisation gain depends
on the event's crest factor and hence on its class, and would pass that on to the level of the
background. The level range leaves headroom for the events; in the rare clip whose event would
still push the mixture above :data:`MIXTURE_PEAK_MAX`, the event alone is attenuated, and the
SNR that ``events.csv`` lists is the one obtained (then below the drawn value). So a classifier
that hears only the ``ground_truth/background/`` files can do no better than chance.

The clean event and the background (everything else) have the same rate, channels and length
as the mixture, and ``mixture == event + background`` holds exactly on the PCM_16 sample
values; :mod:`lmac_brain.synthetic.ground_truth` writes them beside the mixture, with each
event's onset, offset, nominal frequency range, SNR and distractors in ``events.csv``.
"""

import math

import numpy as np

from lmac_brain.synthetic.background import background_bed, distractor
from lmac_brain.synthetic.events import EVENT_GENERATORS
from lmac_brain.synthetic.signals import fade, fscale, normalise, rms

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

PCM_SCALE = 32767.0


def to_pcm16(x):
    """``x`` (full scale 1.0) as PCM_16 sample values."""
    return np.round(x * PCM_SCALE).astype(np.int16)


def render_clip(rng, target, n, sr, channels, snr_db_range=SNR_DB_RANGE,
                event_fraction_range=EVENT_FRACTION_RANGE, max_distractors=MAX_DISTRACTORS):
    """One event-over-background clip: ``(mixture, event, background, info)`` as int16 arrays.

    The arrays are ``(n,)`` for mono, ``(n, 2)`` for stereo; ``mixture == event + background``
    exactly. ``info`` holds the ground truth (onset/offset in samples, band in Hz, SNR in dB).
    ``target`` is not used before the background is complete (see the module docstring).
    """
    fs = fscale(sr)
    # The background is drawn first and in full (bed, distractors, absolute level) from draws
    # that do not depend on ``target``: its distribution is the same for every class.
    bed = background_bed(rng, n, sr, channels)
    gains = rng.uniform(0.8, 1.2, channels) if channels > 1 else np.ones(1)
    background = bed.copy()
    kinds = []
    for _ in range(int(rng.integers(0, max_distractors + 1))):
        x, kind, on, off = distractor(rng, n, sr)
        level = rms(bed[on:off]) * 10 ** (rng.uniform(*DISTRACTOR_SNR_DB_RANGE) / 20)
        background[on:off] += level * x[:, None] * gains
        kinds.append(kind)
    level = 10 ** (rng.uniform(*BACKGROUND_DBFS_RANGE) / 20)  # the bed has unit RMS
    level = min(level, BACKGROUND_PEAK_MAX / max(np.max(np.abs(background)), 1e-12))
    background *= level

    length = int(round(rng.uniform(*event_fraction_range) * n))
    length = min(n, max(length, int(MIN_EVENT_SECONDS * sr), 2))
    onset = int(rng.integers(0, n - length + 1))
    name, generator = EVENT_GENERATORS[target]
    x, f_low, f_high = generator(rng, length, sr, fs)
    x = normalise(x * fade(length, sr))
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

    event_q = to_pcm16(event)
    background_q = to_pcm16(background)
    mixture_q = (event_q.astype(np.int32) + background_q).astype(np.int16)
    if channels == 1:
        event_q, background_q, mixture_q = event_q[:, 0], background_q[:, 0], mixture_q[:, 0]
    info = dict(category=name, onset=onset, offset=onset + length, f_low=f_low, f_high=f_high,
                snr_db=snr_db, distractors=";".join(kinds))
    return mixture_q, event_q, background_q, info
