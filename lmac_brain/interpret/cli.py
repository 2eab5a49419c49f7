"""The command line of ``recipes/<DATASET>/interpret.py``: explain your own recordings.

Reads like its steps: collect the inputs, find (or take) the trained classifier and
interpreter, explain every input, write the run's folder and say where its page is. The work
is done by :mod:`lmac_brain.experiments.methods` and :mod:`lmac_brain.interpret`.

Exit status: 0 when every input was explained, 1 when some could not be (they are listed in
the page, ``report.json`` and the log), 2 when nothing could run (no trained model, unusable
``--input`` or ``--output``, bad options): a :class:`~lmac_brain.errors.UserFacingError`, logged
as one line. Any other exception is a bug and surfaces with its traceback.
"""

import argparse
import logging
import os
import sys

import torch
import yaml

from lmac_brain.audio.masking import MASK_SPACES
from lmac_brain.audio.reading import SILENCE_DB
from lmac_brain.errors import UsageError, UserFacingError
from lmac_brain.experiments.commands import RECIPE_DIRS
from lmac_brain.experiments.methods import available_methods, resolve_method
from lmac_brain.interpret.inputs import collect_inputs
from lmac_brain.interpret.run import interpret_inputs

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_SETUP = 2


def parse_options(pairs, flag="--option"):
    """``["key=value", ...]`` -> dict, values read as YAML (``0.4`` is a float).

    Example
    -------
    >>> parse_options(["relevance_threshold=0.4", "protocol=topk"])
    {'relevance_threshold': 0.4, 'protocol': 'topk'}
    """
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} expects KEY=VALUE, got {pair!r}")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise UsageError(f"{flag} {pair!r}: the value is not valid YAML ({err})") from err
    return options


def build_parser(dataset):
    recipe = RECIPE_DIRS[dataset]
    parser = argparse.ArgumentParser(
        prog=f"recipes/{recipe}/interpret.py",
        description=(
            "Explain the decisions of a trained classifier on your own audio: per input, the "
            "listenable interpretation and residual (wav), a spectrogram/mask figure (png), and "
            "one index.html with players and top-3 classes for the whole run."
        ),
        epilog=(
            f"By default the latest trained models under results/{dataset}/ are used "
            f"(train them with recipes/{recipe}/train_classifier.py and train_lmac.py / train_l2i.py). "
            "Exit status: 0 all explained, 1 some inputs could not be explained, 2 nothing ran."
        ),
    )
    parser.add_argument("--input", required=True,
                        help="an audio file (any rate, channels, length), a folder, or a JSON/CSV manifest")
    parser.add_argument("--method", default="lmac", choices=available_methods(), metavar="METHOD",
                        help="lmac (default), lmac_ft, l2i, or a baseline: " + ", ".join(
                            m for m in available_methods() if m not in ("lmac", "lmac_ft", "l2i")))
    parser.add_argument("--output", help=f"the run's folder (default results/{dataset}/interpret/<method>)")
    parser.add_argument("--results", default=os.path.join("results", dataset),
                        help="where to look for trained models (default %(default)s)")
    parser.add_argument("--classifier", help="a classifier recipe's output folder (default: the latest, "
                        "or the one the interpreter was trained on)")
    parser.add_argument("--interpreter", help="an L-MAC or L2I recipe's output folder (default: the latest)")
    parser.add_argument("--option", action="append", metavar="KEY=VALUE",
                        help="an option of the explainer, e.g. relevance_threshold=0.4 (repeatable)")
    parser.add_argument("--domain", choices=("stft", "mel"),
                        help="mask domain of a baseline (interpreters use the one they were trained for)")
    parser.add_argument("--mask_space", choices=MASK_SPACES,
                        help="apply masks to |X| (linear) or log1p|X| (log1p); gradient methods then attribute "
                             "with respect to that representation (default: L-MAC's training space, else linear)")
    parser.add_argument("--limit", type=int, help="explain only the first N inputs (sorted files, manifest order)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, ...")
    parser.add_argument("--batch_size", type=int, default=8, help="windows per classifier call (default 8)")
    parser.add_argument("--silence_db", type=float, default=SILENCE_DB,
                        help="inputs whose peak is below this level (dBFS) are reported as silent")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    parser.add_argument("--log_level", default="INFO")
    return parser


def check_device(device):
    """Refuse, with a one-line reason, a ``device`` this machine does not have."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise UsageError(f"--device {device}: not a device (cpu, cuda, cuda:1, ...)") from err
    if parsed.type != "cuda":
        return
    if not torch.cuda.is_available():
        raise UsageError(f"--device {device}: CUDA is not available on this machine")
    if parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise UsageError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")


def run(argv, dataset):
    """Explain the inputs of the command line; returns the exit status."""
    args = build_parser(dataset).parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(name)s - %(message)s", stream=sys.stderr)
    output = args.output or os.path.join("results", dataset, "interpret", args.method)
    try:
        check_device(args.device)
        items = collect_inputs(args.input)[:args.limit]
        resolved = resolve_method(
            args.method, dataset, args.results, classifier_dir=args.classifier,
            interpreter_dir=args.interpreter, options=parse_options(args.option),
            domain=args.domain, device=args.device,
        )
        if args.mask_space:
            resolved.explainer.use_mask_space(args.mask_space)
        report = interpret_inputs(
            items, resolved, output, batch_size=args.batch_size, silence_db=args.silence_db,
            progress=not args.no_progress,
            settings={"device": args.device, "mask_space": resolved.explainer.mask_space},
        )
    except UserFacingError as err:
        logger.error("%s", err)
        return EXIT_SETUP
    page = os.path.join(output, "index.html")
    logger.info("Explained %d of %d input(s) with %s", report["n_explained"], report["n_inputs"], resolved.label)
    if report["n_failed"]:
        logger.warning("%d input(s) could not be explained (listed in the page and report.json)",
                       report["n_failed"])
    print(page)
    return EXIT_SOME_FAILED if report["n_failed"] else EXIT_OK
