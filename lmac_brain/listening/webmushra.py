"""The listening test of the paper (Sec. 3.3, Table 3, Fig. 2) with webMUSHRA.

**Export** (:func:`export_webmushra`): for N recordings, one webMUSHRA ``mushra`` page each,
whose reference is the input mixture and whose conditions are the interpretations of the
chosen methods (L-MAC, L-MAC FT, L2I, ...). webMUSHRA adds the hidden reference (the reference
itself, rated as stimulus ``reference``) and the low-pass anchors (``createAnchor35`` /
``createAnchor70``, rated as ``anchor35`` / ``anchor70``) by itself. The export is a folder laid
out like webMUSHRA's own ``configs/``::

    <output>/configs/<name>.yaml                              the test
    <output>/configs/resources/audio/<name>/<trial>/*.wav     reference.wav + one wav per method
    <output>/listening_test.json                              recordings, methods, labels
    <output>/README.md                                        how to run it

Every page's stimuli have the reference's rate, length and channel count, at most 12 s and 12
conditions (webMUSHRA's checks), with one gain per page (the loudest at -1 dBFS) so the
interpretations keep their level relative to the mixture. The pages come in random order.

**Aggregation** (:func:`aggregate_mushra`): webMUSHRA's ``results/<testId>/mushra.csv``
(columns ``trial_id, rating_stimulus, rating_score``, plus the session and questionnaire
columns) becomes the mean opinion score per method (Table 3; one column per group of
recordings, e.g. MOS-1 / MOS-2) and per method and recording (Fig. 2):
:func:`mos_markdown`, :func:`plot_mos`, :func:`write_mos_report`.
"""

import csv
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
import torch
import torchaudio
import yaml

from lmac_brain.audio.listenable import listenable_pair
from lmac_brain.errors import InputError, UsageError
from lmac_brain.interpret.publishing import staged_folder
from lmac_brain.interpret.windowing import explain_signal

logger = logging.getLogger(__name__)

HIDDEN_REFERENCE = "reference"
"""webMUSHRA's id for the hidden reference in its results."""

ANCHORS = {"35": "anchor35", "70": "anchor70"}
"""``createAnchor<NN>`` options -> the stimulus id webMUSHRA gives the anchor."""

CONTROL_LABELS = {
    HIDDEN_REFERENCE: "Hidden reference (input mixture)",
    "anchor35": "Anchor (3.5 kHz low-pass)",
    "anchor70": "Anchor (7 kHz low-pass)",
}

MAX_SECONDS = 12.0
"""webMUSHRA refuses longer stimuli (strict mode)."""

MAX_CONDITIONS = 12
"""webMUSHRA refuses more conditions on a page (strict mode)."""

PEAK = 10 ** (-1 / 20)
"""Peak level of the loudest stimulus of a page (-1 dBFS)."""

MANIFEST_FILE = "listening_test.json"

INSTRUCTIONS = (
    "You will hear a recording (the <b>reference</b>) and, for each condition, an "
    "interpretation: the part of the recording that an audio classifier relied on for its "
    "decision. The class the classifier predicted is given on each page.<br/><br/>"
    "1. How well does the interpretation correspond to the part of the input audio associated "
    "with the given class?<br/>2. While evaluating, please pay attention to audio quality "
    "also.<br/><br/>Rate every condition between 0 and 100."
)
"""The two instructions given to the listeners in the paper (Sec. 3.3)."""


@dataclass
class Recording:
    """A recording of the test: its trial id, where it came from and the mixture itself."""

    id: str
    source: str
    wav: torch.Tensor


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------
def _resample(wav, rate_in, rate_out):
    if rate_in == rate_out:
        return wav
    return torchaudio.functional.resample(wav, rate_in, rate_out)


