"""The command line of ``recipes/<DATASET>/listening_test.py``: the webMUSHRA listening test of
the paper.

Two steps, as in Sec. 3.3:

- ``export``: pick N recordings (seeded), optionally mix each with a recording of another class
  (the paper's two-class mixtures), explain them with the chosen methods, and write the
  webMUSHRA configuration and audio (:func:`lmac_brain.listening.export.export_webmushra`);
- ``aggregate``: read webMUSHRA's ``mushra.csv`` and write the MOS per method (Table 3) and per
  recording (Fig. 2) (:func:`lmac_brain.listening.mos.aggregate_mushra`).

Exit status: 0 on success, 2 when nothing could be done because of the input, the options or
the trained models (a :class:`~lmac_brain.errors.UserFacingError`; the log says why in one
line). Any other exception is a bug and surfaces with its traceback.
"""

import argparse
import json
import logging
import os
import random
import sys

from lmac_brain.audio.reading import AudioReadError, read_clip
from lmac_brain.audio.reading import SILENCE_DB, load_input
from lmac_brain.errors import InputError, UserFacingError
from lmac_brain.evaluation.conditions import OODMixCondition
from lmac_brain.experiments.commands import RECIPE_DIRS
from lmac_brain.experiments.methods import available_methods, resolve_method
from lmac_brain.interpret.inputs import collect_inputs
from lmac_brain.listening.config import ANCHORS, MAX_SECONDS
from lmac_brain.listening.export import Recording, export_webmushra, read_export_manifest
from lmac_brain.listening.mos import aggregate_mushra, parse_groups
from lmac_brain.listening.ratings import read_mushra_csv
from lmac_brain.listening.report import mos_markdown, write_mos_report
from lmac_brain.interpret.cli import check_device, parse_options

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_SETUP = 2


