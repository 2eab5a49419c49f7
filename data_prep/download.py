"""Download and unpack the public datasets (ESC-50, WHAM! noise, LJSpeech).

UrbanSound8K is not here: it is distributed after a sign-up (see :mod:`data_prep.us8k`).

:func:`download_and_extract` never leaves a half dataset that looks complete: the archive is
streamed to a hidden ``.part`` file, unpacked into a hidden temporary folder next to the
destination, and only then moved into place with one ``os.replace`` per top-level entry. An
interrupted or failed run leaves nothing but hidden leftovers, which are removed when possible.
"""

import logging
import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from speechbrain.utils.data_utils import download_file

logger = logging.getLogger(__name__)

#: ESC-50 (GitHub archive of the repository; unpacks to ``ESC-50-master/``).
ESC50_URL = "https://github.com/karoldvl/ESC-50/archive/master.zip"
#: WHAM! noise (unpacks to ``wham_noise/``).
WHAM_NOISE_URL = (
    "https://my-bucket-a8b4b49c25c811ee9a7e8bba05fa24c7.s3.amazonaws.com/wham_noise.zip"
)
#: LJSpeech 1.1 (unpacks to ``LJSpeech-1.1/``).
LJSPEECH_URL = "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2"

#: Top-level entries some archivers add and nobody wants.
_JUNK = {"__MACOSX"}


def _check_member(name, dest):
    """Refuse archive members that would land outside ``dest`` (absolute paths, ``..``)."""
    target = os.path.realpath(os.path.join(dest, name))
    if os.path.commonpath([target, os.path.realpath(dest)]) != os.path.realpath(dest):
        raise ValueError(f"archive member {name!r} would be extracted outside {dest}")


def extract_archive(archive, dest):
    """Unpack a zip or tar (``.tar``, ``.tar.gz``, ``.tar.bz2``, ``.tar.xz``) into ``dest``.

    Ours rather than ``download_file(unpack=True)`` (``shutil.unpack_archive``): the format is
    recognised from the content, not from the file name, and members that would land outside
    ``dest`` are refused rather than skipped or written.
    """
    archive, dest = str(archive), str(dest)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                _check_member(name, dest)
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(dest, filter="data")
            else:  # Python without extraction filters
                for member in tf.getmembers():
                    _check_member(member.name, dest)
                    if member.issym() or member.islnk():
                        link = os.path.join(os.path.dirname(member.name), member.linkname)
                        _check_member(link, dest)
                tf.extractall(dest)
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")


def download_and_extract(url, dest_folder):
    """Download the archive at ``url`` and unpack it into ``dest_folder``.

    The download is SpeechBrain's ``download_file`` (a progress bar; a local path is copied).

    Arguments
    ---------
    url : str
        An ``http(s)://`` URL or a local path, of a zip or tar archive.
    dest_folder : str or Path
        The folder that receives the archive's top-level entries (created if needed).

    Returns
    -------
    Path
        The unpacked folder when the archive has a single top-level folder (e.g.
        ``dest_folder/ESC-50-master``), else ``dest_folder``.

    Raises
    ------
    FileExistsError
        A top-level entry of the archive already exists in ``dest_folder`` (nothing is
        overwritten; remove it or point ``data_folder`` at it).

    Example
    -------
    >>> import shutil, tempfile, zipfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(tmp / "a.zip", "w") as zf:
    ...     zf.writestr("data/x.txt", "hello")
    >>> out = download_and_extract(str(tmp / "a.zip"), tmp / "dest")
    >>> out.name, (out / "x.txt").read_text()
    ('data', 'hello')
    >>> shutil.rmtree(tmp)
    """
    dest = Path(dest_folder).absolute()
    dest.mkdir(parents=True, exist_ok=True)
    logger.info("Downloading %s into %s", url, dest)
    fd, part = tempfile.mkstemp(dir=dest, prefix=".download-", suffix=".part")
    os.close(fd)
    staging = tempfile.mkdtemp(dir=dest, prefix=".extract-")
    try:
        download_file(str(url), part, replace_existing=True)
        logger.info("Extracting %s", url)
        extract_archive(part, staging)
        entries = sorted(e for e in os.listdir(staging) if e not in _JUNK)
        if not entries:
            raise ValueError(f"the archive at {url} is empty")
        clashes = [e for e in entries if os.path.lexists(dest / e)]
        if clashes:
            raise FileExistsError(
                f"cannot unpack {url}: {', '.join(str(dest / e) for e in clashes)} already "
                f"exist(s); remove it or point data_folder at it"
            )
        for entry in entries:
            os.replace(os.path.join(staging, entry), dest / entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if os.path.exists(part):
            os.remove(part)
    if len(entries) == 1 and (dest / entries[0]).is_dir():
        return dest / entries[0]
    return dest
