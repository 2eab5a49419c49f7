"""Exporting a webMUSHRA listening test of interpretations (paper Sec. 3.3).

For N recordings, one webMUSHRA ``mushra`` page each, whose reference is the input mixture and
whose conditions are the interpretations of the chosen methods (L-MAC, L-MAC FT, L2I, ...).
webMUSHRA adds the hidden reference (the reference itself, rated as stimulus ``reference``) and
the low-pass anchors (``createAnchor35`` / ``createAnchor70``, rated as ``anchor35`` /
``anchor70``) by itself (:mod:`lmac_brain.listening.config`). The export is a folder laid out
like webMUSHRA's own ``configs/``::

    <output>/configs/<name>.yaml                              the test
    <output>/configs/resources/audio/<name>/<trial>/*.wav     reference.wav + one wav per method
    <output>/listening_test.json                              recordings, methods, labels
    <output>/README.md                                        how to run it

Every page's stimuli have the reference's rate, length and channel count, at most 12 s and 12
conditions (webMUSHRA's checks), with one gain per page (the loudest at -1 dBFS) so the
interpretations keep their level relative to the mixture. The pages come in random order.
The aggregation reads the method labels and order back from ``listening_test.json``
(:func:`read_export_manifest`).
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
import torch
import torchaudio
import yaml

from lmac_brain.errors import InputError, UsageError
from lmac_brain.inference.interpreter import LMACAudioInterpreter
from lmac_brain.reporting.publishing import staged_folder
from lmac_brain.listening.config import (
    ANCHORS,
    CONTROL_LABELS,
    HIDDEN_REFERENCE,
    MAX_CONDITIONS,
    MAX_SECONDS,
    mushra_page,
    webmushra_config,
)

PEAK = 10 ** (-1 / 20)
"""Peak level of the loudest stimulus of a page (-1 dBFS)."""

MANIFEST_FILE = "listening_test.json"


@dataclass
class Recording:
    """A recording of the test: its trial id, where it came from and the mixture itself."""

    id: str
    source: str
    wav: torch.Tensor


def _resample(wav, rate_in, rate_out):
    if rate_in == rate_out:
        return wav
    return torchaudio.functional.resample(wav, rate_in, rate_out)


def interpretation_of(wav, interpreter):
    """The listenable interpretation of ``wav`` by an
    :class:`~lmac_brain.inference.LMACAudioInterpreter`, and the whole result."""
    result = interpreter.interpret_signal(wav)
    return result.interpretation, result


def export_webmushra(recordings, methods, output, name, export_rate=48000, anchors=("35",),
                     title="Listenable interpretations of an audio classifier"):
    """Write a webMUSHRA test of ``recordings`` x ``methods`` in the folder ``output``.

    Arguments
    ---------
    recordings : list of Recording
        Mixtures at the classifier's rate (at most :data:`~lmac_brain.listening.config.MAX_SECONDS` long).
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
    interpreters = {m.name: LMACAudioInterpreter.from_resolved(m) for m in methods}
    audio_root = Path("configs") / "resources" / "audio" / name
    pages, entries = [], []
    with staged_folder(output, MANIFEST_FILE) as staging:
        for index, recording in enumerate(recordings, start=1):
            if recording.wav.numel() > MAX_SECONDS * rate:
                raise ValueError(f"{recording.source} is longer than webMUSHRA's {MAX_SECONDS:g} s")
            signals = {HIDDEN_REFERENCE: recording.wav.float()}
            predicted = None
            for method in methods:
                interpretation, result = interpretation_of(recording.wav, interpreters[method.name])
                signals[method.name] = interpretation
                if predicted is None:
                    predicted = (result.label, result.score)
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
