"""Explaining a user's own recordings: any file, any sample rate, any channels, any length.

The interpret CLI (``recipes/<DATASET>/interpret.py``) runs on top of this module:

1. :func:`collect_inputs` turns ``--input`` (an audio file, a folder, or a SpeechBrain JSON/CSV
   manifest) into :class:`InputItem` s;
2. :func:`load_input` reads one of them as mono at the classifier's rate, and refuses (with
   :class:`~lmac_brain.audio.reading.AudioReadError`) what cannot be explained: a missing, non-audio,
   corrupt, empty or silent file, or one with non-finite samples;
3. :func:`explain_signal` explains a signal of any length with any
   :class:`~lmac_brain.explainers.Explainer`: one STFT of the whole signal, the classifier and
   the explainer on windows of the classifier's clip length (50% overlap), the window masks
   blended with a taper into one mask on the whole STFT, one inverse STFT. No seams: the mask
   is a smooth blend and the signal is never cut (an all-ones mask gives back the input);
4. :func:`interpret_inputs` writes, per input, ``<id>_original.wav`` (what the classifier
   heard: mono, its rate), ``<id>_interpretation.wav`` (paper Eq. 3), ``<id>_residual.wav``
   (the masked-out part) and ``<id>.png``, plus ``report.json`` and ``index.html`` for the
   run. Everything is written in a staging folder beside the output, which replaces the output
   only once complete; an input that fails leaves no file behind and is listed in the report.
"""

import contextlib
import csv
import datetime
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from tqdm import tqdm

from lmac_brain.audio.reading import AudioReadError, fit_length, read_audio
from lmac_brain.audio.listenable import listenable_pair, stft_mask
from lmac_brain.reporting.plots import save_mask_figure

logger = logging.getLogger(__name__)

SILENCE_DB = -90.0
"""A file whose peak is below this level (dB full scale) is reported as silent."""

MANIFEST_SUFFIXES = (".json", ".csv")
"""An ``--input`` file with one of these suffixes is read as a manifest."""

WAV_SUBTYPE = "PCM_16"
"""Written wavs are 16-bit PCM, which every browser plays."""

PEAK_LIMIT = 0.999
"""Outputs whose peak would clip are scaled down together (the three keep adding up)."""

REPORT_FILE = "report.json"
PAGE_FILE = "index.html"
REPORT_TOOL = "lmac_brain.interpret.core"


class InputError(ValueError):
    """``--input`` (or ``--output``) cannot be used at all: nothing was explained."""


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
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


@dataclass
class AudioInfo:
    """What the input file was, before downmixing and resampling."""

    sample_rate: int
    channels: int
    seconds: float
    format: str


def load_input(path, sample_rate, silence_db=SILENCE_DB):
    """Read ``path`` as mono float32 at ``sample_rate``; return ``(wav, AudioInfo)``.

    Raises :class:`~lmac_brain.audio.reading.AudioReadError`, with a short reason, for a missing,
    non-audio, corrupt or empty file, for NaN/Inf samples, and for a file whose peak is below
    ``silence_db`` dB full scale.
    """
    if not os.path.isfile(path):
        raise AudioReadError("file not found")
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises several types for non-audio files
        raise AudioReadError(f"not an audio file, or a corrupt one ({_short(err)})") from err
    if info.frames == 0:
        raise AudioReadError("empty audio file (no samples)")
    try:
        wav = read_audio(path, sample_rate)
    except AudioReadError as err:
        raise AudioReadError(f"corrupt audio file ({_short(err.__cause__ or err)})") from err
    if wav.numel() == 0:
        raise AudioReadError("empty audio file (no samples)")
    if not torch.isfinite(wav).all():
        raise AudioReadError("the file holds NaN or infinite samples")
    peak = float(wav.abs().max())
    if peak <= 10 ** (silence_db / 20):
        level = "-inf" if peak == 0 else f"{20 * np.log10(peak):.0f}"
        raise AudioReadError(f"silent (peak {level} dBFS, below {silence_db:g} dBFS)")
    fmt = f"{info.format} {info.subtype}".strip()
    return wav, AudioInfo(int(info.samplerate), int(info.channels), info.frames / info.samplerate, fmt)


