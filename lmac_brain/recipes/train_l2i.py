"""Recipe: train the L2I baseline (``recipes/<DATASET>/train_l2i.py``).

The NMF dictionary is learned first on the training clips (on the main process, cached in the
save folder as ``nmf_dictionary.pt``), then ``Psi`` and ``Theta`` are trained on the frozen
classifier. Every checkpoint also holds the dictionary, so the ``l2i`` explainer loads from the
save folder alone.
"""

import logging
import os

from speechbrain.utils.distributed import run_on_main

from lmac_brain.brains.interpreter_stats import CHECKPOINT_KEY
from lmac_brain.brains.l2i import L2IBrain
from lmac_brain.data.pipelines import classification_datasets
from lmac_brain.experiments.classifiers import load_classifier_weights
from lmac_brain.experiments.setup import setup_experiment, train_and_test
from lmac_brain.inference.model_folder import write_model_folder
from lmac_brain.models.nmf import NMFDictionary, collect_frames, learn_nmf
from lmac_brain.reporting.tables import format_table

logger = logging.getLogger(__name__)

# Not ".ckpt": a save folder holding .ckpt files would be read as a checkpoint folder.
NMF_FILE = "nmf_dictionary.pt"


def learn_dictionary(hparams, train_set, path):
    """Learn the NMF dictionary on ``train_set`` and save it to ``path`` (skipped if cached)."""
    if os.path.isfile(path):
        logger.info("NMF dictionary found at %s", path)
        return
    nmf = hparams["nmf"]
    frames = collect_frames(
        train_set, hparams["frontend"], nmf.compression, max_frames=hparams["nmf_max_frames"],
        seed=hparams["seed"], batch_size=hparams["batch_size"],
    )
    W, _, errors = learn_nmf(
        frames, nmf.n_components, n_iter=hparams["nmf_iterations"], seed=hparams["seed"],
        batch_frames=hparams["nmf_batch_frames"],
    )
    learned = NMFDictionary(W.shape[0], W.shape[1], nmf.compression)
    learned.W = W.cpu()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    learned.save(path)
    logger.info("NMF dictionary (relative error %.4f) saved to %s", errors[-1], path)


def run(argv, dataset):
    """Prepare data, load the classifier, learn the NMF dictionary, fit Psi/Theta, evaluate."""
    hparams, run_opts = setup_experiment(argv, dataset)
    load_classifier_weights(hparams, dataset)
    datasets = classification_datasets(hparams)

    nmf_path = os.path.join(hparams["save_folder"], NMF_FILE)
    run_on_main(learn_dictionary, args=[hparams, datasets["train"], nmf_path])
    hparams["nmf"].load(nmf_path)

    brain = train_and_test(L2IBrain, hparams, run_opts, datasets, min_key=CHECKPOINT_KEY)
    logger.info("Test metrics of %s:\n%s", hparams["experiment_name"],
                format_table([{"method": hparams["experiment_name"], **brain.test_stats}]))
    run_on_main(write_model_folder, args=[hparams["output_folder"]])
    return 0
