"""The WHAM! noise twin: stereo noise backgrounds in the WHAM! noise folder layout."""

import logging

import numpy as np

from lmac_brain.synthetic.background import background_bed
from lmac_brain.synthetic.checks import check_positive, check_seed
from lmac_brain.synthetic.render import to_pcm16
from lmac_brain.synthetic.seeds import TAG_WHAM
from lmac_brain.synthetic.signals import normalise
from lmac_brain.synthetic.speech import speech_like
from lmac_brain.synthetic.writer import TwinWriter, progress

logger = logging.getLogger(__name__)

WHAM_SPLITS = ("tr", "cv", "tt")

_WHAM_KINDS = ("coloured_noise", "babble", "hum", "mixed")


def _wham_noise(rng, kind, n, sr):
    """A stereo WHAM!-like background of ``kind`` (see ``_WHAM_KINDS``), shape (n, 2)."""
    if kind == "coloured_noise":
        return background_bed(rng, n, sr, 2, hum_p=0.0, babble_p=0.0)
    if kind == "hum":
        return background_bed(rng, n, sr, 2, hum_p=1.0, hum_db=(8.0, 20.0), babble_p=0.0)
    babble = np.zeros((n, 2))
    for _ in range(int(rng.integers(3, 7))):
        pan = rng.uniform(0.1, 0.9) * np.pi / 2
        talker = speech_like(rng, n, sr) * rng.uniform(0.5, 1.0)
        babble += talker[:, None] * np.array([np.cos(pan), np.sin(pan)])
    babble = normalise(babble)
    if kind == "babble":
        return normalise(babble + 10 ** (rng.uniform(-25, -15) / 20)
                         * background_bed(rng, n, sr, 2, hum_p=0.0, babble_p=0.0))
    return normalise(babble * 10 ** (rng.uniform(-6, 0) / 20) + background_bed(rng, n, sr, 2))


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
    check_positive("seconds", seconds)
    check_positive("sample_rate", sample_rate, 1000)
    check_seed(seed)
    sample_rate, seed = int(sample_rate), int(seed)
    n = max(2, int(round(seconds * sample_rate)))
    params = dict(files_per_split=list(files_per_split), seconds=seconds,
                  sample_rate=sample_rate, seed=seed)
    writer = TwinWriter(root, "WHAM! noise", params, [f"wham_noise/{s}" for s in WHAM_SPLITS])
    names = set()
    with progress(sum(files_per_split), "WHAM! noise twin") as bar:
        for s, (split, count) in enumerate(zip(WHAM_SPLITS, files_per_split)):
            (writer.root / "wham_noise" / split).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                rng = np.random.default_rng([seed, TAG_WHAM, s, i])
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
                writer.wav(f"wham_noise/{split}/{name}", to_pcm16(audio), sample_rate)
                bar.update(1)
    logger.info("WHAM! noise twin: %s files in %s", files_per_split, writer.root)
    return writer.finish()
