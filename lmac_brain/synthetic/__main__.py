"""Command line of the synthetic twins: ``python -m lmac_brain.synthetic DATASET --out DIR ...``.

::

    python -m lmac_brain.synthetic esc50 --out DIR --n-classes 10 --clips-per-class-per-fold 8
    python -m lmac_brain.synthetic us8k --out DIR
    python -m lmac_brain.synthetic wham --out DIR --files-per-split 20 5 5
    python -m lmac_brain.synthetic ljspeech --out DIR --n-files 20
"""

import argparse
import logging
import sys
from pathlib import Path

from lmac_brain.synthetic.esc50 import make_esc50_twin
from lmac_brain.synthetic.events import EVENT_CLASSES
from lmac_brain.synthetic.ljspeech import make_ljspeech_twin
from lmac_brain.synthetic.us8k import make_us8k_twin
from lmac_brain.synthetic.wham import make_wham_twin

logger = logging.getLogger("lmac_brain.synthetic")  # stable name, also under ``python -m``


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m lmac_brain.synthetic",
        description="Write synthetic twins of the ESC-50, UrbanSound8K, WHAM! noise and LJSpeech "
                    "folder layouts (with event/background ground truth for ESC-50 and US8K).",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    sub = parser.add_subparsers(dest="dataset", required=True, metavar="DATASET")

    def common(p):
        p.add_argument("--out", required=True, type=Path, help="dataset root to write")
        p.add_argument("--seed", type=int, default=0, help="non-negative seed (default: 0)")
        p.add_argument("--log-level", default=argparse.SUPPRESS,
                       help="logging level, e.g. WARNING (default: INFO)")

    def classes(p, clips_per_class_per_fold):
        p.add_argument("--n-classes", type=int, default=10,
                       help=f"2..{len(EVENT_CLASSES)} (default: 10)")
        p.add_argument("--clips-per-class-per-fold", type=int, default=clips_per_class_per_fold,
                       help=f"(default: {clips_per_class_per_fold})")

    p = sub.add_parser("esc50", help="ESC-50 layout (5 folds, 44.1 kHz, 5 s)")
    common(p)
    classes(p, 8)
    p.add_argument("--signal-length-s", type=float, default=5.0, help="(default: 5.0)")
    p.add_argument("--sample-rate", type=int, default=44100, help="(default: 44100)")

    p = sub.add_parser("us8k", help="UrbanSound8K layout (10 folds, mixed rates, <= 4 s)")
    common(p)
    classes(p, 4)
    p.add_argument("--max-seconds", type=float, default=4.0, help="(default: 4.0)")

    p = sub.add_parser("wham", help="WHAM! noise layout (wham_noise/{tr,cv,tt})")
    common(p)
    p.add_argument("--files-per-split", type=int, nargs=3, default=[20, 5, 5],
                   metavar=("TR", "CV", "TT"), help="(default: 20 5 5)")
    p.add_argument("--seconds", type=float, default=6.0, help="(default: 6.0)")
    p.add_argument("--sample-rate", type=int, default=16000, help="(default: 16000)")

    p = sub.add_parser("ljspeech", help="LJSpeech-1.1 layout (22.05 kHz speech-like audio)")
    common(p)
    p.add_argument("--n-files", type=int, default=20, help="(default: 20)")
    p.add_argument("--seconds", type=float, default=3.0, help="(default: 3.0)")
    return parser


def main(argv=None):
    """Command-line entry point; returns the dataset root written."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.dataset == "esc50":
        root = make_esc50_twin(args.out, args.n_classes, args.clips_per_class_per_fold,
                               args.signal_length_s, args.sample_rate, args.seed)
    elif args.dataset == "us8k":
        root = make_us8k_twin(args.out, args.n_classes, args.clips_per_class_per_fold,
                              args.max_seconds, args.seed)
    elif args.dataset == "wham":
        root = make_wham_twin(args.out, tuple(args.files_per_split), args.seconds,
                              args.sample_rate, args.seed)
    else:
        root = make_ljspeech_twin(args.out, args.n_files, args.seconds, args.seed)
    logger.info("wrote %s", root)
    return root


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
