"""Adding noise at a stated SNR, from a bank of noise files (WHAM!, LJSpeech, ...).

Training draws noise at random; evaluation asks for the noise of one item by its id, so every
method and every batch size sees the same mixture.
"""

import json
import logging
import zlib

import soundfile as sf
import torch
import torchaudio

from lmac_brain.audio.reading import fit_length
from lmac_brain.errors import ConfigurationError, InputError

logger = logging.getLogger(__name__)


def mix_at_snr(signal, noise, snr_db):
    """Return ``signal + g * noise`` with ``g`` set so that the signal-to-noise ratio is ``snr_db``.

    ``signal`` and ``noise`` are ``[batch, samples]``; ``snr_db`` is a float or a ``[batch]``
    tensor. A silent noise is returned unscaled (zero), a silent signal gets the noise at unit gain.

    Example
    -------
    >>> s, n = torch.ones(1, 100), torch.ones(1, 100)
    >>> mixed = mix_at_snr(s, n, 20.0)
    >>> round(float(10 * torch.log10(s.pow(2).mean() / (mixed - s).pow(2).mean())), 3)
    20.0
    """
    snr_db = torch.as_tensor(snr_db, dtype=signal.dtype, device=signal.device)
    p_signal = signal.pow(2).mean(dim=-1)
    p_noise = noise.pow(2).mean(dim=-1).clamp_min(1e-12)
    gain = torch.sqrt(p_signal / (p_noise * 10 ** (snr_db / 10)))
    gain = torch.where(p_signal > 0, gain, torch.ones_like(gain))
    return signal + gain.unsqueeze(-1) * noise


def item_seed(item_id, seed):
    """A stable integer seed for ``item_id`` (independent of batch composition and process)."""
    return (zlib.crc32(str(item_id).encode()) + 1000003 * int(seed)) % (2**31 - 1)


class NoiseBank:
    """Noise segments read on demand from the files of a SpeechBrain JSON manifest.

    Arguments
    ---------
    manifest : str or dict
        Path of a manifest ``{id: {"wav": path, ...}}`` (e.g. from ``data_prep.prepare_wham``),
        or the loaded dict.
    sample_rate : int
        Rate of the segments returned.
    """

    def __init__(self, manifest, sample_rate):
        if not isinstance(manifest, dict):
            with open(manifest) as f:
                manifest = json.load(f)
        self.files = sorted(entry["wav"] for entry in manifest.values())
        if not self.files:
            raise InputError("The noise manifest lists no files")
        self.sample_rate = sample_rate

    def segment(self, n_samples, generator):
        """A mono noise segment of ``n_samples`` at a random file and offset (looped if short)."""
        index = int(torch.randint(len(self.files), (1,), generator=generator))
        path = self.files[index]
        info = sf.info(path)
        native = int(round(n_samples * info.samplerate / self.sample_rate)) + 1
        start_max = max(info.frames - native, 0)
        start = int(torch.randint(start_max + 1, (1,), generator=generator))
        data, rate = sf.read(path, start=start, frames=native, dtype="float32", always_2d=True)
        wav = torch.from_numpy(data).mean(dim=1)
        if rate != self.sample_rate:
            wav = torchaudio.functional.resample(wav, rate, self.sample_rate)
        if wav.numel() < n_samples:
            wav = wav.repeat(n_samples // max(wav.numel(), 1) + 1)
        return fit_length(wav, n_samples)

    def batch(self, batch_size, n_samples, generator=None):
        """``[batch_size, n_samples]`` of random segments."""
        return torch.stack([self.segment(n_samples, generator) for _ in range(batch_size)])

    def for_items(self, item_ids, n_samples, seed):
        """One segment per item id, the same for a given ``(item_id, seed)`` whatever the batch."""
        segments = []
        for item_id in item_ids:
            gen = torch.Generator().manual_seed(item_seed(item_id, seed))
            segments.append(self.segment(n_samples, gen))
        return torch.stack(segments)


class NoiseAugmenter:
    """Adds bank noise to a training batch at an SNR drawn uniformly in ``[snr_low, snr_high]`` dB.

    Arguments
    ---------
    bank : NoiseBank
        Where the noise comes from.
    snr_low, snr_high : float
        SNR range in dB.
    """

    def __init__(self, bank, snr_low=0.0, snr_high=10.0):
        self.bank = bank
        self.snr_low = snr_low
        self.snr_high = snr_high
        # Said once per run, so a log shows the training was augmented and how.
        logger.info("WHAM! augmentation of the training batches: %d noise files, SNR %g to %g dB",
                    len(bank.files), snr_low, snr_high)

    def __call__(self, wavs):
        noise = self.bank.batch(wavs.shape[0], wavs.shape[-1]).to(wavs.device)
        snr = torch.empty(wavs.shape[0], device=wavs.device).uniform_(self.snr_low, self.snr_high)
        return mix_at_snr(wavs, noise, snr)


def wham_augmenter(manifests, sample_rate, snr_low, snr_high):
    """The WHAM! augmenter of a training recipe run with ``add_wham_noise: True``.

    ``manifests`` are the prepared ones (``wham`` present when ``wham_folder`` was set); the noise
    comes from WHAM!'s training split. Raises :class:`ConfigurationError` without WHAM!.
    """
    if "wham" not in manifests:
        raise ConfigurationError("add_wham_noise is True but wham_folder is not set: pass --wham_folder=...")
    return NoiseAugmenter(NoiseBank(manifests["wham"]["tr"], sample_rate), snr_low, snr_high)
