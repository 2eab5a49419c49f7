"""WHAM! noise preparation: one JSON manifest per split (``tr``, ``cv``, ``tt``).

The noise is mixed into the training clips (and into the in-domain test condition); the pipeline
resamples, downmixes and crops it at load time, so only the file list is prepared here.
"""

import logging
from pathlib import Path

from data_prep.common import (
    DatasetLayoutError,
    audio_manifest,
    download_target,
    file_stats,
    manifests_up_to_date,
    signature,
    skip_message,
    wav_files,
    write_manifests,
)
from data_prep.download import WHAM_NOISE_URL, download_and_extract

logger = logging.getLogger(__name__)

SPLITS = ("tr", "cv", "tt")
LAYOUT = """\
<data_folder>/
`-- wham_noise/              (or pass wham_noise/ itself as data_folder)
    |-- tr/*.wav
    |-- cv/*.wav
    `-- tt/*.wav"""
HINT = f"Get it from {WHAM_NOISE_URL} (or call prepare_wham(..., download=True))."


def _find_root(data_folder):
    """``data_folder/wham_noise``, or ``data_folder`` itself when it is the noise folder."""
    data_folder = Path(data_folder)
    if (data_folder / "wham_noise").is_dir():
        return data_folder / "wham_noise"
    if data_folder.name == "wham_noise" and data_folder.is_dir():
        return data_folder
    if any((data_folder / split).is_dir() for split in SPLITS):
        return data_folder
    return None


def prepare_wham(data_folder, save_folder, download=False, *, url=WHAM_NOISE_URL):
    """Write the WHAM! noise manifests ``wham_tr.json``, ``wham_cv.json``, ``wham_tt.json``.

    Idempotent: rebuilt only when the set, size or mtime of the noise files changed.

    Arguments
    ---------
    data_folder : str or Path
        The folder containing ``wham_noise/``, or ``wham_noise/`` itself.
    save_folder : str or Path
        Where the manifests go.
    download : bool
        Download and unpack ``url`` when no ``wham_noise/`` is found.
    url : str
        The archive to download: an ``http(s)`` URL or a local path.

    Returns
    -------
    dict
        ``{"tr": path, "cv": path, "tt": path}``; each manifest maps the file stem to
        ``{"wav": absolute path, "duration": s, "sample_rate": int, "channels": int}``.

    Example
    -------
    >>> import json, shutil, tempfile
    >>> from lmac_brain.synthetic import make_wham_twin
    >>> tmp = Path(tempfile.mkdtemp())
    >>> _ = make_wham_twin(tmp, files_per_split=(2, 1, 1), seconds=0.2)
    >>> paths = prepare_wham(tmp, tmp / "manifests")
    >>> [len(json.load(open(paths[s]))) for s in ("tr", "cv", "tt")]
    [2, 1, 1]
    >>> shutil.rmtree(tmp)
    """
    root = _find_root(data_folder)
    if root is None and download:
        download_and_extract(url, download_target(data_folder, "wham_noise"))
        root = _find_root(data_folder)
    if root is None:
        expected = Path(data_folder).absolute() / "wham_noise"
        raise DatasetLayoutError(
            f"WHAM! noise: folder not found: {expected} (nor tr/, cv/, tt/ in {expected.parent})",
            expected,
            LAYOUT,
            HINT,
        )
    root = root.absolute()
    save_folder = Path(save_folder).absolute()
    files = {}
    for split in SPLITS:
        files[split] = wav_files(root / split, recursive=False)
        if not files[split]:
            problem = "no .wav files in" if (root / split).is_dir() else "missing folder"
            raise DatasetLayoutError(
                f"WHAM! noise: {problem} {root / split}", root / split, LAYOUT, HINT
            )
    sig = signature(
        root=str(root),
        files={split: file_stats(paths, root) for split, paths in files.items()},
        save_folder=str(save_folder),
    )
    names = {split: f"wham_{split}.json" for split in SPLITS}
    if manifests_up_to_date(save_folder, "wham", sig, [save_folder / n for n in names.values()]):
        skip_message("WHAM! noise", save_folder)
        return {split: str(save_folder / name) for split, name in names.items()}
    logger.info("WHAM! noise: preparing manifests from %s into %s", root, save_folder)
    manifests = {
        names[split]: audio_manifest(files[split], "WHAM! noise", LAYOUT) for split in SPLITS
    }
    paths = write_manifests(save_folder, "wham", sig, manifests)
    logger.info(
        "WHAM! noise: %s", ", ".join(f"{s} {len(manifests[names[s]])} files" for s in SPLITS)
    )
    return {split: paths[name] for split, name in names.items()}
