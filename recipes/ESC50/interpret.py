#!/usr/bin/env python3
"""Explain the ESC-50 classifier's decisions on your own audio (listenable L-MAC interpretations).

    python recipes/ESC50/interpret.py --input my_recording.wav          # or a folder, or a manifest
    python recipes/ESC50/interpret.py --input folder/ --method lmac_ft --device cuda
    python recipes/ESC50/interpret.py --input folder/ --method gradcam  # baselines need only the classifier

Uses the latest trained classifier and interpreter under results/esc50/ (or --classifier/--interpreter).
Writes <id>_original.wav, <id>_interpretation.wav, <id>_residual.wav, <id>.png per input, plus
index.html and report.json, in results/esc50/interpret/<method>/ (or --output). Exit status 1 when
some inputs could not be explained (listed in the page), 2 when nothing ran.
"""

from lmac_brain.experiments.setup import main_entry
from lmac_brain.recipes.interpret import run

if __name__ == "__main__":
    main_entry(lambda argv: run(argv, dataset="esc50"))
