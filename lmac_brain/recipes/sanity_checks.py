"""Recipe: the sanity checks of paper Sec. 3.4 (``recipes/<DATASET>/sanity_checks.py``).

Reads like its steps: prepare the data, check the methods and their checkpoints, load the
classifier, run the cascading randomization test (:mod:`lmac_brain.sanity.randomization`) and ROAR
(:mod:`lmac_brain.sanity.roar`), draw the figures. Everything goes under
``results/<dataset>/<experiment_name>/<seed>/``:

- ``randomization.csv`` / ``randomization.png`` (SSIM vs randomized blocks, Fig. 4 right) and
  ``randomization_<item>.png`` (a row per method, like Fig. 3);
- ``roar.csv`` / ``roar.png`` (accuracy vs bins removed, random baseline dashed, Fig. 4 left);
- ``sanity_checks.md``: both results as tables;
- ``save/roar_cache/``: every method's removal ranks, computed once with the original classifier.

A rerun skips the randomization steps and ROAR points already in the CSVs.
"""

import logging
import os

import speechbrain as sb

from lmac_brain.data.pipelines import classification_datasets
from lmac_brain.evaluation.methods import (
    enabled,
    method_label,
    method_options,
    raise_problems,
    validate_methods,
    without_trained_explainers,
)
from lmac_brain.experiments.classifiers import load_classifier_weights
from lmac_brain.experiments.setup import debug_items, setup_experiment
from lmac_brain.reporting.results_csv import read_csv_rows
from lmac_brain.reporting.tables import format_table
from lmac_brain.sanity.plots import roar_summary, save_cascade_figure, save_roar_figure, save_ssim_figure
from lmac_brain.sanity.randomization import CSV_COLUMNS as RANDOMIZATION_COLUMNS
from lmac_brain.sanity.randomization import run_randomization
from lmac_brain.sanity.roar import RANDOM_LABEL, Split, domain_inputs, run_roar

logger = logging.getLogger(__name__)


def configured_methods(methods, domain):
    """``row label -> (explainer name, options)`` of the enabled methods of a YAML mapping."""
    return {method_label(key, spec): method_options(spec, domain) for key, spec in enabled(methods).items()}


def run(argv, dataset):
    """Run the configured sanity checks on ``dataset``; returns the exit status.

    Arguments
    ---------
    argv : list
        ``hparams/sanity_checks_cnn14.yaml [--key=value ...]``.
    dataset : str
        ``"esc50"`` or ``"us8k"``.
    """
    hparams, run_opts = setup_experiment(argv, dataset)
    if not hparams["use_pretrained"]:
        for check in ("randomization", "roar"):
            hparams[f"{check}_methods"], dropped = without_trained_explainers(hparams[f"{check}_methods"])
            logger.warning("use_pretrained is False: random classifier, %s leaves out %s", check, dropped)
            if not enabled(hparams[f"{check}_methods"]):
                hparams[f"run_{check}"] = False
    n_debug = debug_items(run_opts, hparams["mask_batch_size"])
    if n_debug is not None:  # a smoke run: few items, one point, one epoch
        hparams.update(randomization_items=min(hparams["randomization_items"], n_debug),
                       figure_items=min(hparams["figure_items"], 1), roar_fractions=hparams["roar_fractions"][:1],
                       roar_seeds=hparams["roar_seeds"][:1], roar_epochs=1)
    domain = hparams["domain"]
    checks = {"randomization": hparams["run_randomization"], "roar": hparams["run_roar"]}
    problems = []
    for check, on in checks.items():
        if on:
            problems += [f"{check}: {p}" for p in validate_methods(hparams[f"{check}_methods"], [domain])]
    roar_labels = {method_label(k, spec) for k, spec in enabled(hparams["roar_methods"]).items()
                   if isinstance(spec, dict)}
    if RANDOM_LABEL in roar_labels:
        problems.append(f"roar: the label {RANDOM_LABEL!r} is the random baseline's")
    raise_problems(problems)

    load_classifier_weights(hparams, dataset)
    device = run_opts.get("device") or "cpu"
    classifier = hparams["classifier_model"].to(device).eval()
    datasets = classification_datasets(hparams)
    splits = {name: Split.from_dataset(datasets[name], name) for name in ("train", "valid", "test")}
    out = hparams["output_folder"]
    main = sb.utils.distributed.if_main_process()

    sections = []
    if checks["randomization"]:
        sections.append(_randomization(hparams, classifier, splits["test"], domain, device, out, main))
    if checks["roar"]:
        sections.append(_roar(hparams, classifier, splits, domain, device, out, main))
    if main:
        with open(os.path.join(out, "sanity_checks.md"), "w", encoding="utf-8") as f:
            f.write("\n\n".join(sections) + "\n")
    return 0


