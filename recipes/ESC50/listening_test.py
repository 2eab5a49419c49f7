#!/usr/bin/env python3
"""webMUSHRA listening test of the ESC-50 interpretations (paper Sec. 3.3, Table 3, Fig. 2).

    python recipes/ESC50/listening_test.py export --input manifest.json --mix_other_class --n 5 \
        --methods lmac lmac_ft l2i
    python recipes/ESC50/listening_test.py aggregate --csv webMUSHRA/results/lmac_esc50/mushra.csv \
        --export results/esc50/listening_test/lmac_esc50 [--group MOS-1=rec01,rec02 --group MOS-2=rec03,rec04]

export writes configs/lmac_esc50.yaml and its audio (reference = the input mixture, one condition
per method; webMUSHRA adds the hidden reference and the anchor) under
results/esc50/listening_test/lmac_esc50/; aggregate writes mos.md (MOS per method and per
recording), mos.csv and mos.png.

recipes/US8K/listening_test.py is a link to this script: run from there, it uses the UrbanSound8K models.
"""

import sys

from lmac_brain.experiments.setup import dataset_of_script
from lmac_brain.listening.cli import run

if __name__ == "__main__":
    # recipes/US8K/listening_test.py links here: the folder of the script run names the dataset.
    sys.exit(run(sys.argv[1:], dataset=dataset_of_script(__file__)))
