"""Recipe: train the CNN14 classifier (``recipes/<DATASET>/train_classifier.py``)."""

from lmac_brain.brains.classifier import ClassifierBrain
from lmac_brain.data.pipelines import classification_datasets
from lmac_brain.experiments.setup import setup_experiment, train_and_test


def run(argv, dataset):
    """Prepare data, build the Brain from hparams, fit, evaluate on the test split."""
    hparams, run_opts = setup_experiment(argv, dataset)
    datasets = classification_datasets(hparams)

    train_and_test(ClassifierBrain, hparams, run_opts, datasets, min_key="error")