def interpretation_of(wav, method):
    """The listenable interpretation of ``wav`` by a resolved method, and the explanation."""
    frontend = method.classifier.frontend
    clip_samples = int(round(method.clip_seconds * frontend.sample_rate))
    explanation = explain_signal(wav, method.classifier, method.explainer, clip_samples)
    with torch.no_grad():
        interpretation, _ = listenable_pair(
            frontend, explanation.mag, explanation.phase, explanation.mask, explanation.wav.numel()
        )
    return interpretation.detach().cpu(), explanation


def mushra_page(trial_id, name, content, reference, stimuli, anchors=("35",)):
    """One webMUSHRA ``mushra`` page (paths relative to webMUSHRA's root)."""
    return {
        "type": "mushra",
        "id": trial_id,
        "name": name,
        "content": content,
        "showWaveform": True,
        "enableLooping": True,
        "reference": reference,
        "createAnchor35": "35" in anchors,
        "createAnchor70": "70" in anchors,
        "randomize": True,
        "showConditionNames": False,
        "stimuli": dict(stimuli),
    }


def webmushra_config(test_id, title, pages, volume_stimulus=None):
    """A complete webMUSHRA configuration: instructions, volume, the pages in random order, finish."""
    config_pages = [{"type": "generic", "id": "instructions", "name": "Instructions", "content": INSTRUCTIONS}]
    if volume_stimulus:
        config_pages.append({
            "type": "volume", "id": "volume", "name": "Volume",
            "content": "Set a comfortable listening level with this recording; keep it for the whole test.",
            "stimulus": volume_stimulus, "defaultVolume": 0.5,
        })
    config_pages.append(["random", *pages])
    config_pages.append({
        "type": "finish", "name": "Thank you", "content": "Thank you for taking part!",
        "showResults": False, "writeResults": True,
    })
    return {
        "testname": title,
        "testId": test_id,
        "bufferSize": 2048,
        "stopOnErrors": True,
        "showButtonPreviousPage": True,
        "remoteService": "service/write.php",
        "pages": config_pages,
    }


