"""ESC-50 preparation: JSON manifests of the train / valid / test folds.

Reads the layout of the official release (https://github.com/karolpiczak/ESC-50)::

    ESC-50-master/
    |-- audio/1-100032-A-0.wav ...      {fold}-{src}-{take}-{target}.wav, 44.1 kHz, 5 s
    `-- meta/esc50.csv                  filename,fold,target,category,esc10,src_file,take
"""

import logging
import re
from pathlib import Path

from data_prep.common import DatasetLayoutError, download_target, find_root, prepare_classification
from data_prep.download import ESC50_URL, download_and_extract

logger = logging.getLogger(__name__)

CSV = "meta/esc50.csv"
COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
LAYOUT = """\
<data_folder>/                       (or <data_folder>/ESC-50-master/)
|-- audio/
|   `-- {fold}-{src}-{take}-{target}.wav    e.g. 1-100032-A-0.wav (44.1 kHz, 5 s)
|-- meta/
|   `-- esc50.csv    columns: filename,fold,target,category,esc10,src_file,take
`-- ground_truth/{event,background}/<as under audio/>    (synthetic twins only)"""
HINT = f"Get it from {ESC50_URL} (or call prepare_esc50(..., download=True))."

_NAME = re.compile(r"^(\d+)-[^-]+-[^-]+-(\d+)\.wav$", re.IGNORECASE)


def _parse_row(row):
    """``(file under audio/, fold, label, class name)`` of one ``esc50.csv`` row."""
    filename = row["filename"].strip()
    fold, label, category = int(row["fold"]), int(row["target"]), row["category"].strip()
    if not filename or not category:
        raise ValueError("empty filename or category")
    match = _NAME.match(filename)
    if match and (int(match.group(1)), int(match.group(2))) != (fold, label):
        raise ValueError(
            f"{filename} is named {{fold}}-{{src}}-{{take}}-{{target}} with fold "
            f"{match.group(1)} and target {match.group(2)}, but the row says fold {fold}, "
            f"target {label}"
        )
    return filename, fold, label, category


def _parse_esc10_row(row):
    """:func:`_parse_row` for the rows of the ESC-10 subset (``esc10`` column True), else None."""
    if row["esc10"].strip().lower() != "true":
        return None
    return _parse_row(row)


def prepare_esc50(
    data_folder,
    save_folder,
    train_folds=(1, 2, 3),
    valid_folds=(4,),
    test_folds=(5,),
    download=False,
    esc10=False,
    *,
    url=ESC50_URL,
):
    """Write the ESC-50 manifests ``train.json``, ``valid.json`` and ``test.json``.

    Idempotent: the manifests are rebuilt only when the csv, the audio files (set, size, mtime)
    or the fold options changed since the last call; otherwise they are reused.

    Arguments
    ---------
    data_folder : str or Path
        The ESC-50 folder (holding ``audio/`` and ``meta/``), or a folder containing it (e.g.
        the folder where ``ESC-50-master/`` was unpacked).
    save_folder : str or Path
        Where the manifests go.
    train_folds, valid_folds, test_folds : int or iterable of int
        Folds of each split (paper: 1-3 / 4 / 5). A fold may be in one split only.
    download : bool
        Download and unpack ``url`` into ``data_folder`` when no ESC-50 is found there.
    esc10 : bool
        Keep only the ESC-10 subset (rows whose ``esc10`` column is True: 10 classes).
    url : str
        The archive to download: an ``http(s)`` URL or a local path.

    Returns
    -------
    dict
        ``{"train": path, "valid": path, "test": path}`` of the JSON manifests. Each item
        (keyed by file stem) has ``wav`` (absolute path), ``label`` (``target``), ``class_name``
        (``category``), ``fold``, ``duration`` (s), ``sample_rate``, ``channels``, plus
        ``event_wav`` and ``background_wav`` when the folder has ``ground_truth/``.

    Raises
    ------
    DatasetLayoutError
        Missing or malformed dataset, or inconsistent fold options.

    Example
    -------
    >>> import json, shutil, tempfile
    >>> from lmac_brain.synthetic import make_esc50_twin
    >>> tmp = Path(tempfile.mkdtemp())
    >>> root = make_esc50_twin(tmp / "esc", n_classes=2, clips_per_class_per_fold=1,
    ...                        signal_length_s=0.2, sample_rate=8000)
    >>> paths = prepare_esc50(root, tmp / "manifests")
    >>> sorted(paths)
    ['test', 'train', 'valid']
    >>> train = json.load(open(paths["train"]))
    >>> len(train), sorted(next(iter(train.values())))[:4]
    (6, ['background_wav', 'channels', 'class_name', 'duration'])
    >>> shutil.rmtree(tmp)
    """
    root = find_root(data_folder, CSV)
    if root is None and download:
        download_and_extract(url, download_target(data_folder, "ESC-50-master"))
        root = find_root(data_folder, CSV)
    if root is None:
        raise DatasetLayoutError(
            f"ESC-50: metadata file not found: {Path(data_folder).absolute() / CSV} "
            f"(nor in a sub-folder of {Path(data_folder).absolute()})",
            Path(data_folder).absolute() / CSV,
            LAYOUT,
            HINT,
        )
    return prepare_classification(
        name="esc50",
        dataset="ESC-50",
        root=root,
        csv_path=root / CSV,
        columns=COLUMNS,
        parse_row=_parse_esc10_row if esc10 else _parse_row,
        splits={"train": train_folds, "valid": valid_folds, "test": test_folds},
        save_folder=save_folder,
        layout=LAYOUT,
        subset="esc10" if esc10 else None,
    )
