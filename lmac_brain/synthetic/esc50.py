"""The ESC-50 twin: the ESC-50 folder layout with synthetic sound-event classes."""

import logging

import numpy as np

from lmac_brain.synthetic.checks import check_positive, check_range, check_seed
from lmac_brain.synthetic.events import EVENT_CLASSES, check_n_classes
from lmac_brain.synthetic.ground_truth import CLIP_FOLDERS, write_clip, write_events
from lmac_brain.synthetic.render import (
    BACKGROUND_DBFS_RANGE,
    EVENT_FRACTION_RANGE,
    MAX_DISTRACTORS,
    SNR_DB_RANGE,
    render_clip,
)
from lmac_brain.synthetic.seeds import CLIP, META, TAG_ESC50
from lmac_brain.synthetic.sources import takes, unique_ids
from lmac_brain.synthetic.writer import TwinWriter, csv_bytes, progress

logger = logging.getLogger(__name__)

ESC50_FOLDS = 5


def make_esc50_twin(root, n_classes=10, clips_per_class_per_fold=8, signal_length_s=5.0,
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

    Every clip lasts exactly ``signal_length_s``. ``src_file`` is a 6-digit source id; a source
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
    signal_length_s : float
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
    ...                        signal_length_s=0.5, sample_rate=16000)
    >>> open(root / "meta" / "esc50.csv").readline().strip()
    'filename,fold,target,category,esc10,src_file,take'
    >>> wavs = sorted((root / "audio").glob("*.wav"))
    >>> len(wavs), sf.info(str(wavs[0])).samplerate, sf.info(str(wavs[0])).frames
    (10, 16000, 8000)
    """
    check_n_classes(n_classes)
    check_positive("clips_per_class_per_fold", clips_per_class_per_fold)
    check_positive("signal_length_s", signal_length_s)
    check_positive("sample_rate", sample_rate, 1000)
    check_seed(seed)
    n_classes, cpf, sample_rate, seed = int(n_classes), int(clips_per_class_per_fold), \
        int(sample_rate), int(seed)
    n = int(round(signal_length_s * sample_rate))
    check_range("snr_db_range", snr_db_range)
    check_range("event_fraction_range", event_fraction_range, 0.0, 1.0)
    if int(max_distractors) != max_distractors or max_distractors < 0:
        raise ValueError(f"max_distractors must be a non-negative integer, got {max_distractors!r}")
    difficulty = dict(snr_db_range=[float(v) for v in snr_db_range],
                      event_fraction_range=[float(v) for v in event_fraction_range],
                      max_distractors=int(max_distractors))
    params = dict(n_classes=n_classes, clips_per_class_per_fold=cpf, signal_length_s=signal_length_s,
                  sample_rate=sample_rate, seed=seed, classes=list(EVENT_CLASSES[:n_classes]),
                  background_dbfs_range=list(BACKGROUND_DBFS_RANGE), **difficulty)
    writer = TwinWriter(root, "ESC-50", params, CLIP_FOLDERS)

    meta_rng = np.random.default_rng([seed, TAG_ESC50, META])
    clips = [[fold, target, k, None, "ABC"[take]]  # (fold, target, k, src, take)
             for fold, target, k, take in takes(meta_rng, ESC50_FOLDS, n_classes, cpf)]
    sources = unique_ids(meta_rng, sum(c[4] == "A" for c in clips), 100000, 1000000)
    src_iter = iter(sources)
    for clip in clips:
        if clip[4] == "A":
            src = next(src_iter)
        clip[3] = src

    rows, events = [], []
    with progress(len(clips), "ESC-50 twin") as bar:
        for fold, target, k, src, take in clips:
            rng = np.random.default_rng([seed, TAG_ESC50, CLIP, fold, target, k])
            rendered = render_clip(rng, target, n, sample_rate, 1, **difficulty)
            name = f"{fold}-{src}-{take}-{target}.wav"
            events.append(write_clip(writer, name, target, rendered, sample_rate, 1))
            rows.append([name, fold, target, EVENT_CLASSES[target], str(target % 2 == 0),
                         src, take])
            bar.update(1)
    rows.sort(key=lambda r: r[0])
    writer.text("meta/esc50.csv", csv_bytes(
        ["filename", "fold", "target", "category", "esc10", "src_file", "take"], rows))
    write_events(writer, events)
    logger.info("ESC-50 twin: %d clips of %d classes in %s", len(rows), n_classes, writer.root)
    return writer.finish()
