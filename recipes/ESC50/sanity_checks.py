#!/usr/bin/env python3
"""Recipe for the sanity checks of the ESC-50 CNN14's explanations: ROAR and cascading
randomization (paper Sec. 3.4).

To run this recipe, do the following:
    python recipes/ESC50/sanity_checks.py hparams/sanity_checks_cnn14.yaml --data_folder=/path/to/ESC-50

recipes/US8K/sanity_checks.py is a link to this script: run from there, it checks on
UrbanSound8K. Needs the trained classifier and L-MAC checkpoints named in the YAML. Writes
roar.csv/.png, randomization.csv/.png, randomization_<item>.png and sanity_checks.md under
results/<dataset>/<experiment_name>/<seed>/; a rerun skips the finished points.
"""

import os
import sys

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml

from lmac_brain.data.pipelines import classification_dataset
from lmac_brain.experiments.classifiers import load_classifier_weights
from lmac_brain.experiments.setup import (
    class_names,
    dataset_of_script,
    debug_items,
    load_or_create_label_encoder,
    prepare_data,
    with_default,
)
from lmac_brain.sanity.checks import methods_to_check, randomization_check, roar_check
from lmac_brain.sanity.roar import Split

if __name__ == "__main__":
    hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])
    sb.utils.distributed.ddp_init_group(run_opts)  # no-op unless launched by torchrun
    # recipes/US8K/sanity_checks.py links here: the folder of the script run names the dataset.
    overrides = with_default(overrides, "dataset", dataset_of_script(__file__))
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)

    # The saved YAML records the number of classes the data gave (out_n_neurons).
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=with_default(overrides, "out_n_neurons", hparams["out_n_neurons"]),
    )
    dataset = hparams["dataset"]
    manifests = prepare_data(
        dataset, hparams["data_folder"], hparams["manifest_folder"], hparams["train_fold_nums"],
        hparams["valid_fold_nums"], hparams["test_fold_nums"], hparams["esc10_only"],
    )
    label_encoder = load_or_create_label_encoder(manifests, hparams["save_folder"], hparams["classifier_source"])

    # Every check's methods are checked (names, checkpoints) before any work.
    on = {"randomization": hparams["run_randomization"], "roar": hparams["run_roar"]}
    yaml_methods = {"randomization": hparams["randomization_methods"], "roar": hparams["roar_methods"]}
    methods = methods_to_check({check: yaml_methods[check] for check in on if on[check]}, hparams["domain"],
                               hparams["use_pretrained"])
    load_classifier_weights(
        hparams["embedding_model"], hparams["classifier"], hparams["classifier_source"], hparams["save_folder"],
        dataset, hparams["use_pretrained"],
    )
    device = run_opts.get("device") or "cpu"
    classifier = hparams["classifier_model"].to(device).eval()
    splits = {
        split: Split.from_dataset(
            classification_dataset(manifests[split], hparams["sample_rate"], hparams["signal_length_s"], label_encoder),
            split,
        )
        for split in ("train", "valid", "test")
    }

    randomization_items, figure_items = hparams["randomization_items"], hparams["figure_items"]
    roar_fractions, roar_seeds, roar_epochs = hparams["roar_fractions"], hparams["roar_seeds"], hparams["roar_epochs"]
    n_debug = debug_items(run_opts, hparams["mask_batch_size"])
    if n_debug is not None:  # a smoke run: few items, one point, one epoch
        randomization_items, figure_items = min(randomization_items, n_debug), min(figure_items, 1)
        roar_fractions, roar_seeds, roar_epochs = roar_fractions[:1], roar_seeds[:1], 1

    sections = []
    if "randomization" in methods:
        sections.append(randomization_check(
            classifier, methods["randomization"], splits["test"], class_names(label_encoder),
            hparams["output_folder"], hparams["domain"], hparams["randomization_blocks"], randomization_items,
            hparams["randomization_seed"], hparams["mask_batch_size"], figure_items, device=device,
        ))
    if "roar" in methods:
        train_options = {"epochs": roar_epochs, "lr": hparams["roar_lr"],
                         "weight_decay": hparams["roar_weight_decay"], "batch_size": hparams["roar_batch_size"]}
        sections.append(roar_check(
            classifier, methods["roar"], splits, hparams["output_folder"],
            os.path.join(hparams["save_folder"], "roar_cache"), roar_fractions, roar_seeds, hparams["domain"],
            train_options, hparams["mask_batch_size"], hparams["roar_rank_seed"], device=device,
        ))
    if sb.utils.distributed.if_main_process():
        with open(os.path.join(hparams["output_folder"], "sanity_checks.md"), "w", encoding="utf-8") as f:
            f.write("\n\n".join(sections) + "\n")
