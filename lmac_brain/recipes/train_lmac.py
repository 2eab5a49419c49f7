"""Recipe: train L-MAC, or fine-tune it (``recipes/<DATASET>/train_lmac.py``)."""

import logging
import os

import speechbrain as sb
from speechbrain.utils.distributed import run_on_main

from lmac_brain.brains.interpreter_stats import CHECKPOINT_KEY
from lmac_brain.brains.lmac import LMACBrain
from lmac_brain.checkpoints import load_pretrained
from lmac_brain.data.pipelines import classification_datasets
from lmac_brain.experiments.classifiers import load_classifier_weights
from lmac_brain.experiments.commands import RECIPE_DIRS, TRAINING_COMMANDS
from lmac_brain.experiments.setup import setup_experiment, train_and_test
from lmac_brain.inference.model_folder import write_model_folder
from lmac_brain.reporting.tables import format_table, write_json

logger = logging.getLogger(__name__)


def run(argv, dataset):
    """Prepare data, load the classifier (and stage-one L-MAC), fit, evaluate, print metrics."""
    hparams, run_opts = setup_experiment(argv, dataset)
    load_classifier_weights(hparams, dataset)
    if hparams["finetuning"] and not hparams["use_pretrained"]:
        logger.warning("use_pretrained is False: fine-tuning starts from a random decoder")
    elif hparams["finetuning"]:
        load_pretrained(
            {"decoder": hparams["decoder"]},
            hparams["lmac_source"],
            collect_in=os.path.join(hparams["save_folder"], "pretrained_lmac"),
            min_key=CHECKPOINT_KEY,
            hint="Train the first stage first: "
            + TRAINING_COMMANDS["lmac"].format(recipe=RECIPE_DIRS[dataset])
            + " (or set --lmac_source).",
        )
    # On a synthetic twin, valid/test items carry their clean event: SI-SDR and SDRi are logged.
    datasets = classification_datasets(hparams, ground_truth_where_available=("valid", "test"))

    brain = train_and_test(LMACBrain, hparams, run_opts, datasets, min_key=CHECKPOINT_KEY)
    row = {"method": hparams["experiment_name"], **brain.test_stats}
    if sb.utils.distributed.if_main_process():
        write_json(os.path.join(hparams["output_folder"], "test_metrics.json"), row)
    # Written by the main process while the others wait (the barriers of its loading are skipped).
    run_on_main(write_model_folder, args=[hparams["output_folder"]])
    logger.info("Test metrics of %s:\n%s", hparams["experiment_name"], format_table([row]))
    return 0
