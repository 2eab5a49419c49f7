"""Finding and loading what the training recipes left under ``results/<dataset>/``.

Every recipe writes ``<output_folder>/hyperparams.yaml`` (its resolved configuration: every
signal and classifier setting) and checkpoints in ``<output_folder>/save/CKPT+*``. This module
turns such folders back into a classifier and an explainer, without the user typing paths:

- :func:`find_experiments` lists the experiment folders under a results root and tells what
  each one trained (:data:`KINDS`), from the files of its checkpoints;
- :func:`latest_experiment` picks, for one kind and dataset, the folder with the most recent
  checkpoint;
- :func:`load_classifier` rebuilds the classifier from a saved ``hyperparams.yaml`` (only the
  ``frontend``, ``embedding_model`` and ``classifier`` nodes are instantiated) and loads its
  weights;
- :func:`resolve_method` does all of it for a method of the interpret CLI (``lmac``,
  ``lmac_ft``, ``l2i`` or any registered explainer such as ``gradcam``), with a message naming
  the training command when nothing is trained yet.
"""

import glob
import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hyperpyyaml import load_hyperpyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from speechbrain.utils.checkpoints import Checkpointer

from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.experiments.setup import _TagIgnoringLoader
from lmac_brain.explainers import available_explainers, build_explainer
from lmac_brain.experiments.pretrained import MissingCheckpointError, load_pretrained

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]

KINDS = ("classifier", "lmac", "lmac_ft", "l2i")
"""What an experiment folder holds: a classifier, an L-MAC decoder (first stage or fine-tuned),
or an L2I model."""

RECIPE_DIRS = {"esc50": "ESC50", "us8k": "US8K"}

TRAINING_COMMANDS = {
    "classifier": "python recipes/{recipe}/train_classifier.py hparams/classifier_cnn14.yaml --data_folder=...",
    "lmac": "python recipes/{recipe}/train_lmac.py hparams/lmac_cnn14.yaml --data_folder=...",
    "lmac_ft": "python recipes/{recipe}/train_lmac.py hparams/lmac_cnn14_ft.yaml --data_folder=...",
    "l2i": "python recipes/{recipe}/train_l2i.py hparams/l2i_cnn14.yaml --data_folder=...",
}
"""The command that trains each kind (``{recipe}`` is the dataset's recipe folder)."""

KIND_NAMES = {
    "classifier": "classifier",
    "lmac": "L-MAC (first stage)",
    "lmac_ft": "fine-tuned L-MAC",
    "l2i": "L2I model",
}

METHODS = {
    "lmac": {"explainer": "lmac", "kind": "lmac", "label": "L-MAC"},
    "lmac_ft": {"explainer": "lmac", "kind": "lmac_ft", "label": "L-MAC FT"},
    "l2i": {"explainer": "l2i", "kind": "l2i", "label": "L2I"},
}
"""Methods that need a trained interpreter; any other registered explainer name (``gradcam``,
``saliency``, ``ones``, ...) needs only the classifier."""

LABELS = {
    "saliency": "Saliency",
    "smoothgrad": "SmoothGrad",
    "ig": "Integrated Gradients",
    "gradcam": "GradCAM",
    "guided_gradcam": "Guided GradCAM",
    "guided_backprop": "Guided Backprop",
    "shap": "SHAP",
    "ones": "All ones",
    "zeros": "All zeros",
}

CLASSIFIER_NODES = ("frontend", "embedding_model", "classifier")
"""The nodes of a saved ``hyperparams.yaml`` that make the classifier (``AudioClassifier(
frontend, embedding_model, head=classifier)``, as in every recipe)."""

# Where an interpreter recipe collected the classifier it was trained on (load_classifier).
PRETRAINED_CLASSIFIER_DIR = "pretrained_classifier"


class NoTrainedModelError(MissingCheckpointError):
    """No trained model of the kind a method needs; the message names the training command."""


def method_label(method):
    """Display name of a CLI method (``lmac_ft`` -> ``L-MAC FT``)."""
    if method in METHODS:
        return METHODS[method]["label"]
    return LABELS.get(method, method)


def available_methods():
    """Every name the interpret CLI accepts for ``--method``."""
    return sorted(set(METHODS) | set(available_explainers()))


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
        data = yaml.load(f, Loader=_TagIgnoringLoader)
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


def training_hint(kind, dataset):
    """The commands that train ``kind`` for ``dataset`` (the classifier first)."""
    recipe = RECIPE_DIRS.get(dataset, "<DATASET>")
    kinds = ["classifier"] if kind == "classifier" else ["classifier", kind]
    if kind == "lmac_ft":
        kinds = ["classifier", "lmac", "lmac_ft"]
    return "\n".join("    " + TRAINING_COMMANDS[k].format(recipe=recipe) for k in kinds)


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


