#!/usr/bin/env python3
"""Train the CNN14 classifier on ESC-50.

    python recipes/ESC50/train_classifier.py hparams/classifier_cnn14.yaml --data_folder=/path/to/ESC-50
    python recipes/ESC50/train_classifier.py hparams/classifier_cnn14_compact.yaml --data_folder=...

Add --add_wham_noise=True --wham_folder=/path for WHAM! augmentation. Writes checkpoints,
train_log.txt, test_accuracy.txt and confusion_matrix.{csv,png} under
results/esc50/<experiment_name>/<seed>/.
"""

from lmac_brain.experiments.setup import main_entry
from lmac_brain.recipes.train_classifier import run

if __name__ == "__main__":
    main_entry(lambda argv: run(argv, dataset="esc50"))
