#!/usr/bin/env python3
"""Train the L2I baseline (NMF dictionary + decoder) on the CNN14 classifier of ESC-50.

    python recipes/ESC50/train_l2i.py hparams/l2i_cnn14.yaml --data_folder=/path/to/ESC-50

Needs a trained classifier (recipes/ESC50/train_classifier.py, or --classifier_source=...).
Learns the NMF dictionary (cached as save/nmf_dictionary.pt), then Psi and Theta; writes
checkpoints and train_log.txt (loss, rec, fid, sparsity, fid_acc, AI, AD, AG, FF, FidIn, MM per
epoch) under results/esc50/<experiment_name>/<seed>/. Explain with build_explainer("l2i", ...,
source=<that save folder>, relevance_threshold=0.2).
"""

from lmac_brain.experiments.setup import main_entry
from lmac_brain.recipes.train_l2i import run

if __name__ == "__main__":
    main_entry(lambda argv: run(argv, dataset="esc50"))
