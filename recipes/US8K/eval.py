#!/usr/bin/env python3
"""Evaluate the explanation methods of the UrbanSound8K CNN14 (paper Tables 1-2 and the OOD conditions).

    python recipes/US8K/eval.py hparams/eval_cnn14.yaml --data_folder=/path/to/UrbanSound8K \
        --wham_folder=/path/to/wham_parent --ljspeech_folder=/path/to/ljspeech_parent

Needs the trained classifier and the L-MAC / L2I checkpoints named in the YAML (it stops with
one message listing whatever is missing). Writes metrics.csv and metrics.md under
results/us8k/<experiment_name>/<seed>/; a rerun skips the rows already there.
"""

from lmac_brain.experiments.setup import main_entry
from lmac_brain.recipes.evaluate import run

if __name__ == "__main__":
    main_entry(lambda argv: run(argv, dataset="us8k"))
