"""Recipe: evaluate every explanation method (``recipes/<DATASET>/eval.py``).

Reads like its steps: prepare the data, take the protocol's settings (``protocol: paper |
reference``, :mod:`lmac_brain.evaluation.protocols`), validate the whole configuration (methods,
checkpoints, conditions), load the classifier, run the harness of
:mod:`lmac_brain.evaluation.harness`, which writes ``metrics.csv`` and ``metrics.md`` under
``results/<dataset>/<experiment_name>/<seed>/``.
"""

import logging

from lmac_brain.audio.masking import check_mask_space
from lmac_brain.data.pipelines import classification_dataset, has_ground_truth
from lmac_brain.evaluation.harness import run_evaluation
from lmac_brain.evaluation.methods import (
    drop_unavailable_optional,
    raise_problems,
    select_protocol,
    validate_configuration,
    without_trained_explainers,
)
from lmac_brain.evaluation.protocols import check_protocol, protocol_choices, resolve
from lmac_brain.experiments.classifiers import load_classifier_weights
from lmac_brain.experiments.setup import debug_items, setup_experiment

logger = logging.getLogger(__name__)


def run(argv, dataset):
    """Evaluate the configured methods on ``dataset``; returns the exit status.

    Arguments
    ---------
    argv : list
        ``hparams/eval_cnn14.yaml [--key=value ...]``.
    dataset : str
        ``"esc50"`` or ``"us8k"``.
    """
    hparams, run_opts = setup_experiment(argv, dataset)
    protocol = check_protocol(hparams["protocol"])
    methods, problems = select_protocol(hparams["methods"], protocol)
    raise_problems(problems)
    if not hparams["use_pretrained"]:
        methods, dropped = without_trained_explainers(methods)
        logger.warning("use_pretrained is False: random classifier, methods left out: %s", ", ".join(dropped))
    methods, dropped = drop_unavailable_optional(methods, hparams["domains"])
    for key, reason in dropped:
        logger.warning("Optional method %r left out: %s", key, reason)
    eval_split = resolve(hparams["eval_split"], protocol)
    mask_space = check_mask_space(resolve(hparams["mask_space"], protocol))
    conditions = validate_configuration(
        methods,
        hparams["domains"],
        hparams["conditions"],
        hparams["manifests"],
        hparams["sample_rate"],
        hparams["clip_seconds"],
        hparams["condition_seed"],
        protocol=protocol,
        eval_split=eval_split,
    )
    load_classifier_weights(hparams, dataset)
    manifest = hparams["manifests"][eval_split]
    ground_truth = has_ground_truth(manifest)
    if ground_truth:
        logger.info("The evaluated items carry their clean event: localization metrics on")
    test_data = classification_dataset(
        manifest, hparams["sample_rate"], hparams["clip_seconds"], hparams["label_encoder"],
        ground_truth=ground_truth,
    )
    n_debug = debug_items(run_opts, hparams["batch_size"])
    if n_debug is not None:
        test_data = test_data.filtered_sorted(select_n=n_debug)
    notes = [f"evaluated items: the {eval_split} split ({len(test_data)} clips)",
             f"masks applied to the metrics' inputs in {mask_space} space"]
    notes += [f"condition {c.describe()}" for c in conditions.values()]
    settings = protocol_choices({k: v for k, v in hparams["methods"].items() if methods.get(k)}, protocol)
    sources = sorted({str(v) for p, v in settings if p.split(".")[-1] == "source" or ".source." in p})
    settings = [(p, v) for p, v in settings if p.split(".")[-1] != "source" and ".source." not in p]
    if sources:
        notes.append("trained interpreters whose checkpoint depends on the protocol: " + ", ".join(sources))
    if settings:
        notes.append("method options of this protocol: " + ", ".join(f"{p}={v}" for p, v in settings))
    if protocol == "reference":
        notes.append("assumptions (no public code shows them): SmoothGrad samples, SHAP baselines, the GradCAM "
                     "layer (conv_block6) and its upsampling")
    if any(spec.get("explainer") == "l2i" for spec in methods.values() if spec):
        notes.append("L2I Fid-In is computed as defined; the published L2I Fid-In counts predictions of "
                     "class 0 (docs/protocols.md) and cannot be compared")
    run_evaluation(
        hparams["classifier_model"],
        dataset,
        test_data,
        methods,
        conditions,
        hparams["domains"],
        hparams["output_folder"],
        loader_options=hparams["test_loader_options"],
        device=run_opts.get("device") or "cpu",
        protocol=protocol,
        mask_space=mask_space,
        protocol_notes=notes,
    )
    return 0