def build_parser(dataset):
    recipe = RECIPE_DIRS[dataset]
    parser = argparse.ArgumentParser(
        prog=f"recipes/{recipe}/listening_test.py",
        description="Export a webMUSHRA listening test of interpretations, or aggregate its results into MOS.",
    )
    parser.add_argument("--log_level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    export = sub.add_parser("export", help="write the webMUSHRA configuration and audio")
    export.add_argument("--input", required=True, help="an audio file, a folder, or a JSON/CSV manifest")
    export.add_argument("--methods", nargs="+", default=["lmac", "lmac_ft", "l2i"], choices=available_methods(),
                        metavar="METHOD", help="the conditions (default: lmac lmac_ft l2i)")
    export.add_argument("--n", type=int, default=5, help="number of recordings (default 5)")
    export.add_argument("--seed", type=int, default=1234, help="seed of the choice and of the mixtures")
    export.add_argument("--mix_other_class", action="store_true",
                        help="mix each recording with one of another class of the (labelled JSON) manifest")
    export.add_argument("--snr_db", type=float, default=0.0, help="SNR of that mixture in dB (default 0)")
    export.add_argument("--max_seconds", type=float, default=10.0,
                        help=f"recordings are cut to this length (webMUSHRA takes at most {MAX_SECONDS:g} s)")
    export.add_argument("--export_rate", type=int, default=48000, help="sample rate of the exported wavs")
    export.add_argument("--anchors", nargs="*", default=["35"], choices=sorted(ANCHORS),
                        help="webMUSHRA low-pass anchors to generate (default 35 = 3.5 kHz)")
    export.add_argument("--name", default=f"lmac_{dataset}", help="test id and config name")
    export.add_argument("--output", help=f"export folder (default results/{dataset}/listening_test/<name>)")
    export.add_argument("--results", default=os.path.join("results", dataset), help="where trained models are")
    export.add_argument("--classifier", help="a classifier recipe's output folder (default: as interpret.py)")
    export.add_argument("--interpreter", action="append", metavar="METHOD=FOLDER",
                        help="the recipe output folder of one method (default: the latest), repeatable")
    export.add_argument("--device", default="cpu")

    aggregate = sub.add_parser("aggregate", help="MOS per method and per recording from webMUSHRA results")
    aggregate.add_argument("--csv", nargs="+", required=True, help="webMUSHRA results/<testId>/mushra.csv file(s)")
    aggregate.add_argument("--export", help="the export folder (method labels and order)")
    aggregate.add_argument("--group", action="append", metavar="NAME=TRIAL,TRIAL",
                           help="a column of recordings, e.g. MOS-1=rec01,rec02 (repeatable; default all)")
    aggregate.add_argument("--output", help="where to write mos.md, mos.csv, mos.png "
                           "(default: <export>/mos, else beside the first CSV)")
    return parser


def choose_recordings(args, sample_rate, signal_length_s):
    """Up to ``args.n`` recordings of ``args.input`` (seeded order; unusable files are skipped)."""
    items = collect_inputs(args.input)
    order = list(items)
    random.Random(args.seed).shuffle(order)
    condition = None
    if args.mix_other_class:
        if not str(args.input).lower().endswith(".json"):
            raise InputError("--mix_other_class needs a labelled JSON manifest as --input")
        with open(args.input, encoding="utf-8") as f:
            manifest = json.load(f)
        if not all("label" in entry for entry in manifest.values()):
            raise InputError(f"--mix_other_class: the entries of {args.input} need a 'label'")
        paths = {item.source: item.path for item in items}  # relative paths resolved
        entries = {key: {**entry, "wav": paths[key]} for key, entry in manifest.items()}
        condition = OODMixCondition(entries, sample_rate, signal_length_s, seed=args.seed, snr_db=args.snr_db)
    max_samples = int(min(args.max_seconds, MAX_SECONDS) * sample_rate)
    recordings = []
    for item in order:
        if len(recordings) == args.n:
            break
        try:
            if condition is not None:
                wav = read_clip(item.path, sample_rate, signal_length_s)
                mixture, _ = condition(wav.unsqueeze(0), [item.source])
                wav, source = mixture[0], f"{item.source} + {condition.partner(item.source)} at {args.snr_db:g} dB"
            else:
                wav, _ = load_input(item.path, sample_rate, SILENCE_DB)
                source = item.source
        except AudioReadError as err:
            logger.warning("Skipping %s: %s", item.source, err)
            continue
        recordings.append(Recording(f"rec{len(recordings) + 1:02d}", source, wav[:max_samples]))
    if len(recordings) < args.n:
        logger.warning("Only %d usable recording(s) in %s (asked for %d)", len(recordings), args.input, args.n)
    return recordings


def export(args, dataset):
    interpreters = parse_options(args.interpreter, flag="--interpreter")
    methods = [
        resolve_method(m, dataset, args.results, classifier_dir=args.classifier,
                       interpreter_dir=interpreters.get(m), device=args.device)
        for m in dict.fromkeys(args.methods)
    ]
    first = methods[0]
    recordings = choose_recordings(args, first.classifier.frontend.sample_rate, first.signal_length_s)
    if not recordings:
        raise InputError(f"No usable recording in {args.input}")
    output = args.output or os.path.join("results", dataset, "listening_test", args.name)
    manifest = export_webmushra(recordings, methods, output, args.name, export_rate=args.export_rate,
                                anchors=tuple(args.anchors))
    logger.info("webMUSHRA test of %d recordings x %d methods written to %s (see its README.md)",
                len(recordings), len(methods), output)
    print(os.path.join(output, manifest["config"]))


def aggregate(args):
    exported = read_export_manifest(args.export)
    ratings = read_mushra_csv(args.csv)
    order = [m["stimulus"] for m in exported.get("methods", [])]
    result = aggregate_mushra(ratings, parse_groups(args.group), method_order=order)
    output = args.output or (os.path.join(args.export, "mos") if args.export
                             else os.path.join(os.path.dirname(os.path.abspath(args.csv[0])), "mos"))
    paths = write_mos_report(result, output, exported.get("labels"))
    logger.info("MOS of %d ratings written to %s", len(ratings), output)
    print(mos_markdown(result, exported.get("labels")))
    print(paths["markdown"])


def run(argv, dataset):
    """Run ``export`` or ``aggregate``; returns the exit status."""
    args = build_parser(dataset).parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(name)s - %(message)s", stream=sys.stderr)
    try:
        if args.command == "export":
            check_device(args.device)
            export(args, dataset)
        else:
            aggregate(args)
    except UserFacingError as err:
        logger.error("%s", err)
        return EXIT_SETUP
    return EXIT_OK