# --------------------------------------------------------------------------------------------
# Building the classifier from a saved hyperparams.yaml
# --------------------------------------------------------------------------------------------
def _is_plain(node):
    """Whether a ruamel node holds no tagged object anywhere (a value, list or mapping of them)."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if tag is not None and tag.startswith("!"):
        return False
    if isinstance(node, (CommentedMap, dict)):
        return all(_is_plain(v) for v in node.values())
    if isinstance(node, (CommentedSeq, list)):
        return all(_is_plain(v) for v in node)
    return True


def build_classifier(hparams_path):
    """An untrained :class:`AudioClassifier` with the architecture of a saved ``hyperparams.yaml``.

    Only the plain values and the :data:`CLASSIFIER_NODES` are instantiated, so nothing else
    of the recipe (checkpointer, loggers, decoders, seeds) is built or touches the disk.
    """
    ruamel = YAML()
    with open(hparams_path, encoding="utf-8") as f:
        data = ruamel.load(f)
    missing = [k for k in CLASSIFIER_NODES if k not in data]
    if missing:
        raise ValueError(f"{hparams_path} does not define {', '.join(missing)}: not a recipe's hyperparams.yaml")
    subset = CommentedMap()
    for key, value in data.items():
        if key in CLASSIFIER_NODES or _is_plain(value):
            subset[key] = value
    text = io.StringIO()
    ruamel.dump(subset, text)
    objects = load_hyperpyyaml(text.getvalue())
    return AudioClassifier(objects["frontend"], objects["embedding_model"], objects["classifier"])


def _existing_path(path):
    """``path`` as given, else relative to the repository root (recipes run from there)."""
    if path is None:
        return None
    candidate = Path(str(path))
    if candidate.exists() or candidate.is_absolute():
        return candidate
    in_repo = REPO_ROOT / candidate
    return in_repo if in_repo.exists() else candidate


def classifier_weights_source(experiment):
    """Where the weights of ``experiment``'s classifier are.

    A classifier experiment: its own save folder. An interpreter: the classifier it was trained
    on (the copy its recipe collected in ``save/pretrained_classifier``, else its
    ``classifier_source``).
    """
    if experiment.kind == "classifier":
        return str(experiment.save_folder)
    collected = experiment.save_folder / PRETRAINED_CLASSIFIER_DIR
    if all((collected / f"{name}.ckpt").exists() for name in ("embedding_model", "classifier")):
        return str(collected)
    source = experiment.hparams.get("classifier_source")
    if source is None:
        raise MissingCheckpointError(f"{experiment.folder}/hyperparams.yaml names no classifier_source")
    path = _existing_path(source)
    return str(path) if path.exists() else str(source)


def load_classifier(experiment, weights=None, device="cpu"):
    """The trained, frozen classifier of ``experiment`` (architecture from its hyperparams.yaml).

    Arguments
    ---------
    experiment : Experiment
        A classifier or interpreter experiment.
    weights : str, optional
        Another weights source (a save folder, a folder with the ``.ckpt`` files, an HF id);
        default :func:`classifier_weights_source`.
    device : str
        Where to put the classifier.
    """
    classifier = build_classifier(experiment.folder / "hyperparams.yaml")
    source = weights or classifier_weights_source(experiment)
    recipe = RECIPE_DIRS.get(experiment.dataset, "<DATASET>")
    with tempfile.TemporaryDirectory(prefix="lmac_classifier_") as collect_in:
        load_pretrained(
            {"embedding_model": classifier.embedding_model, "classifier": classifier.head},
            source,
            collect_in=collect_in,
            min_key="error",
            hint=f"Train it first: {TRAINING_COMMANDS['classifier'].format(recipe=recipe)}",
        )
    classifier.requires_grad_(False)
    return classifier.to(device).eval()


def class_names(experiment, n_classes):
    """Class names from the experiment's ``manifests/classes.json``; ``class <i>`` otherwise."""
    candidates = [experiment.folder / "manifests" / "classes.json"]
    if experiment.hparams.get("manifest_folder"):
        candidates.append(_existing_path(experiment.hparams["manifest_folder"]) / "classes.json")
    for path in candidates:
        if path.is_file():
            with open(path, encoding="utf-8") as f:
                names = json.load(f)
            if len(names) == n_classes:
                return [str(n) for n in names]
    logger.warning("No class names found for %s: using class indices", experiment.folder)
    return [f"class {i}" for i in range(n_classes)]


