#!/usr/bin/env python3
"""Train L-MAC to explain the CNN14 classifier of UrbanSound8K (paper Eq. 2), or fine-tune it.

    python recipes/US8K/train_lmac.py hparams/lmac_cnn14.yaml --data_folder=/path/to/UrbanSound8K \
        [--add_wham_noise=True --wham_folder=/path]
    python recipes/US8K/train_lmac.py hparams/lmac_cnn14_ft.yaml --data_folder=...   # fine-tuning

Needs a trained classifier (recipes/US8K/train_classifier.py, or --classifier_source=HF id or
folder). Writes checkpoints, train_log.txt (loss, AI, AD, AG, FF, FidIn, MM per epoch) and
listenable/ (original, interpretation and residual wavs + a PNG per item) under
results/us8k/<experiment_name>/<seed>/.
"""

from lmac_brain.experiments.setup import main_entry
from lmac_brain.recipes.train_lmac import run

if __name__ == "__main__":
    main_entry(lambda argv: run(argv, dataset="us8k"))
