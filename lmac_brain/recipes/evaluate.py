"""Recipe: evaluate every explanation method (``recipes/<DATASET>/eval.py``).

Reads like its steps: prepare the data, validate the whole configuration (methods,
checkpoints, conditions), load the classifier, run the harness of
:mod:`lmac_brain.evaluation.harness`, which writes ``metrics.csv`` and ``metrics.md`` under
``results/<dataset>/<experiment_name>/<seed>/``.
"""

import logging

from lmac_brain.data.pipelines import classification_dataset, has_ground_truth
from lmac_brain.evaluation.harness import run_evaluation
from lmac_brain.evaluation.methods import validate_configuration, without_trained_explainers
from lmac_brain.experiments.classifiers import load_classifier_weights
from lmac_brain.experiments.setup import debug_items, setup_experiment

logger = logging.getLogger(__name__)


def run(argv, dataset):
    """Evaluate the configured methods on ``dataset``'s test set; returns the exit status.

    Arguments
    ---------
    argv : list
        ``hparams/eval_cnn14.yaml [--key=value ...]``.
    dataset : str
        ``"esc50"`` or ``"us8k"``.
    """
    hparams, run_opts = setup_experiment(argv, dataset)
    methods = hparams["methods"]
    if not hparams["use_pretrained"]:
        methods, dropped = without_trained_explainers(methods)
        logger.warning("use_pretrained is False: random classifier, methods left out: %s", ", ".join(dropped))
    conditions = validate_configuration(
        methods,
        hparams["domains"],
        hparams["conditions"],
        hparams["manifests"],
        hparams["sample_rate"],
        hparams["clip_seconds"],
        hparams["condition_seed"],
    )
    load_classifier_weights(hparams, dataset)
    test_manifest = hparams["manifests"]["test"]
    ground_truth = has_ground_truth(test_manifest)
    if ground_truth:
        logger.info("The test items carry their clean event: localization metrics on")
    test_data = classification_dataset(
        test_manifest, hparams["sample_rate"], hparams["clip_seconds"], hparams["label_encoder"],
        ground_truth=ground_truth,
    )
    n_debug = debug_items(run_opts, hparams["batch_size"])
    if n_debug is not None:
        test_data = test_data.filtered_sorted(select_n=n_debug)
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
    )
    return 0