def export_webmushra(recordings, methods, output, name, export_rate=48000, anchors=("35",),
                     title="Listenable interpretations of an audio classifier"):
    """Write a webMUSHRA test of ``recordings`` x ``methods`` in the folder ``output``.

    Arguments
    ---------
    recordings : list of Recording
        Mixtures at the classifier's rate (at most :data:`MAX_SECONDS` long).
    methods : list of lmac_brain.experiments.methods.ResolvedMethod
        The conditions; the first method's classifier names the predicted class of each page.
    output : str or Path
        The export folder (written in a staging folder, published when complete).
    name : str
        Test id and config name (``configs/<name>.yaml``, results in ``results/<name>/``).
    export_rate : int
        Sample rate of the exported wavs.
    anchors : sequence of str
        webMUSHRA anchors to generate: ``"35"`` and/or ``"70"`` (kHz x 10 low-pass).
    title : str
        Test name shown to the listeners.

    Returns
    -------
    dict
        The manifest (also written as ``listening_test.json``).
    """
    if not recordings:
        raise InputError("No recording to export")
    if not 1 <= len(methods) <= MAX_CONDITIONS:
        raise UsageError(f"webMUSHRA pages take 1 to {MAX_CONDITIONS} conditions, got {len(methods)} methods")
    unknown = set(anchors) - set(ANCHORS)
    if unknown:
        raise UsageError(f"Unknown anchor(s) {sorted(unknown)}: choose among {sorted(ANCHORS)}")
    rate = methods[0].classifier.frontend.sample_rate
    for method in methods[1:]:
        if method.classifier.frontend.sample_rate != rate:
            raise UsageError("All methods must explain classifiers of one sample rate")
    audio_root = Path("configs") / "resources" / "audio" / name
    pages, entries = [], []
    with staged_folder(output, MANIFEST_FILE) as staging:
        for index, recording in enumerate(recordings, start=1):
            if recording.wav.numel() > MAX_SECONDS * rate:
                raise ValueError(f"{recording.source} is longer than webMUSHRA's {MAX_SECONDS:g} s")
            signals = {HIDDEN_REFERENCE: recording.wav.float()}
            predicted = None
            for method in methods:
                interpretation, explanation = interpretation_of(recording.wav, method)
                signals[method.name] = interpretation
                if predicted is None:
                    probs = explanation.probs
                    predicted = (method.classes[int(probs.argmax())], float(probs.max()))
            signals = {k: _resample(v, rate, export_rate) for k, v in signals.items()}
            peak = max(float(v.abs().max()) for v in signals.values())
            gain = PEAK / peak if peak > 0 else 1.0
            folder = staging / audio_root / recording.id
            folder.mkdir(parents=True, exist_ok=True)
            paths = {}
            for key, signal in signals.items():
                sf.write(folder / f"{key}.wav", (signal * gain).numpy(), export_rate, subtype="PCM_16")
                paths[key] = (audio_root / recording.id / f"{key}.wav").as_posix()
            content = (
                f"Predicted class: <b>{predicted[0]}</b>. The reference is the input recording; "
                "rate how well each condition corresponds to the part of the reference associated "
                "with this class, paying attention to audio quality also."
            )
            stimuli = {m.name: paths[m.name] for m in methods}
            pages.append(mushra_page(recording.id, f"Recording {index}", content, paths[HIDDEN_REFERENCE],
                                     stimuli, anchors))
            entries.append({
                "trial_id": recording.id, "source": recording.source, "predicted": predicted[0],
                "confidence": predicted[1], "seconds": recording.wav.numel() / rate,
                "gain_db": 20 * math.log10(gain), "files": paths,
            })
        config = webmushra_config(name, title, pages, volume_stimulus=pages[0]["reference"])
        config_path = staging / "configs" / f"{name}.yaml"
        with open(config_path, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f, sort_keys=False, allow_unicode=True, width=100)
        manifest = {
            "name": name,
            "config": f"configs/{name}.yaml",
            "sample_rate": export_rate,
            "anchors": [ANCHORS[a] for a in anchors],
            "methods": [{"stimulus": m.name, "label": m.label, **m.describe()} for m in methods],
            "labels": {**{m.name: m.label for m in methods}, **CONTROL_LABELS},
            "recordings": entries,
        }
        with open(staging / "README.md", "w", encoding="utf-8") as f:
            f.write(_readme(name, len(recordings), methods, anchors))
        with open(staging / MANIFEST_FILE, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
    return manifest


def _readme(name, n_recordings, methods, anchors):
    anchor_text = ", ".join(CONTROL_LABELS[ANCHORS[a]] for a in anchors) or "none"
    return f"""# webMUSHRA listening test `{name}`

{n_recordings} recordings; reference = the input recording; conditions = {", ".join(m.label for m in methods)};
webMUSHRA adds the hidden reference and the anchors ({anchor_text}).

1. Copy `configs/` into the root of a webMUSHRA installation (it merges with webMUSHRA's own
   `configs/`), and serve webMUSHRA with PHP (e.g. its Docker image).
2. Open `http://<host>/<webMUSHRA>/?config={name}.yaml`.
3. Results are appended to `results/{name}/mushra.csv` in the webMUSHRA folder. Aggregate them
   into MOS per method (Table 3) and per recording (Fig. 2):

       python recipes/<DATASET>/listening_test.py aggregate --csv results/{name}/mushra.csv --export <this folder>
"""


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------
@dataclass
class Rating:
    """One score of one listener for one stimulus of one page."""

    trial: str
    stimulus: str
    score: float
    session: str = ""


@dataclass
class Stats:
    """Mean opinion score of some ratings, with its standard deviation and 95% interval."""

    n: int
    mean: float
    std: float
    ci95: float

    @classmethod
    def of(cls, scores):
        """Stats of a list of scores (``std`` with n - 1; ``ci95`` = 1.96 std / sqrt(n)).

        Example
        -------
        >>> s = Stats.of([40.0, 60.0])
        >>> s.n, s.mean, round(s.std, 3), round(s.ci95, 2)
        (2, 50.0, 14.142, 19.6)
        """
        n = len(scores)
        mean = sum(scores) / n
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1)) if n > 1 else 0.0
        return cls(n, mean, std, 1.96 * std / math.sqrt(n))


