#!/usr/bin/env python3
"""Sanity checks of the UrbanSound8K CNN14's explanations: ROAR and cascading randomization (paper Sec. 3.4).

    python recipes/US8K/sanity_checks.py hparams/sanity_checks_cnn14.yaml --data_folder=/path/to/UrbanSound8K

Needs the trained classifier and L-MAC checkpoints named in the YAML. Writes roar.csv/.png,
randomization.csv/.png, randomization_<item>.png and sanity_checks.md under
results/us8k/<experiment_name>/<seed>/; a rerun skips the finished points.
"""

from lmac_brain.experiments.setup import main_entry
from lmac_brain.recipes.sanity_checks import run

if __name__ == "__main__":
    main_entry(lambda argv: run(argv, dataset="us8k"))
