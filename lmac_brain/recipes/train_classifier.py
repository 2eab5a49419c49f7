"""Recipe: train the CNN14 classifier (``recipes/<DATASET>/train_classifier.py``)."""

from lmac_brain.classifier_brain import ClassifierBrain
from lmac_brain.dataio import classification_datasets
from lmac_brain.experiment import setup_experiment, train_and_test


def run(argv, dataset):
    """Prepare data, build the Brain from hparams, fit, evaluate on the test split."""
    hparams, run_opts = setup_experiment(argv, dataset)
    datasets = classification_datasets(hparams)

    train_and_test(ClassifierBrain, hparams, run_opts, datasets, min_key="error")
