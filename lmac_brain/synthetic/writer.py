"""Writing a twin: idempotent, marked as synthetic, never into a real dataset.

Re-running a twin with the same arguments rewrites byte-identical files, and files whose bytes
are unchanged are not touched (:func:`write_if_changed`), so their mtime, and the preparation
caches that depend on it, survive. Each twin root holds a :data:`MARKER` file that marks it as
synthetic; ``.wav`` files left over from an earlier run with other arguments are removed, and a
folder holding ``.wav`` files but no marker (a real dataset) is never written into
(:class:`TwinWriter`).
"""

import csv
import io
import json
import logging
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

logger = logging.getLogger(__name__)

#: Name of the marker file written at the root of every twin.
MARKER = "SYNTHETIC_TWIN.json"

#: The generator named in the marker: the package whose command line writes the twins.
GENERATOR = "lmac_brain.synthetic"


def wav_bytes(data, sample_rate):
    """The bytes of a PCM_16 WAV file of ``data`` (int16 samples, ``(n,)`` or ``(n, channels)``)."""
    buf = io.BytesIO()
    sf.write(buf, data, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def write_if_changed(path, content):
    """Write ``content`` (bytes) unless the file already holds exactly it (keeps its mtime)."""
    path = Path(path)
    if path.is_file() and path.stat().st_size == len(content) and path.read_bytes() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)


def csv_bytes(header, rows):
    """The UTF-8 bytes of a CSV file (``\\n`` line ends) of ``header`` and ``rows``.

    Example
    -------
    >>> csv_bytes(["a", "b"], [[1, "x,y"]])
    b'a,b\\n1,"x,y"\\n'
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


class TwinWriter:
    """Guards a twin root, writes files, and removes stale ``.wav`` files at the end."""

    def __init__(self, root, dataset, params, managed):
        self.root = Path(root)
        self.managed = [self.root / m for m in managed]
        existing = set()
        for folder in self.managed:
            if folder.is_dir():
                existing.update(p for p in folder.rglob("*.wav") if p.is_file())
        marker = self.root / MARKER
        if existing and not marker.is_file():
            raise FileExistsError(
                f"{self.root} already holds .wav files (e.g. {sorted(existing)[0]}) but no "
                f"{MARKER}: it looks like a real dataset, refusing to overwrite it; "
                "choose another (or an empty) folder for the synthetic twin"
            )
        self.existing = existing
        self.written = set()
        self.root.mkdir(parents=True, exist_ok=True)
        description = {
            "synthetic_twin_of": dataset,
            "generator": GENERATOR,
            "parameters": params,
            "note": "Synthetic audio in the layout of the real dataset; not the real dataset.",
        }
        write_if_changed(marker, (json.dumps(description, indent=2, sort_keys=True) + "\n")
                         .encode("utf-8"))

    def wav(self, relative, data, sample_rate):
        path = self.root / relative
        write_if_changed(path, wav_bytes(data, sample_rate))
        self.written.add(path)

    def text(self, relative, content):
        write_if_changed(self.root / relative, content)

    def finish(self):
        stale = sorted(self.existing - self.written)
        for path in stale:
            path.unlink()
        if stale:
            logger.info("removed %d stale .wav files from an earlier twin in %s", len(stale),
                        self.root)
        return self.root


def progress(total, desc):
    """A progress bar over the ``total`` files of a twin (hidden when not on a terminal)."""
    return tqdm(total=total, desc=desc, unit="file", disable=None, leave=False)
