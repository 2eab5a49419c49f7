"""The LJSpeech twin: speech-like utterances and their texts in the LJSpeech 1.1 layout."""

import logging

import numpy as np

from lmac_brain.synthetic.checks import check_positive, check_seed
from lmac_brain.synthetic.render import to_pcm16
from lmac_brain.synthetic.seeds import CLIP, META, TAG_LJSPEECH
from lmac_brain.synthetic.speech import speech_like
from lmac_brain.synthetic.writer import TwinWriter, progress

logger = logging.getLogger(__name__)

#: Sample rate of the LJSpeech twin (as the real corpus).
LJSPEECH_SAMPLE_RATE = 22050

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

    The audio is speech-like (:func:`lmac_brain.synthetic.speech.speech_like`), with f0 160-230 Hz as a female
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
    check_positive("n_files", n_files)
    check_positive("seconds", seconds)
    check_seed(seed)
    n_files, seed = int(n_files), int(seed)
    sr = LJSPEECH_SAMPLE_RATE
    n = max(2, int(round(seconds * sr)))
    params = dict(n_files=n_files, seconds=seconds, seed=seed)
    writer = TwinWriter(root, "LJSpeech-1.1", params, ["LJSpeech-1.1/wavs"])
    meta_rng = np.random.default_rng([seed, TAG_LJSPEECH, META])
    lines = []
    with progress(n_files, "LJSpeech twin") as bar:
        for i in range(n_files):
            uid = f"LJ{i // 300 + 1:03d}-{i % 300 + 1:04d}"
            rng = np.random.default_rng([seed, TAG_LJSPEECH, CLIP, i])
            audio = speech_like(rng, n, sr, f0_range=(160.0, 230.0)) * rng.uniform(0.5, 0.9)
            writer.wav(f"LJSpeech-1.1/wavs/{uid}.wav", to_pcm16(audio), sr)
            raw, norm = _sentence(meta_rng)
            lines.append(f"{uid}|{raw}|{norm}\n")
            bar.update(1)
    writer.text("LJSpeech-1.1/metadata.csv", "".join(lines).encode("utf-8"))
    logger.info("LJSpeech twin: %d utterances in %s", n_files, writer.root)
    return writer.finish()
