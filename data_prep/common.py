"""Shared pieces of the dataset preparation: layout errors, audio checks, cached manifests.

Every ``prepare_*`` function follows the same steps:

1. locate the dataset root (the folder given or a sub-folder of it), downloading it when allowed;
2. compute a signature of its inputs (metadata content, the set, size and mtime of the audio
   files, the options) and return the existing manifests when the sidecar in ``save_folder``
   holds the same signature and the manifests on disk are the ones it wrote;
3. otherwise validate everything (one :class:`DatasetLayoutError` naming the offending path and
   showing the expected layout), then write the manifests atomically and the sidecar last.

Audio is not decoded here: :mod:`lmac_brain.audio.reading` resamples, downmixes and pads/crops at load
time, so preparation only checks that every file is readable (``soundfile.info``) and records its
duration, sample rate and channel count.
"""

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import soundfile as sf

logger = logging.getLogger(__name__)

#: Bumped whenever the manifest format changes, so that old manifests are rebuilt.
PREP_VERSION = 2

#: Files listed in an error message before it says "... and N more".
MAX_LISTED = 5


class DatasetLayoutError(RuntimeError):
    """A dataset folder that is missing or does not have the expected layout.

    The message names the offending path and, when given, shows the expected layout.

    Arguments
    ---------
    message : str
        What is wrong, including the offending path.
    path : str or Path, optional
        The offending path (kept as the ``path`` attribute).
    layout : str, optional
        The expected layout, a short ASCII tree.
    hint : str, optional
        Where to get the dataset, or how to fix the problem.

    Example
    -------
    >>> err = DatasetLayoutError("missing csv: /d/meta/x.csv", "/d/meta/x.csv", "d/\\n`-- meta/")
    >>> print(err)
    missing csv: /d/meta/x.csv
    Expected layout:
      d/
      `-- meta/
    >>> err.path
    '/d/meta/x.csv'
    """

    def __init__(self, message, path=None, layout=None, hint=None):
        self.path = None if path is None else str(path)
        self.layout = layout
        self.hint = hint
        text = message
        if layout:
            text += "\nExpected layout:\n" + "\n".join("  " + line for line in layout.splitlines())
        if hint:
            text += "\n" + hint
        super().__init__(text)


def list_paths(paths, limit=MAX_LISTED):
    """Format a few paths for an error message, one per line, with a count of the rest.

    Example
    -------
    >>> print(list_paths(["a", "b", "c"], limit=2))
      a
      b
      ... and 1 more
    """
    paths = [str(p) for p in paths]
    lines = ["  " + p for p in paths[:limit]]
    if len(paths) > limit:
        lines.append(f"  ... and {len(paths) - limit} more")
    return "\n".join(lines)


def as_folds(folds):
    """Normalise a fold option (an int, an iterable of ints, or ``None``) to a sorted tuple.

    Example
    -------
    >>> as_folds(3), as_folds([2, 1, 2]), as_folds(None)
    ((3,), (1, 2), ())
    """
    if folds is None:
        return ()
    if isinstance(folds, (int, str)):
        folds = [folds]
    return tuple(sorted({int(f) for f in folds}))


def check_split_folds(splits, available, source, layout=None):
    """Check fold options: no fold in two splits, every requested fold has items.

    Arguments
    ---------
    splits : dict
        Split name -> folds (anything :func:`as_folds` accepts).
    available : iterable of int
        The folds that have items in the metadata.
    source : str or Path
        The metadata file, named in the error.
    layout : str, optional
        The expected layout shown in the error.

    Returns
    -------
    dict
        Split name -> tuple of folds.

    Example
    -------
    >>> check_split_folds({"train": [1, 2], "test": 3}, {1, 2, 3}, "meta.csv")
    {'train': (1, 2), 'test': (3,)}
    >>> check_split_folds({"train": [1, 2], "test": 2}, {1, 2}, "x.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    data_prep.common.DatasetLayoutError: fold 2 is listed in two splits (train and test); ...
    """
    splits = {name: as_folds(folds) for name, folds in splits.items()}
    owner = {}
    for name, folds in splits.items():
        for fold in folds:
            if fold in owner:
                raise DatasetLayoutError(
                    f"fold {fold} is listed in two splits ({owner[fold]} and {name}); "
                    f"each fold may belong to one split only (folds in {source})",
                    source,
                )
            owner[fold] = name
    available = set(available)
    empty = sorted(f for f in owner if f not in available)
    if empty:
        raise DatasetLayoutError(
            f"fold(s) {empty} requested (as {', '.join(owner[f] for f in empty)}) have no items "
            f"in {source}; folds present: {sorted(available)}",
            source,
            layout,
        )
    for name, folds in splits.items():
        if not folds:
            logger.warning("No folds given for split %r: its manifest will be empty", name)
    return splits


