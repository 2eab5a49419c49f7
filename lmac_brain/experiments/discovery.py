"""Finding the experiment folders the training recipes left under ``results/<dataset>/``.

Every recipe writes ``<output_folder>/hyperparams.yaml`` (its resolved configuration) and
checkpoints in ``<output_folder>/save/CKPT+*``. :func:`find_experiments` lists such folders and
tells what each one trained (:data:`~lmac_brain.experiments.commands.KINDS`), from the files of
its checkpoints; :func:`latest_experiment` picks, for one kind and dataset, the folder with the
most recent checkpoint.
"""

import glob
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from speechbrain.utils.checkpoints import Checkpointer

from lmac_brain.checkpoints import MissingCheckpointError
from lmac_brain.experiments.commands import KIND_NAMES, training_hint

logger = logging.getLogger(__name__)


class PlainLoader(yaml.SafeLoader):
    """Reads resolved HyperPyYAML (a saved ``hyperparams.yaml``) as plain data: objects
    (``!new:`` ...) become None."""


PlainLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


class NoTrainedModelError(MissingCheckpointError):
    """No trained model of the kind a method needs; the message names the training command."""


@dataclass
class Experiment:
    """A recipe's output folder: its kind, plain hparams and latest checkpoint time."""

    folder: Path
    kind: str
    hparams: dict = field(repr=False)
    checkpoint_time: float = 0.0

    @property
    def dataset(self):
        """The dataset the recipe ran on (``esc50``/``us8k``), or None."""
        return self.hparams.get("dataset")

    @property
    def save_folder(self):
        """The folder of ``CKPT+*`` checkpoints."""
        return self.folder / "save"

    @property
    def domain(self):
        """The masking domain an interpreter was trained for (``stft`` by default)."""
        return self.hparams.get("domain") or "stft"


def read_saved_hparams(folder):
    """Plain values of ``<folder>/hyperparams.yaml`` (objects read as ``None``)."""
    with open(Path(folder) / "hyperparams.yaml", encoding="utf-8") as f:
        data = yaml.load(f, Loader=PlainLoader)
    return data if isinstance(data, dict) else {}


def _checkpoint_files(save_folder):
    """``(set of .ckpt names of the latest checkpoint, its unix time)``, or ``(set(), 0)``."""
    if not save_folder.is_dir():
        return set(), 0.0
    checkpoints = Checkpointer(save_folder).list_checkpoints()
    if not checkpoints:
        return set(), 0.0

    def when(ckpt):
        return float(ckpt.meta.get("unixtime") or os.path.getmtime(ckpt.path))

    latest = max(checkpoints, key=when)
    return {p.name for p in Path(latest.path).glob("*.ckpt")}, when(latest)


def experiment_kind(files, hparams):
    """The kind (:data:`KINDS`) of a checkpoint holding ``files``, or None.

    Example
    -------
    >>> experiment_kind({"decoder.ckpt", "counter.ckpt"}, {"finetuning": True})
    'lmac_ft'
    >>> experiment_kind({"embedding_model.ckpt", "classifier.ckpt"}, {})
    'classifier'
    >>> experiment_kind({"counter.ckpt"}, {}) is None
    True
    """
    if "decoder.ckpt" in files:
        return "lmac_ft" if hparams.get("finetuning") else "lmac"
    if "psi.ckpt" in files:
        return "l2i"
    if {"embedding_model.ckpt", "classifier.ckpt"} <= files:
        return "classifier"
    return None


def read_experiment(folder):
    """The :class:`Experiment` of a recipe output folder (or of its ``save`` folder), or None."""
    folder = Path(folder)
    if folder.name == "save" and not (folder / "hyperparams.yaml").is_file():
        folder = folder.parent
    if not (folder / "hyperparams.yaml").is_file():
        return None
    hparams = read_saved_hparams(folder)
    files, when = _checkpoint_files(folder / "save")
    kind = experiment_kind(files, hparams)
    if kind is None:
        return None
    return Experiment(folder, kind, hparams, when)


def find_experiments(results_root, max_depth=4):
    """Every experiment folder up to ``max_depth`` levels under ``results_root`` (symlinks followed)."""
    found = []
    for depth in range(max_depth + 1):
        pattern = os.path.join(glob.escape(str(results_root)), *(["*"] * depth), "hyperparams.yaml")
        for path in sorted(glob.glob(pattern)):
            experiment = read_experiment(os.path.dirname(path))
            if experiment is not None:
                found.append(experiment)
    return found


def latest_experiment(results_root, kind, dataset=None):
    """The experiment of ``kind`` (and ``dataset``) with the most recent checkpoint.

    Raises :class:`NoTrainedModelError`, naming the training commands, when there is none.
    """
    candidates = [
        e for e in find_experiments(results_root)
        if e.kind == kind and (dataset is None or e.dataset in (None, dataset))
    ]
    if not candidates:
        option = "--classifier" if kind == "classifier" else "--interpreter"
        raise NoTrainedModelError(
            f"No trained {KIND_NAMES[kind]} for {dataset or 'this dataset'} under {results_root}. "
            f"Train one first:\n{training_hint(kind, dataset)}\n"
            f"or point {option}= at a recipe's output folder (or --results= at another results folder)."
        )
    chosen = max(candidates, key=lambda e: e.checkpoint_time)
    logger.info("Using the %s in %s (latest checkpoint)", KIND_NAMES[kind], chosen.folder)
    return chosen
