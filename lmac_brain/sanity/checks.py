"""The two sanity checks of paper Sec. 3.4 as ``recipes/<DATASET>/sanity_checks.py`` runs them:
which methods each check takes, and each check run end to end with its figures and its section
of ``sanity_checks.md``.

- cascading randomization: ``randomization.csv`` / ``randomization.png`` (SSIM vs randomized
  blocks, Fig. 4 right) and ``randomization_<item>.png`` (a row per method, like Fig. 3);
- ROAR: ``roar.csv`` / ``roar.png`` (accuracy vs bins removed, random baseline dashed, Fig. 4
  left), every method's removal ranks cached once, computed with the original classifier.

A rerun skips the randomization steps and ROAR points already in the CSVs.
"""

import logging
import os

from speechbrain.utils.distributed import if_main_process

from lmac_brain.evaluation.methods import (
    enabled,
    method_label,
    method_options,
    raise_problems,
    validate_methods,
    without_trained_explainers,
)
from lmac_brain.reporting.results_csv import read_csv_rows
from lmac_brain.reporting.tables import format_table
from lmac_brain.sanity.plots import roar_summary, save_cascade_figure, save_roar_figure, save_ssim_figure
from lmac_brain.sanity.randomization import CSV_COLUMNS as RANDOMIZATION_COLUMNS
from lmac_brain.sanity.randomization import run_randomization
from lmac_brain.sanity.roar import RANDOM_LABEL, domain_inputs, run_roar

logger = logging.getLogger(__name__)


def configured_methods(methods, domain):
    """``row label -> (explainer name, options)`` of the enabled methods of a YAML mapping."""
    return {method_label(key, spec): method_options(spec, domain) for key, spec in enabled(methods).items()}


def methods_to_check(methods, domain, use_pretrained=True):
    """The methods each sanity check runs: ``check -> {label: (explainer, options)}``.

    Arguments
    ---------
    methods : dict
        ``check -> the YAML's methods mapping`` of the checks that are on (``randomization``,
        ``roar``).
    domain : str
        The domain whose bins are compared or removed.
    use_pretrained : bool
        False (a random classifier, the recipe tests): the trained interpreters are left out,
        and a check left without methods is not run.

    Every problem (unknown explainer, missing checkpoint, a ROAR label that is the random
    baseline's) is reported at once, before any work.
    """
    if not use_pretrained:
        kept = {}
        for check, mapping in methods.items():
            mapping, dropped = without_trained_explainers(mapping)
            logger.warning("use_pretrained is False: random classifier, %s leaves out %s", check, dropped)
            if enabled(mapping):
                kept[check] = mapping
        methods = kept
    problems = [f"{check}: {p}" for check, mapping in methods.items() for p in validate_methods(mapping, [domain])]
    roar_labels = {method_label(k, spec) for k, spec in enabled(methods.get("roar", {})).items()
                   if isinstance(spec, dict)}
    if RANDOM_LABEL in roar_labels:
        problems.append(f"roar: the label {RANDOM_LABEL!r} is the random baseline's")
    raise_problems(problems)
    return {check: configured_methods(mapping, domain) for check, mapping in methods.items()}


def randomization_check(classifier, methods, test, classes, output_folder, domain, blocks, n_items, seed,
                        batch_size, figure_items, device="cpu"):
    """Cascading randomization of the first ``n_items`` test items; returns its markdown section.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The trained classifier (copied before its blocks are randomized).
    methods : dict
        ``label -> (explainer name, options)``.
    test : lmac_brain.sanity.roar.Split
        The test split.
    classes : list of str
        Class names in label order (figure titles).
    output_folder : str
        Where the CSV and the figures go.
    domain : str
        The domain of the compared masks.
    blocks : list of str
        The blocks randomized, from the logits down, one more per step.
    n_items : int
        How many test items are explained.
    seed : int
        Seed of the randomized weights.
    batch_size : int
        Items explained at once.
    figure_items : int
        ``randomization_<item>.png`` for that many first items.
    device : str
        Device of the classifier.
    """
    blocks = list(blocks)
    n_items = min(n_items, len(test))
    inputs = domain_inputs(classifier, test.wavs[:n_items].to(device), domain).detach()
    csv_path = os.path.join(output_folder, "randomization.csv")
    n_figures = min(figure_items, n_items)
    figures = run_randomization(classifier, methods, inputs, csv_path, domain=domain, blocks=blocks, seed=seed,
                                batch_size=batch_size, figure_items=n_figures)
    rows = read_csv_rows(csv_path, RANDOMIZATION_COLUMNS)
    if if_main_process():
        save_ssim_figure(rows, os.path.join(output_folder, "randomization.png"), blocks)
        for i in range(n_figures):
            save_cascade_figure(
                inputs[i].cpu(),
                {label: masks[i] for label, masks in figures.items()},
                blocks,
                os.path.join(output_folder, f"randomization_{test.ids[i]}.png"),
                title=f"{test.ids[i]} (label {classes[int(test.labels[i])]})",
            )
    table = [
        {"method": r["method"], "randomized": int(r["n_randomized"]), "down to": r["block"] or "none",
         "SSIM": _number(r["ssim_mean"]), "std": _number(r["ssim_std"]),
         "Spearman": _number(r["spearman_mean"]), "Spearman std": _number(r["spearman_std"])}
        for r in rows
    ]
    text = (f"## Cascading randomization (SSIM and Spearman rank correlation to the original "
            f"interpretation, {n_items} items)\n\n")
    text += format_table(table)
    logger.info("%s", text)
    return text


def _number(cell):
    """A CSV cell as a float: the results CSV writes NaN (e.g. the rank correlation of a constant
    mask) as an empty cell."""
    return float(cell) if cell != "" else float("nan")


def roar_check(classifier, methods, splits, output_folder, cache_folder, fractions, seeds, domain, train_options,
               mask_batch_size, rank_seed, device="cpu"):
    """ROAR of every method and the random baseline; returns its markdown section.

    The arguments are those of :func:`lmac_brain.sanity.roar.run_roar` (``roar.csv`` in
    ``output_folder``); ``roar.png`` is drawn next to it.
    """
    rows = run_roar(
        classifier, methods, splits, os.path.join(output_folder, "roar.csv"), cache_folder=cache_folder,
        fractions=list(fractions), seeds=list(seeds), domain=domain, train_options=train_options,
        mask_batch_size=mask_batch_size, rank_seed=rank_seed, device=device,
    )
    if if_main_process():
        save_roar_figure(rows, os.path.join(output_folder, "roar.png"), random_label=RANDOM_LABEL)
    table = []
    for method, (ks, mean, std) in roar_summary(rows).items():
        row = {"method": method}
        row.update({f"k={int(k)}%": f"{m:.1f} ± {s:.1f}" for k, m, s in zip(ks, mean, std)})
        table.append(row)
    text = "## ROAR (test accuracy %, mean ± std over the seeds)\n\n" + format_table(table)
    logger.info("%s", text)
    return text
