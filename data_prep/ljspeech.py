"""LJSpeech preparation: one JSON manifest of every utterance (the speech contamination).

Reads the layout of the official release (``LJSpeech-1.1.tar.bz2``)::

    LJSpeech-1.1/
    |-- metadata.csv     LJ001-0001|transcription|normalized transcription   (no header)
    `-- wavs/LJ001-0001.wav ...
"""

import logging
from pathlib import Path

from data_prep.common import (
    DatasetLayoutError,
    audio_manifest,
    download_target,
    file_sha256,
    file_stats,
    find_root,
    manifests_up_to_date,
    signature,
    skip_message,
    wav_files,
    write_manifests,
)
from data_prep.download import LJSPEECH_URL, download_and_extract

logger = logging.getLogger(__name__)

METADATA = "metadata.csv"
MANIFEST = "ljspeech.json"
LAYOUT = """\
<data_folder>/
`-- LJSpeech-1.1/            (or pass LJSpeech-1.1/ itself as data_folder)
    |-- metadata.csv         id|transcription|normalized transcription   (no header)
    `-- wavs/
        `-- LJ001-0001.wav ..."""
HINT = f"Get it from {LJSPEECH_URL} (or call prepare_ljspeech(..., download=True))."


def _read_metadata(path):
    """``{id: normalized transcription}`` from ``metadata.csv`` (pipe separated, 3 fields)."""
    texts, lines = {}, {}
    try:
        with open(path, encoding="utf-8") as handle:
            rows = handle.read().splitlines()
    except UnicodeDecodeError as err:
        raise DatasetLayoutError(
            f"LJSpeech: {path} is not UTF-8 text: {err}", path, LAYOUT
        ) from err
    for number, line in enumerate(rows, start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 3 or not fields[0].strip():
            raise DatasetLayoutError(
                f"LJSpeech: malformed line {number} of {path}: expected "
                f"'id|transcription|normalized transcription', got {line[:80]!r}",
                path,
                LAYOUT,
            )
        item_id = fields[0].strip()
        if item_id in texts:
            raise DatasetLayoutError(
                f"LJSpeech: {path} lists {item_id!r} twice (lines {lines[item_id]} and {number})",
                path,
                LAYOUT,
            )
        texts[item_id], lines[item_id] = fields[2].strip(), number
    if not texts:
        raise DatasetLayoutError(f"LJSpeech: {path} has no rows", path, LAYOUT)
    return texts


def prepare_ljspeech(data_folder, save_folder, download=False, *, url=LJSPEECH_URL):
    """Write the LJSpeech manifest ``ljspeech.json``.

    Idempotent: rebuilt only when ``metadata.csv`` or the wav files (set, size, mtime) changed.

    Arguments
    ---------
    data_folder : str or Path
        The folder containing ``LJSpeech-1.1/``, or ``LJSpeech-1.1/`` itself.
    save_folder : str or Path
        Where the manifest goes.
    download : bool
        Download and unpack ``url`` when no LJSpeech is found.
    url : str
        The archive to download: an ``http(s)`` URL or a local path.

    Returns
    -------
    dict
        ``{"all": path}``; the manifest maps the utterance id to ``{"wav": absolute path,
        "duration": s, "sample_rate": int, "channels": int, "text": normalized transcription}``.

    Example
    -------
    >>> import json, shutil, tempfile
    >>> from lmac_brain.synthetic import make_ljspeech_twin
    >>> tmp = Path(tempfile.mkdtemp())
    >>> _ = make_ljspeech_twin(tmp, n_files=2, seconds=0.2)
    >>> manifest = json.load(open(prepare_ljspeech(tmp, tmp / "manifests")["all"]))
    >>> len(manifest), sorted(next(iter(manifest.values())))
    (2, ['channels', 'duration', 'sample_rate', 'text', 'wav'])
    >>> shutil.rmtree(tmp)
    """
    root = find_root(data_folder, METADATA)
    if root is None and download:
        download_and_extract(url, download_target(data_folder, "LJSpeech-1.1"))
        root = find_root(data_folder, METADATA)
    if root is None:
        expected = Path(data_folder).absolute() / "LJSpeech-1.1" / METADATA
        raise DatasetLayoutError(
            f"LJSpeech: metadata file not found: {expected} "
            f"(nor {expected.parent.parent / METADATA})",
            expected,
            LAYOUT,
            HINT,
        )
    root = root.absolute()
    save_folder = Path(save_folder).absolute()
    metadata = root / METADATA
    wavs = wav_files(root / "wavs", recursive=False)
    if not wavs:
        problem = "no .wav files in" if (root / "wavs").is_dir() else "missing folder"
        raise DatasetLayoutError(
            f"LJSpeech: {problem} {root / 'wavs'}", root / "wavs", LAYOUT, HINT
        )
    sig = signature(
        root=str(root),
        metadata=[file_sha256(metadata), *file_stats([metadata], root)[0]],
        wavs=file_stats(wavs, root),
        save_folder=str(save_folder),
    )
    if manifests_up_to_date(save_folder, "ljspeech", sig, [save_folder / MANIFEST]):
        skip_message("LJSpeech", save_folder)
        return {"all": str(save_folder / MANIFEST)}
    logger.info("LJSpeech: preparing the manifest from %s into %s", root, save_folder)
    texts = _read_metadata(metadata)
    listed = [root / "wavs" / f"{item_id}.wav" for item_id in texts]
    manifest = audio_manifest(
        listed, "LJSpeech", LAYOUT, extra={k: {"text": v} for k, v in texts.items()}
    )
    paths = write_manifests(save_folder, "ljspeech", sig, {MANIFEST: manifest})
    logger.info("LJSpeech: %d utterances", len(manifest))
    return {"all": paths[MANIFEST]}
