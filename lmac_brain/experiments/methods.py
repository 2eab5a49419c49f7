"""The methods of the interpret CLI and the listening kit, resolved to a classifier and an explainer.

:func:`resolve_method` builds, for a method name (``lmac``, ``lmac_ft``, ``l2i`` or any
registered explainer such as ``gradcam``), the trained classifier and the explainer, taking the
latest trained models under a results folder unless folders are given, with a message naming
the training command when nothing is trained yet.
"""

from dataclasses import dataclass, field
from pathlib import Path

from lmac_brain.errors import UsageError
from lmac_brain.experiments.classifiers import (
    class_names,
    classifier_weights_source,
    load_trained_classifier,
    n_outputs,
)
from lmac_brain.experiments.commands import KIND_NAMES
from lmac_brain.experiments.discovery import NoTrainedModelError, latest_experiment, read_experiment
from lmac_brain.explainers import available_explainers, build_explainer
from lmac_brain.models.classifier import AudioClassifier

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


def method_label(method):
    """Display name of a CLI method (``lmac_ft`` -> ``L-MAC FT``)."""
    if method in METHODS:
        return METHODS[method]["label"]
    return LABELS.get(method, method)


def available_methods():
    """Every name the interpret CLI accepts for ``--method``."""
    return sorted(set(METHODS) | set(available_explainers()))


@dataclass
class ResolvedMethod:
    """A method ready to explain: the classifier, its explainer and where they came from."""

    name: str
    label: str
    classifier: AudioClassifier
    explainer: object
    domain: str
    classes: list
    signal_length_s: float
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
            "signal_length_s": self.signal_length_s,
            "classes": self.classes,
        }


def _family(kind):
    """Both L-MAC stages load the same way: an explicit folder of either serves lmac/lmac_ft."""
    return "lmac" if kind in ("lmac", "lmac_ft") else kind


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
        raise UsageError(f"Unknown method {method!r}; choose one of: {', '.join(available_methods())}")
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
    classifier = load_trained_classifier(classifier_experiment, weights=weights, device=device)
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
        signal_length_s=float(classifier_experiment.hparams.get("signal_length_s") or names_from.hparams["signal_length_s"]),
        classifier_folder=classifier_experiment.folder,
        interpreter_folder=interpreter.folder if interpreter else None,
        classifier_weights=weights,
        options=options,
    )