def _short(err):
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    # soundfile repeats the path in its messages; the report already shows it.
    return re.sub(r"^Error opening [^:]*: ", "", text)


# --------------------------------------------------------------------------------------------
# Explaining a signal of any length
# --------------------------------------------------------------------------------------------
def window_starts(n_frames, window):
    """First frame of each window: 50% overlap, the last window ending on the last frame.

    Example
    -------
    >>> window_starts(10, 4)
    [0, 2, 4, 6]
    >>> window_starts(11, 4)
    [0, 2, 4, 6, 7]
    >>> window_starts(3, 4)
    [0]
    """
    if n_frames <= window:
        return [0]
    hop = max(1, window // 2)
    starts = list(range(0, n_frames - window + 1, hop))
    if starts[-1] != n_frames - window:
        starts.append(n_frames - window)
    return starts


def window_taper(window):
    """Blending weights over a window's frames: a Hann shape that is never 0.

    With 50% overlap consecutive tapers add up to 1; the stitched mask is divided by the sum of
    the weights anyway, so any overlap gives a weighted average of the window masks.

    Example
    -------
    >>> taper = window_taper(4)
    >>> bool((taper > 0).all()), torch.allclose(taper[:2] + taper[2:], torch.ones(2))
    (True, True)
    """
    return torch.sin(torch.pi * (torch.arange(window, dtype=torch.float32) + 0.5) / window) ** 2


@dataclass
class Explanation:
    """The explanation of one signal, on the STFT grid of the whole signal.

    ``wav`` is ``[samples]``; ``mag``, ``phase`` and ``mask`` are ``[frames, freq]``;
    ``probs`` is the mean of the windows' class probabilities and ``target`` its argmax.
    """

    wav: torch.Tensor
    mag: torch.Tensor
    phase: torch.Tensor
    mask: torch.Tensor
    probs: torch.Tensor
    target: int
    n_windows: int
    window_probs: torch.Tensor = field(repr=False, default=None)


def _device_of(module):
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


def explain_signal(wav, classifier, explainer, clip_samples, batch_size=8):
    """Explain ``wav`` (``[samples]``, at the classifier's rate, any length) with ``explainer``.

    A signal shorter than ``clip_samples`` is zero-padded to it, as in training, and the
    outputs are cropped back. A longer one is cut, on the frames of ONE STFT of the whole
    signal, into windows of the clip's frame count (:func:`window_starts`); the classifier
    gives each window's probabilities, their mean is the signal's decision ``c``, the explainer
    gives each window's mask (explaining ``c``; L-MAC explains each window's own decision) and
    the masks are blended with :func:`window_taper` weights.

    Arguments
    ---------
    wav : torch.Tensor
        ``[samples]`` mono signal.
    classifier : lmac_brain.models.classifier.AudioClassifier
        The frozen classifier (its device is used).
    explainer : lmac_brain.explainers.Explainer
        Any explainer built for ``classifier``.
    clip_samples : int
        The classifier's clip length in samples (the window length).
    batch_size : int
        Windows per classifier/explainer call.

    Returns
    -------
    Explanation
    """
    frontend = classifier.frontend
    device = _device_of(classifier)
    domain = explainer.domain
    length = int(wav.shape[-1])
    analysed = max(length, clip_samples)
    # Zeros past the end (what centred frames read anyway) give the frames the inverse STFT
    # needs to rebuild the last samples whatever the hop, window and n_fft.
    tail = frontend.win_length // 2 + frontend.hop_length
    padded = fit_length(wav.float(), analysed + tail).to(device)
    with torch.no_grad():
        mag, phase = frontend.magnitude_phase(padded.unsqueeze(0))
    mag, phase = mag[0], phase[0]
    n_frames = frontend.n_frames(analysed)  # the frames training would see
    window = min(frontend.n_frames(clip_samples), n_frames)
    starts = window_starts(n_frames, window)
    chunks = [starts[i:i + batch_size] for i in range(0, len(starts), batch_size)]

    def domain_input(chunk):
        return classifier.domain_input(torch.stack([mag[s:s + window] for s in chunk]), domain)

    with torch.no_grad():
        window_probs = torch.cat([
            classifier.logits_of_input(domain_input(chunk), domain).softmax(dim=-1) for chunk in chunks
        ])
    probs = window_probs.mean(dim=0)
    target = int(probs.argmax())

    taper = window_taper(window).to(device)
    total = torch.zeros_like(mag[:n_frames])
    weight = torch.zeros(n_frames, device=device)
    for chunk in chunks:
        x = domain_input(chunk)
        masks = explainer(x, target if explainer.uses_target else None)
        masks = stft_mask(frontend, masks, domain)
        for start, mask in zip(chunk, masks):
            total[start:start + window] += taper[:, None] * mask
            weight[start:start + window] += taper
    mask = (total / weight[:, None]).clamp(0.0, 1.0)
    # Frames whose window touches the signal; those past the analysed ones repeat the last mask.
    keep = min(mag.shape[0], frontend.n_frames(length + frontend.win_length // 2))
    if keep > n_frames:
        mask = torch.cat([mask, mask[-1:].expand(keep - n_frames, -1)])
    return Explanation(
        wav=wav.detach().float().cpu(),
        mag=mag[:keep],
        phase=phase[:keep],
        mask=mask[:keep],
        probs=probs.cpu(),
        target=target,
        n_windows=len(starts),
        window_probs=window_probs.cpu(),
    )


def listenable_signals(explanation, frontend):
    """``{"original", "interpretation", "residual"}`` numpy waveforms and the common gain.

    The three are scaled by one gain (1 unless the loudest would clip) so they still add up.
    """
    with torch.no_grad():
        interpretation, residual = listenable_pair(
            frontend, explanation.mag, explanation.phase, explanation.mask, explanation.wav.numel()
        )
    signals = {
        "original": explanation.wav.numpy(),
        "interpretation": interpretation.detach().cpu().numpy(),
        "residual": residual.detach().cpu().numpy(),
    }
    peak = max(float(np.abs(s).max()) if s.size else 0.0 for s in signals.values())
    gain = PEAK_LIMIT / peak if peak > PEAK_LIMIT else 1.0
    if gain != 1.0:
        signals = {k: v * gain for k, v in signals.items()}
    return signals, gain


def top_classes(probs, classes, k=3):
    """The ``k`` most probable ``(class name, probability)`` pairs.

    Example
    -------
    >>> top_classes(torch.tensor([0.1, 0.6, 0.3]), ["a", "b", "c"], k=2)
    [('b', 0.6000000238418579), ('c', 0.30000001192092896)]
    """
    values, index = probs.topk(min(k, probs.numel()))
    return [(classes[int(i)], float(v)) for v, i in zip(values, index)]


def item_files(item_id):
    """File names written for an input (relative to the output folder), by kind."""
    return {
        "original": f"{item_id}_original.wav",
        "interpretation": f"{item_id}_interpretation.wav",
        "residual": f"{item_id}_residual.wav",
        "figure": f"{item_id}.png",
    }


def write_item(folder, item_id, explanation, frontend, title):
    """Write the three wavs and the figure of one explanation; returns the file names and gain."""
    files = item_files(item_id)
    signals, gain = listenable_signals(explanation, frontend)
    for kind in ("original", "interpretation", "residual"):
        sf.write(os.path.join(folder, files[kind]), signals[kind], frontend.sample_rate, subtype=WAV_SUBTYPE)
    save_mask_figure(
        explanation.mag, explanation.mask, os.path.join(folder, files["figure"]),
        frontend.sample_rate, frontend.hop_length, title=title,
    )
    return files, gain


# --------------------------------------------------------------------------------------------
# A whole run
# --------------------------------------------------------------------------------------------
@dataclass
class ItemResult:
    """What happened to one input (a row of ``report.json`` and a card of the page)."""

    id: str
    source: str
    path: str
    status: str = "ok"
    error: str = ""
    input: dict = None
    seconds: float = 0.0
    n_windows: int = 0
    predicted: str = ""
    confidence: float = 0.0
    top: list = field(default_factory=list)
    gain_db: float = 0.0
    files: dict = field(default_factory=dict)


def _remove_item_files(folder, item_id):
    for name in item_files(item_id).values():
        path = os.path.join(folder, name)
        if os.path.exists(path):
            os.remove(path)


def explain_item(item, resolved, folder, batch_size=8, silence_db=SILENCE_DB):
    """Explain one input into ``folder``; never raises for a bad input (see ``status``)."""
    result = ItemResult(item.id, item.source, item.path)
    frontend = resolved.classifier.frontend
    try:
        wav, info = load_input(item.path, frontend.sample_rate, silence_db)
    except AudioReadError as err:
        result.status, result.error = "error", str(err)
        return result
    result.input = asdict(info)
    result.seconds = wav.numel() / frontend.sample_rate
    try:
        clip_samples = int(round(resolved.clip_seconds * frontend.sample_rate))
        explanation = explain_signal(wav, resolved.classifier, resolved.explainer, clip_samples, batch_size)
        top = top_classes(explanation.probs, resolved.classes)
        result.top = [{"class": name, "probability": p} for name, p in top]
        result.predicted, result.confidence = top[0]
        result.n_windows = explanation.n_windows
        title = f"{item.id}: predicted {result.predicted} ({result.confidence:.2f}), {resolved.label}"
        result.files, gain = write_item(folder, item.id, explanation, frontend, title)
        result.gain_db = float(20 * np.log10(gain))
    except Exception as err:  # an unexpected failure on one input must not stop the run
        logger.debug("Explaining %s failed", item.path, exc_info=True)
        _remove_item_files(folder, item.id)
        result.status, result.error = "error", f"could not be explained ({type(err).__name__}: {err})"
        result.files = {}
    return result


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_output(output, marker):
    """Refuse an ``output`` that is a file, or a non-empty folder without ``marker`` (not ours)."""
    if not output.exists():
        return
    if not output.is_dir():
        raise InputError(f"--output {output} exists and is not a folder")
    if not (output / marker).is_file() and any(output.iterdir()):
        raise InputError(
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
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.partial-", dir=output.parent))
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


def interpret_inputs(items, resolved, output, batch_size=8, silence_db=SILENCE_DB, progress=True,
                     settings=None):
    """Explain ``items`` with a resolved method and write the run's folder ``output``.

    Arguments
    ---------
    items : list of InputItem
        The inputs (:func:`collect_inputs`).
    resolved : lmac_brain.experiments.trained_models.ResolvedMethod
        Classifier, explainer, class names and clip length.
    output : str or Path
        The run's folder. It appears only when complete (a previous run's folder there is
        replaced; any other non-empty folder is refused).
    batch_size : int
        Windows per classifier/explainer call.
    silence_db : float
        Peak level (dBFS) below which an input is reported as silent.
    progress : bool
        Show a progress bar.
    settings : dict, optional
        Extra entries recorded in the report (e.g. the device).

    Returns
    -------
    dict
        The report (also written as ``report.json``; ``index.html`` shows it).
    """
    from lmac_brain.interpret.page import write_page

    with staged_folder(output, REPORT_FILE) as staging:
        results = []
        bar = tqdm(items, desc=f"Explaining ({resolved.label})", unit="file", file=sys.stderr,
                   disable=not progress, dynamic_ncols=True)
        for item in bar:
            result = explain_item(item, resolved, staging, batch_size, silence_db)
            if result.status != "ok":
                logger.warning("%s: %s", item.source, result.error)
            results.append(result)
        frontend = resolved.classifier.frontend
        report = {
            "tool": REPORT_TOOL,
            "created": datetime.datetime.now().isoformat(timespec="seconds"),
            "method": resolved.describe(),
            "settings": {
                "sample_rate": frontend.sample_rate,
                "clip_seconds": resolved.clip_seconds,
                "window_overlap": 0.5,
                "silence_db": silence_db,
                "batch_size": batch_size,
                **(settings or {}),
            },
            "n_inputs": len(results),
            "n_explained": sum(r.status == "ok" for r in results),
            "n_failed": sum(r.status != "ok" for r in results),
            "items": [asdict(r) for r in results],
        }
        write_page(staging / PAGE_FILE, report)
        with open(staging / REPORT_FILE, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return report
