#!/usr/bin/env python3
"""Explain the ESC-50 classifier's decisions on your own audio (listenable L-MAC interpretations).

    python recipes/ESC50/interpret.py --input my_recording.wav          # or a folder, or a manifest
    python recipes/ESC50/interpret.py --input folder/ --method lmac_ft --device cuda
    python recipes/ESC50/interpret.py --input folder/ --method gradcam  # baselines need only the classifier

Uses the latest trained classifier and interpreter under results/esc50/ (or --classifier/--interpreter).
Writes <id>_original.wav, <id>_interpretation.wav, <id>_residual.wav, <id>.png per input, plus
index.html and report.json, in results/esc50/interpret/<method>/ (or --output). Exit status 1 when
some inputs could not be explained (listed in the page), 2 when nothing ran.

recipes/US8K/interpret.py is a link to this script: run from there, it uses the UrbanSound8K models.
"""

import sys

from lmac_brain.experiments.setup import dataset_of_script
from lmac_brain.interpret.cli import run

if __name__ == "__main__":
    # recipes/US8K/interpret.py links here: the folder of the script run names the dataset.
    sys.exit(run(sys.argv[1:], dataset=dataset_of_script(__file__)))
