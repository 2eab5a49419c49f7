#!/usr/bin/env python3
"""Train the L2I baseline (NMF dictionary + decoder) on the CNN14 classifier of UrbanSound8K.

    python recipes/US8K/train_l2i.py hparams/l2i_cnn14.yaml --data_folder=/path/to/UrbanSound8K

Needs a trained classifier (recipes/US8K/train_classifier.py, or --classifier_source=...).
Learns the NMF dictionary (cached as save/nmf_dictionary.pt), then Psi and Theta; writes
checkpoints and train_log.txt (loss, rec, fid, sparsity, fid_acc, AI, AD, AG, FF, FidIn, MM per
epoch) under results/us8k/<experiment_name>/<seed>/. Explain with build_explainer("l2i", ...,
source=<that save folder>, relevance_threshold=0.2).
"""

from lmac_brain.experiments.setup import main_entry
from lmac_brain.recipes.train_l2i import run

if __name__ == "__main__":
    main_entry(lambda argv: run(argv, dataset="us8k"))
