"""A whole interpret run: every input explained, ``report.json`` and ``index.html`` written.

Per input, ``<id>_original.wav`` (what the classifier heard: mono, its rate),
``<id>_interpretation.wav`` (paper Eq. 3), ``<id>_residual.wav`` (the masked-out part) and
``<id>.png``, plus ``report.json`` and ``index.html`` for the run. Everything is written in a
staging folder beside the output, which replaces the output only once complete. An input that
cannot be read is listed in the report with its reason; any other failure is a bug and stops
the run with its traceback, leaving the output as it was.
"""

import datetime
import json
import logging
import sys
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm import tqdm

from lmac_brain.audio.reading import SILENCE_DB, UnusableAudioError
from lmac_brain.inference.interpreter import LMACAudioInterpreter
from lmac_brain.interpret.outputs import write_item
from lmac_brain.interpret.page import write_page
from lmac_brain.reporting.publishing import staged_folder

logger = logging.getLogger(__name__)

REPORT_FILE = "report.json"
PAGE_FILE = "index.html"
REPORT_TOOL = "lmac_brain.interpret"



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



def explain_item(item, interpreter, label, folder):
    """Explain one input into ``folder`` with an
    :class:`~lmac_brain.inference.LMACAudioInterpreter` (``label`` names the method).

    An input that cannot be read (:class:`~lmac_brain.audio.reading.UnusableAudioError`) is
    reported in the result's ``status``/``error``; any other exception is a bug and propagates.
    """
    result = ItemResult(item.id, item.source, item.path)
    try:
        interpretation = interpreter.interpret_file(item.path)
    except UnusableAudioError as err:
        result.status, result.error = "error", err.reason
        return result
    result.input = interpretation.source
    result.seconds = interpretation.original.numel() / interpretation.sample_rate
    top = interpretation.top(3)
    result.top = [{"class": name, "probability": p} for name, p in top]
    result.predicted, result.confidence = top[0]
    result.n_windows = interpretation.n_windows
    title = f"{item.id}: predicted {result.predicted} ({result.confidence:.2f}), {label}"
    result.files, gain = write_item(folder, item.id, interpretation, title)
    result.gain_db = float(20 * np.log10(gain))
    return result


def interpret_inputs(items, resolved, output, batch_size=8, silence_db=SILENCE_DB, progress=True,
                     settings=None):
    """Explain ``items`` with a resolved method and write the run's folder ``output``.

    Arguments
    ---------
    items : list of InputItem
        The inputs (:func:`collect_inputs`).
    resolved : lmac_brain.experiments.methods.ResolvedMethod
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
    interpreter = LMACAudioInterpreter.from_resolved(resolved, batch_size=batch_size, silence_db=silence_db)
    with staged_folder(output, REPORT_FILE) as staging:
        results = []
        bar = tqdm(items, desc=f"Explaining ({resolved.label})", unit="file", file=sys.stderr,
                   disable=not progress, dynamic_ncols=True)
        for item in bar:
            result = explain_item(item, interpreter, resolved.label, staging)
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
                "signal_length_s": resolved.signal_length_s,
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