def _randomization(hparams, classifier, test, domain, device, out, main):
    blocks = list(hparams["randomization_blocks"])
    n_items = min(hparams["randomization_items"], len(test))
    inputs = domain_inputs(classifier, test.wavs[:n_items].to(device), domain).detach()
    csv_path = os.path.join(out, "randomization.csv")
    n_figures = min(hparams["figure_items"], n_items)
    figures = run_randomization(
        classifier,
        configured_methods(hparams["randomization_methods"], domain),
        inputs,
        csv_path,
        domain=domain,
        blocks=blocks,
        seed=hparams["randomization_seed"],
        batch_size=hparams["mask_batch_size"],
        figure_items=n_figures,
    )
    rows = read_csv_rows(csv_path, RANDOMIZATION_COLUMNS)
    if main:
        save_ssim_figure(rows, os.path.join(out, "randomization.png"), blocks)
        for i in range(n_figures):
            save_cascade_figure(
                inputs[i].cpu(),
                {label: masks[i] for label, masks in figures.items()},
                blocks,
                os.path.join(out, f"randomization_{test.ids[i]}.png"),
                title=f"{test.ids[i]} (label {hparams['classes'][int(test.labels[i])]})",
            )
    table = [
        {"method": r["method"], "randomized": int(r["n_randomized"]), "down to": r["block"] or "none",
         "SSIM": float(r["ssim_mean"]), "std": float(r["ssim_std"]),
         "Spearman": float(r["spearman_mean"]), "Spearman std": float(r["spearman_std"])}
        for r in rows
    ]
    text = (f"## Cascading randomization (SSIM and Spearman rank correlation to the original "
            f"interpretation, {n_items} items)\n\n")
    text += format_table(table)
    logger.info("%s", text)
    return text


def _roar(hparams, classifier, splits, domain, device, out, main):
    csv_path = os.path.join(out, "roar.csv")
    rows = run_roar(
        classifier,
        configured_methods(hparams["roar_methods"], domain),
        splits,
        csv_path,
        cache_folder=os.path.join(hparams["save_folder"], "roar_cache"),
        fractions=list(hparams["roar_fractions"]),
        seeds=list(hparams["roar_seeds"]),
        domain=domain,
        train_options={
            "epochs": hparams["roar_epochs"],
            "lr": hparams["roar_lr"],
            "weight_decay": hparams["roar_weight_decay"],
            "batch_size": hparams["roar_batch_size"],
        },
        mask_batch_size=hparams["mask_batch_size"],
        rank_seed=hparams["roar_rank_seed"],
        device=device,
    )
    if main:
        save_roar_figure(rows, os.path.join(out, "roar.png"), random_label=RANDOM_LABEL)
    table = []
    for method, (ks, mean, std) in roar_summary(rows).items():
        row = {"method": method}
        row.update({f"k={int(k)}%": f"{m:.1f} ± {s:.1f}" for k, m, s in zip(ks, mean, std)})
        table.append(row)
    text = "## ROAR (test accuracy %, mean ± std over the seeds)\n\n" + format_table(table)
    logger.info("%s", text)
    return text
