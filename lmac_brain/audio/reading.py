"""Reading audio into the pipeline's format: mono, one sample rate, one clip length.

torchaudio >= 2.9 has no I/O of its own, so files are read with soundfile and resampled with
``torchaudio.functional.resample``. :func:`load_input` reads a user's file to explain, and
refuses what cannot be explained with a short reason.
"""

import math
import os
import re
from dataclasses import dataclass

import soundfile as sf
import torch
import torchaudio

from lmac_brain.errors import UserFacingError

SILENCE_DB = -90.0
"""A file whose peak is below this level (dB full scale) is reported as silent."""


class AudioReadError(UserFacingError, RuntimeError):
    """A file that cannot be used as audio (missing, unreadable, empty)."""


class UnusableAudioError(AudioReadError):
    """An input file that cannot be explained: the message names it and says why.

    ``path`` and ``reason`` hold the two parts, so a report can list them apart.

    Example
    -------
    >>> err = UnusableAudioError("dog.wav", "silent (peak -inf dBFS, below -90 dBFS)")
    >>> print(err)
    Cannot explain dog.wav: silent (peak -inf dBFS, below -90 dBFS)
    >>> err.reason
    'silent (peak -inf dBFS, below -90 dBFS)'
    """

    def __init__(self, path, reason):
        super().__init__(f"Cannot explain {path}: {reason}")
        self.path = str(path)
        self.reason = reason


def read_audio(path, sample_rate):
    """Read ``path`` as a mono float32 tensor at ``sample_rate`` Hz.

    Channels are averaged; any input rate is resampled. Raises ``AudioReadError`` with the
    path for a missing, unreadable or empty file.
    """
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types for bad files
        raise AudioReadError(f"Cannot read audio file {path}: {err}") from err
    if data.shape[0] == 0:
        raise AudioReadError(f"Audio file {path} has no samples")
    wav = torch.from_numpy(data).mean(dim=1)
    if rate != sample_rate:
        wav = torchaudio.functional.resample(wav, rate, sample_rate)
    return wav


def fit_length(wav, n_samples):
    """Crop or zero-pad the last axis of ``wav`` to exactly ``n_samples``.

    Example
    -------
    >>> fit_length(torch.ones(3), 5)
    tensor([1., 1., 1., 0., 0.])
    >>> fit_length(torch.ones(2, 7), 4).shape
    torch.Size([2, 4])
    """
    length = wav.shape[-1]
    if length >= n_samples:
        return wav[..., :n_samples]
    return torch.nn.functional.pad(wav, (0, n_samples - length))


def read_clip(path, sample_rate, signal_length_s):
    """Read ``path`` as mono at ``sample_rate``, padded or cropped to ``signal_length_s``."""
    return fit_length(read_audio(path, sample_rate), int(round(signal_length_s * sample_rate)))


@dataclass
class AudioInfo:
    """What the input file was, before downmixing and resampling."""

    sample_rate: int
    channels: int
    seconds: float
    format: str


def load_input(path, sample_rate, silence_db=SILENCE_DB):
    """Read ``path`` as mono float32 at ``sample_rate``; return ``(wav, AudioInfo)``.

    Raises :class:`~lmac_brain.audio.reading.AudioReadError`, with a short reason, for a missing,
    non-audio, corrupt or empty file, for NaN/Inf samples, and for a file whose peak is below
    ``silence_db`` dB full scale.
    """
    if not os.path.isfile(path):
        raise AudioReadError("file not found")
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises several types for non-audio files
        raise AudioReadError(f"not an audio file, or a corrupt one ({_short(err)})") from err
    if info.frames == 0:
        raise AudioReadError("empty audio file (no samples)")
    try:
        wav = read_audio(path, sample_rate)
    except AudioReadError as err:
        raise AudioReadError(f"corrupt audio file ({_short(err.__cause__ or err)})") from err
    if wav.numel() == 0:
        raise AudioReadError("empty audio file (no samples)")
    if not torch.isfinite(wav).all():
        raise AudioReadError("the file holds NaN or infinite samples")
    peak = float(wav.abs().max())
    if peak <= 10 ** (silence_db / 20):
        level = "-inf" if peak == 0 else f"{20 * math.log10(peak):.0f}"
        raise AudioReadError(f"silent (peak {level} dBFS, below {silence_db:g} dBFS)")
    fmt = f"{info.format} {info.subtype}".strip()
    return wav, AudioInfo(int(info.samplerate), int(info.channels), info.frames / info.samplerate, fmt)


def _short(err):
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    # soundfile repeats the path in its messages; the report already shows it.
    return re.sub(r"^Error opening [^:]*: ", "", text)