def audio_info(path):
    """Return ``(duration_s, sample_rate, channels)`` of an audio file, or raise ``ValueError``.

    Only the header is read (``soundfile.info``); a file with no samples is an error.
    """
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises several types for bad files
        raise ValueError(f"{path}: unreadable audio ({err})") from err
    if info.frames <= 0 or info.samplerate <= 0:
        raise ValueError(f"{path}: no samples")
    return info.frames / info.samplerate, int(info.samplerate), int(info.channels)


def check_audio_files(paths, dataset, layout=None):
    """Check that every path exists and is readable audio; return ``{path: (dur, sr, ch)}``.

    All files are checked first, then ONE :class:`DatasetLayoutError` lists the missing ones (if
    any) or else the unreadable ones.
    """
    missing, unreadable, infos = [], [], {}
    for path in paths:
        if not os.path.isfile(path):
            missing.append(path)
            continue
        try:
            infos[path] = audio_info(path)
        except ValueError as err:
            unreadable.append(str(err))
    if missing:
        raise DatasetLayoutError(
            f"{dataset}: {len(missing)} audio file(s) listed in the metadata do not exist, "
            f"e.g. {missing[0]}:\n{list_paths(missing)}",
            missing[0],
            layout,
        )
    if unreadable:
        raise DatasetLayoutError(
            f"{dataset}: {len(unreadable)} audio file(s) cannot be read as audio, "
            f"e.g. {unreadable[0]}:\n{list_paths(unreadable)}",
            unreadable[0].split(": ", 1)[0],
            layout,
        )
    return infos


def find_root(data_folder, marker):
    """Return the dataset root: ``data_folder`` or one of its sub-folders holding ``marker``.

    Arguments
    ---------
    data_folder : str or Path
        The folder the user gave.
    marker : str
        A path relative to the dataset root that identifies it (e.g. ``"meta/esc50.csv"``).

    Returns
    -------
    Path or None
        ``None`` when neither the folder nor one of its direct sub-folders holds ``marker``.
    """
    data_folder = Path(data_folder)
    if (data_folder / marker).exists():
        return data_folder
    if data_folder.is_dir():
        for child in sorted(data_folder.iterdir()):
            if child.is_dir() and not child.name.startswith(".") and (child / marker).exists():
                return child
    return None


def download_target(data_folder, archive_root):
    """Folder to extract an archive into, given the user's ``data_folder``.

    An archive that unpacks to ``archive_root/`` goes into the parent when ``data_folder`` is
    itself named ``archive_root`` (the user gave the dataset folder, not the folder holding it).

    Example
    -------
    >>> str(download_target("/data/LJSpeech-1.1", "LJSpeech-1.1"))
    '/data'
    >>> str(download_target("/data", "LJSpeech-1.1"))
    '/data'
    """
    data_folder = Path(data_folder)
    return data_folder.parent if data_folder.name == archive_root else data_folder


