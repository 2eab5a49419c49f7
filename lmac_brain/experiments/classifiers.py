"""Rebuilding a trained classifier from a recipe's output folder.

:func:`build_classifier` rebuilds the architecture from a saved ``hyperparams.yaml`` (only the
``frontend``, ``embedding_model`` and ``classifier`` nodes are instantiated);
:func:`load_trained_classifier` also loads its weights: a classifier experiment's own, or those
an interpreter was trained on.
"""

import io
import logging
import os
import tempfile
from pathlib import Path

from hyperpyyaml import load_hyperpyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from speechbrain.dataio.encoder import CategoricalEncoder

from lmac_brain.checkpoints import MissingCheckpointError, load_pretrained
from lmac_brain.errors import ConfigurationError
from lmac_brain.experiments.commands import RECIPE_DIRS, TRAINING_COMMANDS
from lmac_brain.experiments.setup import LABEL_ENCODER_FILE
from lmac_brain.models.classifier import AudioClassifier

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]

CLASSIFIER_NODES = ("frontend", "embedding_model", "classifier")
"""The nodes of a saved ``hyperparams.yaml`` that make the classifier (``AudioClassifier(
frontend, embedding_model, head=classifier)``, as in every recipe)."""

# Where an interpreter recipe collected the classifier it was trained on (load_classifier_weights).
PRETRAINED_CLASSIFIER_DIR = "pretrained_classifier"


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
        raise ConfigurationError(
            f"{hparams_path} does not define {', '.join(missing)}: not the hyperparams.yaml of a recipe "
            "that trains or explains a classifier"
        )
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


def load_trained_classifier(experiment, weights=None, device="cpu"):
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
    """Class names from the experiment's label encoder (``save/label_encoder.txt``).

    A folder holding the two ``.ckpt`` files of a downloaded classifier may carry its
    ``label_encoder.txt`` too. Without one, or with one of another size, the classes are named
    ``class <i>`` (with a warning).
    """
    for path in (experiment.save_folder / LABEL_ENCODER_FILE, experiment.folder / LABEL_ENCODER_FILE):
        if path.is_file():
            encoder = CategoricalEncoder()
            encoder.load(str(path))
            if len(encoder) == n_classes:
                return [str(encoder.ind2lab[i]) for i in range(n_classes)]
            logger.warning("%s has %d classes, the classifier %d: using class indices",
                           path, len(encoder), n_classes)
            break
    else:
        logger.warning("No label encoder found for %s: using class indices", experiment.folder)
    return [f"class {i}" for i in range(n_classes)]


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


def load_classifier_weights(embedding_model, classifier, classifier_source, save_folder, dataset,
                            use_pretrained=True):
    """Load the weights of a recipe's classifier (its YAML's ``embedding_model`` and
    ``classifier``) from ``classifier_source``.

    The files are collected in ``<save_folder>/pretrained_classifier``, so an interpreter's
    output folder keeps the classifier it was trained on. With ``use_pretrained`` False the
    classifier keeps its random initialisation (SpeechBrain's recipe tests run that way).
    """
    if not use_pretrained:
        logger.warning("use_pretrained is False: the classifier is randomly initialised")
        return
    load_pretrained(
        {"embedding_model": embedding_model, "classifier": classifier},
        classifier_source,
        collect_in=os.path.join(save_folder, PRETRAINED_CLASSIFIER_DIR),
        min_key="error",
        hint="Train it first: " + TRAINING_COMMANDS["classifier"].format(recipe=RECIPE_DIRS[dataset])
        + " (or set --classifier_source).",
    )
