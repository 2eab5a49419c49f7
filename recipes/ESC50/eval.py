#!/usr/bin/env python3
"""Recipe for evaluating the explanation methods of the ESC-50 CNN14 (paper Tables 1-2 and the
OOD conditions).

To run this recipe, do the following:
    python recipes/ESC50/eval.py hparams/eval_cnn14.yaml --data_folder=/path/to/ESC-50 \
        --wham_folder=/path/to/wham_parent --ljspeech_folder=/path/to/ljspeech_parent

recipes/US8K/eval.py is a link to this script: run from there, it evaluates on UrbanSound8K.
Needs the trained classifier and the L-MAC / L2I checkpoints named in the YAML (it stops with
one message listing whatever is missing). ``protocol: paper | reference`` picks the settings
(docs/protocols.md). Writes metrics.csv and metrics.md under
results/<dataset>/<experiment_name>/<seed>/; a rerun skips the rows already there.
"""

import sys

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml

from lmac_brain.audio.masking import check_mask_space
from lmac_brain.data.pipelines import classification_dataset, has_ground_truth
from lmac_brain.evaluation.harness import run_evaluation
from lmac_brain.evaluation.methods import validate_configuration
from lmac_brain.evaluation.plan import methods_to_run, protocol_notes
from lmac_brain.evaluation.protocols import check_protocol, resolve
from lmac_brain.experiments.classifiers import load_classifier_weights
from lmac_brain.experiments.setup import (
    dataset_of_script,
    debug_items,
    load_or_create_label_encoder,
    prepare_data,
    with_default,
)

if __name__ == "__main__":
    hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])
    sb.utils.distributed.ddp_init_group(run_opts)  # no-op unless launched by torchrun
    # recipes/US8K/eval.py links here: the folder of the script run names the dataset.
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
        hparams["valid_fold_nums"], hparams["test_fold_nums"], hparams["esc10_only"], hparams["wham_folder"],
        hparams["ljspeech_folder"],
    )
    label_encoder = load_or_create_label_encoder(manifests, hparams["save_folder"], hparams["classifier_source"])

    # The whole configuration is checked before any work: one message lists every problem.
    protocol = check_protocol(hparams["protocol"])
    methods = methods_to_run(hparams["methods"], protocol, hparams["domains"], hparams["use_pretrained"])
    eval_split = resolve(hparams["eval_split"], protocol)
    mask_space = check_mask_space(resolve(hparams["mask_space"], protocol))
    conditions = validate_configuration(
        methods, hparams["domains"], hparams["conditions"], manifests, hparams["sample_rate"],
        hparams["signal_length_s"], hparams["condition_seed"], protocol=protocol, eval_split=eval_split,
    )
    load_classifier_weights(
        hparams["embedding_model"], hparams["classifier"], hparams["classifier_source"], hparams["save_folder"],
        dataset, hparams["use_pretrained"],
    )

    # Items that carry their clean event (a synthetic twin) are also scored for localization.
    test_data = classification_dataset(
        manifests[eval_split], hparams["sample_rate"], hparams["signal_length_s"], label_encoder,
        ground_truth=has_ground_truth(manifests[eval_split]),
    )
    n_debug = debug_items(run_opts, hparams["batch_size"])
    if n_debug is not None:
        test_data = test_data.filtered_sorted(select_n=n_debug)

    run_evaluation(
        hparams["classifier_model"],
        dataset,
        test_data,
        methods,
        conditions,
        hparams["domains"],
        hparams["output_folder"],
        loader_options=hparams["test_loader_options"],
        device=run_opts.get("device") or "cpu",
        protocol=protocol,
        mask_space=mask_space,
        protocol_notes=protocol_notes(
            hparams["methods"], methods, protocol, eval_split, len(test_data), mask_space, conditions
        ),
    )