def wav_files(folder, recursive=True):
    """Sorted ``.wav`` files under ``folder`` (case-insensitive suffix), skipping hidden names."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p for p in pattern
        if p.suffix.lower() == ".wav" and not p.name.startswith(".") and p.is_file()
    )


def file_stats(paths, root):
    """``[relative path, size, mtime_ns]`` of each file: the cheap fingerprint of a file set."""
    root = Path(root)
    rows = []
    for path in paths:
        st = os.stat(path)
        rows.append([Path(path).relative_to(root).as_posix(), st.st_size, st.st_mtime_ns])
    return rows


def file_sha256(path):
    """SHA-256 hex digest of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def signature(**inputs):
    """Hash of JSON-serialisable inputs (plus :data:`PREP_VERSION`).

    Example
    -------
    >>> signature(folds=[1, 2]) == signature(folds=[1, 2]) != signature(folds=[1, 3])
    True
    """
    blob = json.dumps({"version": PREP_VERSION, **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def write_json_atomic(path, obj):
    """Write ``obj`` as JSON to ``path`` via a temporary file and ``os.replace``.

    A concurrent reader sees either the old file or the complete new one, never half of it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(obj, handle, indent=2, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def sidecar_path(save_folder, name):
    """The signature sidecar of dataset ``name`` in ``save_folder``."""
    return Path(save_folder) / f"{name}_prep_signature.json"


def manifests_up_to_date(save_folder, name, sig, outputs):
    """True when the sidecar holds ``sig`` and every output still has the content it wrote.

    Arguments
    ---------
    save_folder : str or Path
        Where the manifests and the sidecar are.
    name : str
        Dataset name (names the sidecar).
    sig : str
        The signature of the current inputs.
    outputs : iterable of str or Path
        The manifest files this preparation writes.
    """
    side = sidecar_path(save_folder, name)
    try:
        with open(side, encoding="utf-8") as handle:
            stored = json.load(handle)
    except (OSError, ValueError):
        return False
    if not isinstance(stored, dict) or stored.get("signature") != sig:
        return False
    hashes = stored.get("outputs", {})
    for out in outputs:
        out = Path(out)
        if not out.is_file() or hashes.get(out.name) != file_sha256(out):
            return False
    return True


def write_manifests(save_folder, name, sig, manifests):
    """Write each ``{file name: object}`` atomically, then the sidecar holding ``sig``.

    Returns ``{file name: absolute path}``. The sidecar comes last, so an interrupted
    preparation is redone on the next call.
    """
    save_folder = Path(save_folder).absolute()
    save_folder.mkdir(parents=True, exist_ok=True)
    side = sidecar_path(save_folder, name)
    if side.exists():
        side.unlink()  # the manifests are about to change: invalidate first
    paths, hashes = {}, {}
    for filename, obj in manifests.items():
        path = save_folder / filename
        write_json_atomic(path, obj)
        paths[filename] = str(path)
        hashes[filename] = file_sha256(path)
    write_json_atomic(side, {"signature": sig, "outputs": hashes})
    return paths


def skip_message(name, save_folder):
    """Log that the manifests of ``name`` are reused."""
    logger.info("%s: skipping, manifests up to date in %s", name, save_folder)


def read_csv_rows(csv_path, columns, dataset, layout=None, **reader_options):
    """Read a metadata csv with a header into a list of ``(line number, row dict)``.

    Raises :class:`DatasetLayoutError` for a missing or unreadable file, missing columns or a
    file without rows.
    """
    import csv

    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DatasetLayoutError(
            f"{dataset}: metadata file not found: {csv_path}", csv_path, layout
        )
    try:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, **reader_options)
            header = [c.strip() for c in (reader.fieldnames or [])]
            missing = [c for c in columns if c not in header]
            if missing:
                raise DatasetLayoutError(
                    f"{dataset}: {csv_path} lacks column(s) {missing}; its header is {header}, "
                    f"expected columns {list(columns)}",
                    csv_path,
                    layout,
                )
            reader.fieldnames = header
            rows = [(reader.line_num, row) for row in reader]
    except (UnicodeDecodeError, csv.Error) as err:
        raise DatasetLayoutError(
            f"{dataset}: cannot parse {csv_path} as csv: {err}", csv_path, layout
        ) from err
    if not rows:
        raise DatasetLayoutError(f"{dataset}: {csv_path} has no rows", csv_path, layout)
    return rows


def check_classes(items, csv_path, dataset, layout=None):
    """Class names by class index, from ``(index, class_name)`` pairs of every item.

    Each index must have one name and each name one index; the indices need not be 0..K-1
    (a subset of the classes is fine: the recipes' label encoder numbers them).

    Example
    -------
    >>> check_classes([(19, "dog"), (0, "rain"), (19, "dog")], "m.csv", "X")
    {0: 'rain', 19: 'dog'}
    """
    names, labels = {}, {}
    for label, name in items:
        known_name, known_label = names.setdefault(label, name), labels.setdefault(name, label)
        if known_name != name or known_label != label:
            clash = (
                f"label {label} is given to classes {known_name!r} and {name!r}"
                if known_name != name
                else f"class {name!r} has labels {known_label} and {label}"
            )
            raise DatasetLayoutError(
                f"{dataset}: in {csv_path}, {clash}; each class must have one name and one label",
                csv_path,
                layout,
            )
    return dict(sorted(names.items()))


def manifest_classes(manifest_paths):
    """Class names of the items of split manifests, ordered by the dataset's class index.

    Example
    -------
    >>> import json, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.json")
    >>> json.dump({"a": {"label": 43, "class_name": "wind"}, "b": {"label": 0, "class_name": "dog"}},
    ...           open(path, "w"))
    >>> manifest_classes([path])
    ['dog', 'wind']
    """
    names = {}
    for path in manifest_paths:
        with open(path, encoding="utf-8") as f:
            for entry in json.load(f).values():
                names[int(entry["label"])] = entry["class_name"]
    return [names[label] for label in sorted(names)]


def prepare_classification(
    *, name, dataset, root, csv_path, columns, parse_row, splits, save_folder, layout, subset=None
):
    """Build the split manifests of a folded classification dataset.

    Arguments
    ---------
    name : str
        Short dataset name (names the signature sidecar), e.g. ``"esc50"``.
    dataset : str
        Display name used in messages, e.g. ``"ESC-50"``.
    root : Path
        The dataset root holding ``audio/`` and the metadata.
    csv_path : Path
        The metadata csv.
    columns : tuple of str
        The columns the csv must have.
    parse_row : callable
        ``row dict -> (path relative to audio/, fold, label, class name)`` or ``None`` for a row
        to leave out (e.g. outside a subset); raises ``ValueError`` for a malformed row.
    splits : dict
        Split name -> folds.
    save_folder : str or Path
        Where the manifests go: ``<split>.json``.
    layout : str
        Expected layout (ASCII tree) shown in errors.
    subset : str, optional
        Name of the subset ``parse_row`` keeps (part of the manifests' signature).

    Returns
    -------
    dict
        Split name -> absolute path of its JSON manifest.
    """
    root = Path(root).absolute()
    csv_path = Path(csv_path).absolute()
    save_folder = Path(save_folder).absolute()
    audio_dir = root / "audio"
    gt_dir = root / "ground_truth"
    if not csv_path.is_file():
        raise DatasetLayoutError(
            f"{dataset}: metadata file not found: {csv_path}", csv_path, layout
        )
    audio = wav_files(audio_dir)
    if not audio:
        raise DatasetLayoutError(
            f"{dataset}: no .wav files in {audio_dir}", audio_dir, layout
        )
    splits = {split: as_folds(folds) for split, folds in splits.items()}
    outputs = [save_folder / f"{split}.json" for split in splits]
    sig = signature(
        root=str(root),
        csv=[file_sha256(csv_path), *file_stats([csv_path], root)[0]],
        audio=file_stats(audio, root),
        ground_truth=file_stats(wav_files(gt_dir), root),
        splits=splits,
        subset=subset,
        save_folder=str(save_folder),
    )
    if manifests_up_to_date(save_folder, name, sig, outputs):
        skip_message(dataset, save_folder)
        return {split: str(save_folder / f"{split}.json") for split in splits}

    logger.info("%s: preparing manifests from %s into %s", dataset, root, save_folder)
    items, seen = [], {}
    for line, row in read_csv_rows(csv_path, columns, dataset, layout):
        try:
            parsed = parse_row(row)
        except (ValueError, TypeError) as err:
            raise DatasetLayoutError(
                f"{dataset}: malformed row at line {line} of {csv_path}: {err}", csv_path, layout
            ) from err
        if parsed is None:
            continue
        rel, fold, label, class_name = parsed
        item_id = Path(rel).stem
        if item_id in seen:
            raise DatasetLayoutError(
                f"{dataset}: {csv_path} lists {item_id!r} twice (lines {seen[item_id]} and {line})",
                csv_path,
                layout,
            )
        seen[item_id] = line
        items.append((item_id, rel, fold, label, class_name))
    classes = check_classes([(it[3], it[4]) for it in items], csv_path, dataset, layout)
    splits = check_split_folds(splits, {it[2] for it in items}, csv_path, layout)
    fold_split = {fold: split for split, folds in splits.items() for fold in folds}
    used = [it for it in items if it[2] in fold_split]

    wavs = [str(audio_dir / it[1]) for it in used]
    infos = check_audio_files(wavs, dataset, layout)
    with_gt = gt_dir.is_dir()
    if with_gt:
        events = [str(gt_dir / "event" / it[1]) for it in used]
        backgrounds = [str(gt_dir / "background" / it[1]) for it in used]
        check_audio_files(events + backgrounds, f"{dataset} ground truth", layout)

    manifests = {f"{split}.json": {} for split in splits}
    for k, (item_id, rel, fold, label, class_name) in enumerate(used):
        duration, rate, channels = infos[wavs[k]]
        entry = {
            "wav": wavs[k],
            "label": label,
            "class_name": class_name,
            "fold": fold,
            "duration": duration,
            "sample_rate": rate,
            "channels": channels,
        }
        if with_gt:
            entry["event_wav"] = events[k]
            entry["background_wav"] = backgrounds[k]
        manifests[f"{fold_split[fold]}.json"][item_id] = entry
    paths = write_manifests(save_folder, name, sig, manifests)
    logger.info(
        "%s: %d classes; %s",
        dataset,
        len(classes),
        ", ".join(f"{split} {len(manifests[f'{split}.json'])} items" for split in splits),
    )
    return {split: paths[f"{split}.json"] for split in splits}


def audio_manifest(wavs, dataset, layout=None, extra=None):
    """``{stem: {"wav", "duration", "sample_rate", "channels", **extra[stem]}}`` for ``wavs``.

    Every file is checked with :func:`check_audio_files`; two files with one stem are an error.
    """
    wavs = [str(Path(w).absolute()) for w in wavs]
    infos = check_audio_files(wavs, dataset, layout)
    manifest = {}
    for wav in wavs:
        stem = Path(wav).stem
        if stem in manifest:
            raise DatasetLayoutError(
                f"{dataset}: two files share the id {stem!r}: {manifest[stem]['wav']} and {wav}",
                wav,
                layout,
            )
        duration, rate, channels = infos[wav]
        manifest[stem] = {
            "wav": wav, "duration": duration, "sample_rate": rate, "channels": channels,
            **(extra or {}).get(stem, {}),
        }
    return manifest