# --------------------------------------------------------------------------------------------
# One call for the interpret CLI
# --------------------------------------------------------------------------------------------
@dataclass
class ResolvedMethod:
    """A method ready to explain: the classifier, its explainer and where they came from."""

    name: str
    label: str
    classifier: AudioClassifier
    explainer: object
    domain: str
    classes: list
    clip_seconds: float
    classifier_folder: Path
    interpreter_folder: Path = None
    classifier_weights: str = ""
    options: dict = field(default_factory=dict)

    def describe(self):
        """Plain description for reports."""
        return {
            "method": self.name,
            "label": self.label,
            "domain": self.domain,
            "classifier_hparams": str(Path(self.classifier_folder) / "hyperparams.yaml"),
            "classifier_weights": self.classifier_weights,
            "interpreter": str(self.interpreter_folder) if self.interpreter_folder else None,
            "options": {k: v for k, v in self.options.items() if k != "source"},
            "sample_rate": self.classifier.frontend.sample_rate,
            "clip_seconds": self.clip_seconds,
            "classes": self.classes,
        }


def _family(kind):
    """Both L-MAC stages load the same way: an explicit folder of either serves lmac/lmac_ft."""
    return "lmac" if kind in ("lmac", "lmac_ft") else kind


def n_outputs(classifier):
    """Number of classes of ``classifier`` (its head's ``out_features``, else one forward)."""
    features = getattr(classifier.head, "out_features", None)
    if features is not None:
        return int(features)
    import torch

    frontend = classifier.frontend
    device = next(classifier.parameters()).device
    with torch.no_grad():
        return int(classifier(torch.zeros(1, frontend.sample_rate, device=device)).shape[-1])


def _explicit_experiment(folder, what):
    experiment = read_experiment(folder)
    if experiment is None:
        raise NoTrainedModelError(
            f"{folder} is not a recipe output folder with checkpoints "
            f"(expected hyperparams.yaml and save/CKPT+* of a {what})"
        )
    return experiment


def resolve_method(method, dataset, results_root, classifier_dir=None, interpreter_dir=None,
                   options=None, domain=None, device="cpu"):
    """Build the classifier and the explainer of ``method`` for ``dataset``.

    Arguments
    ---------
    method : str
        ``lmac``, ``lmac_ft``, ``l2i`` (trained interpreters) or any registered explainer.
    dataset : str
        ``esc50`` or ``us8k``: only that dataset's experiments are considered.
    results_root : str or Path
        Where the recipes wrote (default of the CLI: ``results/<dataset>``).
    classifier_dir, interpreter_dir : str, optional
        Recipe output folders to use instead of the latest ones.
    options : dict, optional
        Explainer options (e.g. ``relevance_threshold`` for ``l2i``).
    domain : str, optional
        Masking domain of an untrained method (default ``stft``); an interpreter uses the
        domain it was trained for.
    device : str
        Where to run.

    Returns
    -------
    ResolvedMethod
    """
    if method not in available_methods():
        raise ValueError(f"Unknown method {method!r}; choose one of: {', '.join(available_methods())}")
    spec = METHODS.get(method, {"explainer": method, "kind": None})
    options = dict(options or {})
    interpreter = None
    if spec["kind"] is not None:
        if interpreter_dir is not None:
            interpreter = _explicit_experiment(interpreter_dir, KIND_NAMES[spec["kind"]])
            if _family(interpreter.kind) != _family(spec["kind"]):
                raise NoTrainedModelError(
                    f"{interpreter_dir} holds a {KIND_NAMES[interpreter.kind]}, "
                    f"not what --method {method} needs ({KIND_NAMES[spec['kind']]})"
                )
        else:
            interpreter = latest_experiment(results_root, spec["kind"], dataset)
        options.setdefault("source", str(interpreter.save_folder))
    if classifier_dir is not None:
        classifier_experiment = _explicit_experiment(classifier_dir, "classifier")
        weights = classifier_weights_source(classifier_experiment)
    elif interpreter is not None:
        classifier_experiment, weights = interpreter, classifier_weights_source(interpreter)
    else:
        classifier_experiment = latest_experiment(results_root, "classifier", dataset)
        weights = classifier_weights_source(classifier_experiment)
    classifier = load_classifier(classifier_experiment, weights=weights, device=device)
    if interpreter is not None:
        domain = interpreter.domain
    domain = domain or "stft"
    explainer = build_explainer(spec["explainer"], classifier, domain, **options).to(device)
    explainer.eval()
    n_classes = n_outputs(classifier)
    names_from = interpreter or classifier_experiment
    return ResolvedMethod(
        name=method,
        label=method_label(method),
        classifier=classifier,
        explainer=explainer,
        domain=domain,
        classes=class_names(names_from, n_classes),
        clip_seconds=float(classifier_experiment.hparams.get("clip_seconds") or names_from.hparams["clip_seconds"]),
        classifier_folder=classifier_experiment.folder,
        interpreter_folder=interpreter.folder if interpreter else None,
        classifier_weights=weights,
        options=options,
    )
