"""``train_log.png``: the training curves of a run, read back from its ``train_log.txt``.

The curves come from the text SpeechBrain's ``FileTrainLogger`` writes, not from the Brain's
memory, so a resumed run draws its whole history and any finished run can be drawn later::

    python -m lmac_brain.reporting.training_curves results/esc50/lmac_cnn14/1234/train_log.txt

Panels: train and valid loss, then each of ``CURVE_KEYS`` the log has (valid solid, train
dashed): mask mean ``MM``, ``FidIn``, ``AI`` of the interpreters, ``error`` of the classifier.

Example
-------
>>> epochs = parse_train_log(
...     "epoch: 1, lr: 1.00e-03 - train loss: 2.50, train n: 48 - valid loss: 2.10, valid MM: 4.00e-01\\n"
...     "epoch: 2, lr: 1.00e-03 - train loss: -5.00e-01 - valid loss: 1.50, valid MM: 3.50e-01\\n"
...     "Epoch loaded: 2 - test loss: 1.60, test MM: 3.60e-01\\n")
>>> sorted(epochs)
[1, 2]
>>> epochs[2]["train"]["loss"], epochs[2]["valid"]["MM"], epochs[1]["meta"]["lr"]
(-0.5, 0.35, 0.001)
"""

import argparse
import logging
import os
import re
import sys

from matplotlib.ticker import MaxNLocator

from lmac_brain.reporting.plots import plt

logger = logging.getLogger(__name__)

CURVE_KEYS = ("MM", "FidIn", "AI", "error")
"""Logged statistics drawn in a panel of their own, when the log has them."""

STAGES = ("train", "valid")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|[-+]?inf")


def _number(text):
    """The number in a logged value (``1.23``, ``-4.5e-01``, ``tensor(0.5)``), or ``None``."""
    match = _NUMBER.search(text)
    return float(match.group()) if match else None


def parse_train_log(text):
    """``{epoch: {"meta": {...}, "train": {...}, "valid": {...}}}`` of a ``train_log.txt`` text.

    Lines without an ``epoch`` (the test line, ``Epoch loaded: ...``) are skipped. An epoch
    logged twice (a run resumed from a checkpoint saved before that epoch) keeps its last line.
    """
    epochs = {}
    for line in text.splitlines():
        sections = line.strip().split(" - ")
        meta = dict(_pairs(sections[0]))
        if "epoch" not in meta or meta["epoch"] is None:
            continue
        entry = {"meta": meta}
        for section in sections[1:]:
            for key, value in _pairs(section):
                stage, _, name = key.partition(" ")
                if name and value is not None:
                    entry.setdefault(stage, {})[name] = value
        epochs[int(meta["epoch"])] = entry
    return epochs


def _pairs(section):
    """``(key, number)`` pairs of a ``key: value, key: value`` section of a log line."""
    for item in section.split(", "):
        key, sep, value = item.partition(": ")
        if sep:
            yield key.strip(), _number(value)


def read_train_log(path):
    """:func:`parse_train_log` of the file ``path``."""
    with open(path, encoding="utf-8") as f:
        return parse_train_log(f.read())


def _series(epochs, stage, key):
    points = [(e, s[stage][key]) for e, s in sorted(epochs.items()) if key in s.get(stage, {})]
    return [p[0] for p in points], [p[1] for p in points]


def panel_keys(epochs):
    """The statistics drawn, one panel each: ``loss`` and the ``CURVE_KEYS`` the log has."""
    return ["loss"] + [k for k in CURVE_KEYS if any(_series(epochs, s, k)[0] for s in STAGES)]


def save_training_curves(epochs, path, title=""):
    """Draw parsed ``epochs`` (:func:`parse_train_log`) into the PNG ``path``; ``False`` if empty."""
    if not epochs:
        return False
    keys = panel_keys(epochs)
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.2), squeeze=False, layout="constrained")
    for ax, key in zip(axes[0], keys):
        for stage in STAGES:
            xs, ys = _series(epochs, stage, key)
            if xs:
                ax.plot(xs, ys, "--" if stage == "train" else "-", marker="o", ms=3, label=stage)
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot_train_log(log_path, png_path=None):
    """Draw ``log_path`` into ``png_path`` (default: beside it, ``.png``); the path, or ``None``
    when the log has no epoch yet."""
    png_path = png_path or os.path.splitext(log_path)[0] + ".png"
    folder = os.path.dirname(os.path.abspath(log_path))
    title = os.path.join(*folder.split(os.sep)[-2:])  # e.g. lmac_cnn14/1234
    return png_path if save_training_curves(read_train_log(log_path), png_path, title=title) else None


def refresh_training_curves(train_logger):
    """Redraw the curves beside the file of a ``FileTrainLogger``; the PNG path or ``None``.

    Called at the end of every validation epoch, on the main process. A figure that cannot be
    drawn is logged, not raised: it must never cost the training run.
    """
    log_path = getattr(train_logger, "save_file", None)  # other loggers keep no text file
    if not isinstance(log_path, (str, os.PathLike)) or not os.path.isfile(log_path):
        return None
    try:
        return plot_train_log(log_path)
    except Exception as error:  # noqa: BLE001
        logger.warning("Could not draw the training curves of %s: %s", log_path, error)
        return None


def main(argv=None):
    """``python -m lmac_brain.reporting.training_curves train_log.txt [-o out.png]``."""
    parser = argparse.ArgumentParser(description="Draw the training curves of a SpeechBrain train_log.txt.")
    parser.add_argument("train_log", help="a run's train_log.txt")
    parser.add_argument("-o", "--output", help="PNG to write (default: train_log.png beside the log)")
    args = parser.parse_args(argv)
    path = plot_train_log(args.train_log, args.output)
    if path is None:
        print(f"No epoch logged in {args.train_log}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
