#!/usr/bin/env python3
"""The paper's Tables 1-2 on ESC-50 under both evaluation protocols, beside the published values.

    python recipes/ESC50/paper_tables.py --data_folder=/path/ESC-50-master --wham_folder=/path/wham_parent \
        [--profile=paper --device=cuda] [--ljspeech_folder=... --conditions=id,ood_mix,white_noise,speech]

Trains every model the tables need (classifier, L-MAC, each fine-tuned L-MAC with both guidance
gates, L2I both ways; finished runs are skipped), evaluates with --protocol=paper and
--protocol=reference, and writes results/esc50/<eval experiment>/<seed>/paper_tables.md next to
metrics.csv and metrics.md. `make paper-tables` runs it on the synthetic twins. docs/protocols.md
explains the protocols.
"""

import sys

from lmac_brain.experiments.paper_runs import main
from lmac_brain.experiments.setup import dataset_of_script

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], dataset=dataset_of_script(__file__)))
