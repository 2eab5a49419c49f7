"""Recipe: train the CNN14 classifier (``recipes/<DATASET>/train_classifier.py``)."""

from lmac_brain.classifier_brain import ClassifierBrain
from lmac_brain.dataio import classification_datasets
from lmac_brain.experiment import setup_experiment
from lmac_brain.mixing import build_noise_augmenter


def run(argv, dataset):
    """Prepare data, build the Brain from hparams, fit, evaluate on the test split."""
    hparams, run_opts = setup_experiment(argv, dataset)
    datasets = classification_datasets(hparams)

    brain = ClassifierBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    brain.noise_augmenter = build_noise_augmenter(hparams)
    brain.fit(
        hparams["epoch_counter"],
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hparams["train_loader_options"],
        valid_loader_kwargs=hparams["test_loader_options"],
    )
    brain.evaluate(
        datasets["test"], min_key="error", test_loader_kwargs=hparams["test_loader_options"]
    )
