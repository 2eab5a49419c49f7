"""The inputs of an interpret run: :func:`collect_inputs` turns ``--input`` (an audio file, a
folder, or a SpeechBrain JSON/CSV manifest) into :class:`InputItem` s.

Each is read as a signal by :func:`lmac_brain.audio.reading.load_input`, which refuses what
cannot be explained (a missing, non-audio, corrupt, empty or silent file, or one with
non-finite samples).
"""

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from lmac_brain.errors import InputError

MANIFEST_SUFFIXES = (".json", ".csv")
"""An ``--input`` file with one of these suffixes is read as a manifest."""



@dataclass
class InputItem:
    """One input to explain: an id (used in file names), the file, and how the user named it."""

    id: str
    path: str
    source: str


def safe_id(text):
    """A file-name-safe id (letters, digits, ``-``, ``_``, ``.``), never empty.

    Example
    -------
    >>> safe_id("dogs/bark 1.wav")
    'dogs_bark_1.wav'
    >>> safe_id("../..")
    'item'
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._")
    return cleaned or "item"


def _unique(items):
    seen = {}
    for item in items:
        base = item.id
        count = seen.get(base, 0)
        seen[base] = count + 1
        if count:
            item.id = f"{base}_{count + 1}"
    return items


def collect_inputs(path):
    """The :class:`InputItem` s of ``path``: an audio file, a folder, or a manifest.

    - a folder: every regular, non-hidden file in it and its sub-folders, sorted (a file that
      is not audio is reported when it is read, not skipped silently);
    - a ``.json`` manifest: SpeechBrain's ``{id: {"wav": path, ...}}``;
    - a ``.csv`` manifest: a ``wav`` column (``path`` or ``file`` also accepted) and an
      optional ``ID`` column;
    - any other file: one input.

    Relative paths in a manifest are read relative to the manifest's folder when they do not
    exist relative to the working directory.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"--input {path} does not exist")
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise InputError(f"--input {path} is an empty folder")
        items = [
            InputItem(safe_id(str(p.relative_to(path).with_suffix(""))), str(p), str(p.relative_to(path)))
            for p in files
        ]
        return _unique(items)
    if path.suffix.lower() in MANIFEST_SUFFIXES:
        return _unique(read_manifest(path))
    return [InputItem(safe_id(path.stem), str(path), path.name)]


def _manifest_path(value, manifest):
    candidate = Path(str(value))
    if candidate.is_absolute() or candidate.exists():
        return str(candidate)
    return str(manifest.parent / candidate)


def read_manifest(path):
    """The items of a JSON or CSV manifest (see :func:`collect_inputs`)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if not isinstance(data, dict) or not all(isinstance(v, dict) and "wav" in v for v in data.values()):
                raise InputError(f"{path}: a JSON manifest maps ids to entries with a 'wav' path")
            entries = [(str(key), entry["wav"]) for key, entry in data.items()]
        else:
            with open(path, encoding="utf-8", newline="") as f:
                rows = list(csv.DictReader(f))
            column = next((c for c in ("wav", "path", "file") if rows and c in rows[0]), None)
            if column is None:
                raise InputError(f"{path}: a CSV manifest needs a 'wav' column")
            entries = [(row.get("ID") or row.get("id") or Path(row[column]).stem, row[column]) for row in rows]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as err:
        raise InputError(f"Cannot read the manifest {path}: {err}") from err
    if not entries:
        raise InputError(f"The manifest {path} lists no files")
    return [InputItem(safe_id(key), _manifest_path(wav, path), key) for key, wav in entries]