REQUIRED_COLUMNS = ("trial_id", "rating_stimulus", "rating_score")


def read_mushra_csv(paths):
    """The ratings of webMUSHRA ``mushra.csv`` files (several files are concatenated)."""
    ratings = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        try:
            with open(path, encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                columns = [c.strip() for c in reader.fieldnames or []]
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise InputError(f"Cannot read the webMUSHRA results {path}: {err}") from err
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise InputError(f"{path} is not a webMUSHRA mushra.csv: no column(s) {', '.join(missing)}")
        for line, row in enumerate(rows, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            try:
                score = float(row["rating_score"])
            except ValueError as err:
                raise InputError(f"{path}:{line}: rating_score {row['rating_score']!r} is not a number") from err
            ratings.append(Rating(row["trial_id"], row["rating_stimulus"], score, row.get("session_uuid", "")))
    if not ratings:
        raise InputError("No rating in the results")
    return ratings


@dataclass
class MOSResult:
    """MOS per method and group of recordings, and per method and recording."""

    methods: list
    groups: dict
    overall: dict
    per_recording: dict
    recordings: list


def aggregate_mushra(ratings, groups=None, method_order=None):
    """Mean opinion scores of ``ratings``.

    Arguments
    ---------
    ratings : list of Rating
        From :func:`read_mushra_csv`.
    groups : dict, optional
        ``column name -> list of trial ids`` (e.g. ``{"MOS-1": [...], "MOS-2": [...]}``, the
        columns of the paper's Table 3); default one column ``MOS`` over every trial.
    method_order : list, optional
        Stimulus ids in the order of the tables (the rest follow as first seen; the hidden
        reference and the anchors always come last).

    Returns
    -------
    MOSResult
        ``overall[(method, group)]`` and ``per_recording[(method, trial)]`` are :class:`Stats`.
    """
    recordings = list(dict.fromkeys(r.trial for r in ratings))
    groups = dict(groups or {"MOS": recordings})
    unknown = sorted({t for trials in groups.values() for t in trials} - set(recordings))
    if unknown:
        raise UsageError(f"Group(s) name trial(s) with no rating: {', '.join(unknown)}")
    seen = list(dict.fromkeys(r.stimulus for r in ratings))
    ordered = [m for m in (method_order or []) if m in seen] + [m for m in seen if m not in (method_order or [])]
    methods = [m for m in ordered if m not in CONTROL_LABELS] + [m for m in CONTROL_LABELS if m in seen]
    overall, per_recording = {}, {}
    for method in methods:
        for group, trials in groups.items():
            scores = [r.score for r in ratings if r.stimulus == method and r.trial in set(trials)]
            if scores:
                overall[(method, group)] = Stats.of(scores)
        for trial in recordings:
            scores = [r.score for r in ratings if r.stimulus == method and r.trial == trial]
            if scores:
                per_recording[(method, trial)] = Stats.of(scores)
    return MOSResult(methods, groups, overall, per_recording, recordings)


def _label(method, labels):
    return (labels or {}).get(method) or CONTROL_LABELS.get(method) or method


def mos_markdown(result, labels=None):
    """Two Markdown tables: MOS per method and group (Table 3), MOS per method and recording."""

    def cell(stats):
        return "" if stats is None else f"{stats.mean:.2f}"

    groups = list(result.groups)
    lines = ["| Method | " + " | ".join(groups) + " | n |", "|---|" + "---|" * (len(groups) + 1)]
    for method in result.methods:
        n = sum(s.n for (m, _), s in result.per_recording.items() if m == method)
        lines.append(f"| {_label(method, labels)} | "
                     + " | ".join(cell(result.overall.get((method, g))) for g in groups) + f" | {n} |")
    lines += ["", "| Method | " + " | ".join(result.recordings) + " |", "|---|" + "---|" * len(result.recordings)]
    for method in result.methods:
        lines.append(f"| {_label(method, labels)} | "
                     + " | ".join(cell(result.per_recording.get((method, t))) for t in result.recordings) + " |")
    return "\n".join(lines) + "\n"


def plot_mos(result, path, labels=None, include_controls=False):
    """Grouped bars of the MOS per recording, one bar per method (paper Fig. 2), 95% intervals.

    One panel per group of recordings; the hidden reference and the anchors are left out
    unless ``include_controls``.
    """
    from lmac_brain.reporting.plots import plt

    methods = [m for m in result.methods if include_controls or m not in CONTROL_LABELS]
    groups = list(result.groups.items())
    widths = [max(1, len(trials)) for _, trials in groups]
    fig, axes = plt.subplots(1, len(groups), figsize=(2.0 + 1.3 * sum(widths) + 0.3 * len(methods), 3.6),
                             squeeze=False, gridspec_kw={"width_ratios": widths}, sharey=True)
    bar = 0.8 / max(1, len(methods))
    for ax, (group, trials) in zip(axes[0], groups):
        for j, method in enumerate(methods):
            stats = [result.per_recording.get((method, t)) for t in trials]
            x = [i + (j - (len(methods) - 1) / 2) * bar for i in range(len(trials))]
            ax.bar(x, [s.mean if s else 0.0 for s in stats], bar, yerr=[s.ci95 if s else 0.0 for s in stats],
                   capsize=2, label=_label(method, labels))
        ax.set_xticks(range(len(trials)), trials, rotation=30, ha="right")
        ax.set_title(group)
        ax.set_ylim(0, 100)
    axes[0][0].set_ylabel("MOS")
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_mos_report(result, folder, labels=None):
    """Write ``mos.md``, ``mos.csv`` (every statistic) and ``mos.png`` in ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": folder / "mos.md", "csv": folder / "mos.csv", "figure": folder / "mos.png"}
    paths["markdown"].write_text(mos_markdown(result, labels), encoding="utf-8")
    with open(paths["csv"], "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "label", "scope", "n", "mos", "std", "ci95"])
        for scope, table in (("group", result.overall), ("recording", result.per_recording)):
            for (method, where), s in table.items():
                writer.writerow([method, _label(method, labels), f"{scope}:{where}", s.n,
                                 f"{s.mean:.4f}", f"{s.std:.4f}", f"{s.ci95:.4f}"])
    plot_mos(result, paths["figure"], labels)
    return {k: str(v) for k, v in paths.items()}


def parse_groups(specs):
    """``["MOS-1=rec01,rec02", ...]`` -> ``{"MOS-1": ["rec01", "rec02"], ...}``.

    Example
    -------
    >>> parse_groups(["MOS-1=rec01,rec02", "MOS-2=rec03"])
    {'MOS-1': ['rec01', 'rec02'], 'MOS-2': ['rec03']}
    """
    groups = {}
    for spec in specs or []:
        name, sep, trials = spec.partition("=")
        if not sep or not name.strip() or not trials.strip():
            raise UsageError(f"--group expects NAME=trial1,trial2,..., got {spec!r}")
        groups[name.strip()] = [t.strip() for t in trials.split(",") if t.strip()]
    return groups or None


def read_export_manifest(folder):
    """The ``listening_test.json`` of an export folder (labels and method order), or ``{}``."""
    if folder is None:
        return {}
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise InputError(f"{folder} holds no {MANIFEST_FILE}: not a listening-test export")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"Cannot read {path}: {err}") from err
