"""Reading audio into the pipeline's format: mono, one sample rate, one clip length.

torchaudio >= 2.9 has no I/O of its own, so files are read with soundfile and resampled with
``torchaudio.functional.resample``.
"""

import soundfile as sf
import torch
import torchaudio

from lmac_brain.errors import UserFacingError


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


def read_clip(path, sample_rate, clip_seconds):
    """Read ``path`` as mono at ``sample_rate``, padded or cropped to ``clip_seconds``."""
    return fit_length(read_audio(path, sample_rate), int(round(clip_seconds * sample_rate)))
