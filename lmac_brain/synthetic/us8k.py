"""The UrbanSound8K twin: the UrbanSound8K folder layout with synthetic sound-event classes.

As in the real dataset the files have mixed sample rates, channel counts and durations; these
are drawn independently of the class, too.
"""

import logging
import math

import numpy as np

from lmac_brain.synthetic.checks import check_positive, check_seed
from lmac_brain.synthetic.events import EVENT_CLASSES, check_n_classes
from lmac_brain.synthetic.ground_truth import CLIP_FOLDERS, write_clip, write_events
from lmac_brain.synthetic.render import BACKGROUND_DBFS_RANGE, SNR_DB_RANGE, render_clip
from lmac_brain.synthetic.seeds import CLIP, META, TAG_US8K
from lmac_brain.synthetic.sources import takes, unique_ids
from lmac_brain.synthetic.writer import TwinWriter, csv_bytes, progress

logger = logging.getLogger(__name__)

US8K_FOLDS = 10

#: Sample rates of the UrbanSound8K twin (assigned in equal shares over the clips).
US8K_SAMPLE_RATES = (16000, 22050, 44100, 48000)

#: Share of UrbanSound8K twin clips that are stereo, and of those shorter than ``max_seconds``.
US8K_STEREO_SHARE = 1 / 3
US8K_SHORT_SHARE = 1 / 3


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
    check_n_classes(n_classes)
    check_positive("clips_per_class_per_fold", clips_per_class_per_fold)
    check_positive("max_seconds", max_seconds)
    check_seed(seed)
    n_classes, cpf, seed = int(n_classes), int(clips_per_class_per_fold), int(seed)
    params = dict(n_classes=n_classes, clips_per_class_per_fold=cpf, max_seconds=max_seconds,
                  seed=seed, snr_db_range=list(SNR_DB_RANGE),
                  background_dbfs_range=list(BACKGROUND_DBFS_RANGE),
                  classes=list(EVENT_CLASSES[:n_classes]))
    writer = TwinWriter(root, "UrbanSound8K", params, CLIP_FOLDERS)
    for fold in range(1, US8K_FOLDS + 1):
        (writer.root / "audio" / f"fold{fold}").mkdir(parents=True, exist_ok=True)

    meta_rng = np.random.default_rng([seed, TAG_US8K, META])
    clips = takes(meta_rng, US8K_FOLDS, n_classes, cpf)  # slice index within its source last
    total = len(clips)
    n_sources = sum(c[3] == 0 for c in clips)
    fs_ids = iter(unique_ids(meta_rng, n_sources, 1000, 200000))
    rates = np.array(US8K_SAMPLE_RATES)[meta_rng.permutation(total) % len(US8K_SAMPLE_RATES)]
    stereo = meta_rng.permutation(total) < round(US8K_STEREO_SHARE * total)
    short = meta_rng.permutation(total) < round(US8K_SHORT_SHARE * total)
    short_frac = meta_rng.uniform(0.3, 0.95, total)
    salience = meta_rng.integers(1, 3, total)

    rows, events = [], []
    with progress(total, "UrbanSound8K twin") as bar:
        for i, (fold, target, k, slice_idx) in enumerate(clips):
            if slice_idx == 0:
                fs_id, occurrence = next(fs_ids), int(meta_rng.integers(0, 2))
                source_start = round(float(meta_rng.uniform(0.0, 60.0)), 6)
            sr = int(rates[i])
            seconds = max_seconds * (short_frac[i] if short[i] else 1.0)
            n = max(2, int(math.floor(seconds * sr + 1e-9)))
            channels = 2 if stereo[i] else 1
            rng = np.random.default_rng([seed, TAG_US8K, CLIP, fold, target, k])
            rendered = render_clip(rng, target, n, sr, channels)
            name = f"{fs_id}-{target}-{occurrence}-{slice_idx}.wav"
            events.append(write_clip(writer, f"fold{fold}/{name}", target, rendered, sr, channels))
            start = source_start + slice_idx * max_seconds
            rows.append([name, fs_id, round(start, 6), round(start + n / sr, 6),
                         int(salience[i]), fold, target, EVENT_CLASSES[target]])
            bar.update(1)
    rows.sort(key=lambda r: r[0])
    writer.text("metadata/UrbanSound8K.csv", csv_bytes(
        ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"],
        rows))
    write_events(writer, events)
    logger.info("UrbanSound8K twin: %d clips of %d classes in %s", total, n_classes, writer.root)
    return writer.finish()
