"""Input files for the interpret tests: good ones of several rates, channel counts and lengths
(relative to the tiny fixtures' 1 s clips at 16 kHz), and bad ones."""

import numpy as np
import soundfile as sf

CLIP_SECONDS = 1.0  # conftest.TINY
RATE = 16000

# name -> (sample rate, seconds, channels, soundfile subtype)
GOOD = {
    "short_8k_mono.wav": (8000, 0.3, 1, "PCM_16"),      # shorter than one window
    "clip_22k_stereo.wav": (22050, 1.0, 2, "PCM_16"),   # exactly one window
    "long_44k_6ch.flac": (44100, 3.0, 6, "PCM_16"),     # 3x the clip length
    "odd_48k_mono.wav": (48000, 2.5, 1, "PCM_24"),      # not a whole number of windows
}

BAD = {
    "empty.wav": "empty",
    "silent.wav": "silent",
    "corrupt.wav": "not an audio file",
    "notes.txt": "not an audio file",
}


def signal(rate, seconds, channels, seed=0):
    """A chirp plus noise, different in every channel."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(rate * seconds))) / rate
    chirp = 0.3 * np.sin(2 * np.pi * (300 + 800 * t) * t)
    return (chirp[:, None] + 0.05 * rng.standard_normal((t.size, channels))).astype(np.float32)


def write_good(folder, names=None):
    """Write the good files (or ``names`` of them) into ``folder``; return their paths by name."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for i, (name, (rate, seconds, channels, subtype)) in enumerate(GOOD.items()):
        if names is None or name in names:
            paths[name] = folder / name
            sf.write(paths[name], signal(rate, seconds, channels, seed=i), rate, subtype=subtype)
    return paths


def write_bad(folder):
    """Write one file of each bad kind into ``folder``; return their paths by name."""
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / "empty.wav", np.zeros((0, 1), np.float32), RATE)
    sf.write(folder / "silent.wav", np.zeros(RATE, np.float32), RATE)
    # A RIFF/WAVE header whose fmt chunk is garbage.
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(7, 57)))
    (folder / "notes.txt").write_text("not audio\n")
    return {name: folder / name for name in BAD}


def expected_samples(name):
    """Samples of the explained (16 kHz mono) version of a good file."""
    rate, seconds, _, _ = GOOD[name]
    return int(round(rate * seconds)) * RATE // rate
