"""What one run of ``recipes/<DATASET>/eval.py`` evaluates: the methods of its protocol, and the
notes its ``metrics.md`` carries about the settings behind the numbers."""

import logging

from lmac_brain.evaluation.methods import (
    drop_unavailable_optional,
    raise_problems,
    select_protocol,
    without_trained_explainers,
)
from lmac_brain.evaluation.protocols import protocol_choices

logger = logging.getLogger(__name__)


def methods_to_run(methods, protocol, domains, use_pretrained=True):
    """The methods of the YAML's ``methods`` mapping that run under ``protocol``.

    Stops (:func:`~lmac_brain.evaluation.methods.raise_problems`) on a method the protocol does
    not resolve. Without a pretrained classifier (``use_pretrained`` False, the recipe tests)
    the trained interpreters are left out, since their checkpoints explain another classifier;
    optional methods whose package or domain is unavailable are left out with a warning.
    """
    selected, problems = select_protocol(methods, protocol)
    raise_problems(problems)
    if not use_pretrained:
        selected, dropped = without_trained_explainers(selected)
        logger.warning("use_pretrained is False: random classifier, methods left out: %s", ", ".join(dropped))
    selected, dropped = drop_unavailable_optional(selected, domains)
    for key, reason in dropped:
        logger.warning("Optional method %r left out: %s", key, reason)
    return selected


def _is_source(path):
    return path.split(".")[-1] == "source" or ".source." in path


def protocol_notes(methods, selected, protocol, eval_split, n_items, mask_space, conditions):
    """The notes under the tables of ``metrics.md``: the evaluated split, the mask space, the
    conditions, the checkpoints and options that depend on the protocol, and the assumptions
    behind the reference protocol.

    Arguments
    ---------
    methods : dict
        The YAML's ``methods`` mapping (with its per-protocol choices).
    selected : dict
        The methods that run (:func:`methods_to_run`).
    protocol : str
        ``paper`` or ``reference``.
    eval_split : str
        The evaluated split.
    n_items : int
        How many clips are evaluated.
    mask_space : str
        Where masks are applied in the metrics.
    conditions : dict
        ``label -> Condition``.
    """
    notes = [f"evaluated items: the {eval_split} split ({n_items} clips)",
             f"masks applied to the metrics' inputs in {mask_space} space"]
    notes += [f"condition {c.describe()}" for c in conditions.values()]
    settings = protocol_choices({k: v for k, v in methods.items() if selected.get(k)}, protocol)
    sources = sorted({str(v) for p, v in settings if _is_source(p)})
    settings = [(p, v) for p, v in settings if not _is_source(p)]
    if sources:
        notes.append("trained interpreters whose checkpoint depends on the protocol: " + ", ".join(sources))
    if settings:
        notes.append("method options of this protocol: " + ", ".join(f"{p}={v}" for p, v in settings))
    if protocol == "reference":
        notes.append("assumptions (no public code shows them): SmoothGrad samples, SHAP baselines, the GradCAM "
                     "layer (conv_block6) and its upsampling")
    if any(spec.get("explainer") == "l2i" for spec in selected.values() if spec):
        notes.append("L2I Fid-In is computed as defined; the published L2I Fid-In counts predictions of "
                     "class 0 (docs/protocols.md) and cannot be compared")
    return notes
