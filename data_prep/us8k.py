"""UrbanSound8K preparation: JSON manifests of the train / valid / test folds.

Reads the layout of the official release (``UrbanSound8K.tar.gz``)::

    UrbanSound8K/
    |-- audio/fold1 ... fold10/100032-3-0-0.wav ...   mixed rates, mono or stereo, <= 4 s
    `-- metadata/UrbanSound8K.csv   slice_file_name,fsID,start,end,salience,fold,classID,class

The dataset is distributed after a sign-up, so it is never downloaded here.
"""

import logging
import re
from pathlib import Path

from data_prep.common import DatasetLayoutError, find_root, prepare_classification

logger = logging.getLogger(__name__)

CSV = "metadata/UrbanSound8K.csv"
COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class")
URL = "https://urbansounddataset.weebly.com/urbansound8k.html"
LAYOUT = """\
<data_folder>/                       (or <data_folder>/UrbanSound8K/)
|-- audio/
|   |-- fold1/
|   |   `-- {fsID}-{classID}-{occurrenceID}-{sliceID}.wav   e.g. 100032-3-0-0.wav
|   `-- ... fold10/
|-- metadata/
|   `-- UrbanSound8K.csv    columns: slice_file_name,fsID,start,end,salience,fold,classID,class
`-- ground_truth/{event,background}/<as under audio/>    (synthetic twins only)"""
HINT = (
    "UrbanSound8K is distributed after a sign-up and cannot be downloaded automatically: "
    f"request it at {URL}, then unpack UrbanSound8K.tar.gz (it unpacks to UrbanSound8K/ with "
    "the layout above) and pass that folder, or the folder holding it, as data_folder."
)

_NAME = re.compile(r"^(\d+)-(\d+)-\d+-\d+\.wav$", re.IGNORECASE)


def _parse_row(row):
    """``(path under audio/, fold, label, class name)`` of one ``UrbanSound8K.csv`` row."""
    filename = row["slice_file_name"].strip()
    fold, label, name = int(row["fold"]), int(row["classID"]), row["class"].strip()
    if not filename or not name:
        raise ValueError("empty slice_file_name or class")
    match = _NAME.match(filename)
    if match and int(match.group(2)) != label:
        raise ValueError(
            f"{filename} is named {{fsID}}-{{classID}}-... with classID {match.group(2)}, "
            f"but the row says classID {label}"
        )
    return f"fold{fold}/{filename}", fold, label, name


def prepare_us8k(
    data_folder,
    save_folder,
    train_folds=tuple(range(1, 9)),
    valid_folds=(9,),
    test_folds=(10,),
):
    """Write the UrbanSound8K manifests ``{train,valid,test}.json``.

    Idempotent: the manifests are rebuilt only when the csv, the audio files (set, size, mtime)
    or the fold options changed since the last call; otherwise they are reused.

    Arguments
    ---------
    data_folder : str or Path
        The UrbanSound8K folder (holding ``audio/`` and ``metadata/``) or the folder containing it.
    save_folder : str or Path
        Where the manifests go.
    train_folds, valid_folds, test_folds : int or iterable of int
        Folds of each split (default 1-8 / 9 / 10). A fold may be in one split only.

    Returns
    -------
    dict
        ``{"train": path, "valid": path, "test": path}`` of the JSON manifests. Each item
        (keyed by file stem) has ``wav`` (absolute path), ``label`` (``classID``),
        ``class_name`` (``class``), ``fold``, ``duration`` (s), ``sample_rate``, ``channels``,
        plus ``event_wav`` and ``background_wav`` when the folder has ``ground_truth/``.

    Raises
    ------
    DatasetLayoutError
        Missing or malformed dataset (the message says where to get it), or inconsistent folds.

    Example
    -------
    >>> import json, shutil, tempfile
    >>> from lmac_brain.synthetic import make_us8k_twin
    >>> tmp = Path(tempfile.mkdtemp())
    >>> root = make_us8k_twin(tmp / "us8k", n_classes=2, clips_per_class_per_fold=1,
    ...                       max_seconds=0.2)
    >>> paths = prepare_us8k(root, tmp / "manifests")
    >>> [len(json.load(open(paths[s]))) for s in ("train", "valid", "test")]
    [16, 2, 2]
    >>> from data_prep.common import manifest_classes
    >>> len(manifest_classes(paths.values()))
    2
    >>> shutil.rmtree(tmp)
    """
    root = find_root(data_folder, CSV)
    if root is None:
        raise DatasetLayoutError(
            f"UrbanSound8K: metadata file not found: {Path(data_folder).absolute() / CSV} "
            f"(nor in a sub-folder of {Path(data_folder).absolute()})",
            Path(data_folder).absolute() / CSV,
            LAYOUT,
            HINT,
        )
    return prepare_classification(
        name="us8k",
        dataset="UrbanSound8K",
        root=root,
        csv_path=root / CSV,
        columns=COLUMNS,
        parse_row=_parse_row,
        splits={"train": train_folds, "valid": valid_folds, "test": test_folds},
        save_folder=save_folder,
        layout=LAYOUT,
    )
