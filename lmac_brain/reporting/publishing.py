"""Writing a run's folder atomically: staged beside the output, published only when complete."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from lmac_brain.errors import UsageError


class OutputFolderError(UsageError):
    """``--output`` cannot be used: it is a file, or a non-empty folder this tool did not write."""


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_output(output, marker):
    """Refuse an ``output`` that is a file, or a non-empty folder without ``marker`` (not ours)."""
    if not output.exists():
        return
    if not output.is_dir():
        raise OutputFolderError(f"--output {output} exists and is not a folder")
    if not (output / marker).is_file() and any(output.iterdir()):
        raise OutputFolderError(
            f"--output {output} is a non-empty folder that this tool did not write; "
            "choose another --output (a previous run's folder is replaced)"
        )


def _publish(staging, output):
    """Move the finished ``staging`` folder to ``output``, replacing a previous run's folder."""
    old = None
    if output.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{output.name}.old-", dir=output.parent))
        os.rmdir(old)
        os.rename(output, old)
    try:
        os.rename(staging, output)
    except OSError:
        if old is not None:
            os.rename(old, output)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(output, marker):
    """Write a run's folder in a hidden staging folder beside ``output``; publish it on success.

    Yields the staging folder. When the block completes, the staging folder replaces
    ``output`` (a previous run's folder, recognised by its ``marker`` file, is replaced; any
    other non-empty folder is refused up front). When the block raises, or the process is
    interrupted, the staging folder is deleted and ``output`` is left as it was: a folder at
    ``output`` is always a complete run.
    """
    output = Path(output)
    _check_output(output, marker)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.partial-", dir=output.parent))
    except OSError as err:  # e.g. a read-only or missing parent: the user's --output to change
        raise OutputFolderError(f"--output {output}: cannot write there ({err})") from err
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; the run's folder is not
    published = False
    try:
        yield staging
        if not (staging / marker).is_file():
            raise RuntimeError(f"the run did not write {marker}")
        _publish(staging, output)
        published = True
    finally:
        if not published:
            shutil.rmtree(staging, ignore_errors=True)
