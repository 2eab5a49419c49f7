"""The L-MAC decoder ablation: decoder variant x mask space x l1 scaling x budget, over seeds.

    python benchmarks/ablation_lmac.py [--out results/ablation] [--seeds 1 2 3] [--jobs 3] \
        [--variants fullres transposed_stack] [--spaces linear] [--reductions batch_sum] \
        [--budgets 5 15] [--data ESC50_FOLDER --wham WHAM_FOLDER [--classifier-epochs 20]] [--table-only]

Configurations are compared on the VALIDATION fold (ESC-50 fold 4): every metric (the evaluation
recipe with ``--eval_split=valid``, clean clips, L-MAC's own mask space) and the randomization test
below are computed on it. The chosen one is then scored once on the test fold by
``benchmarks/report_lmac_test.py``, which reuses the trained runs.

On the ESC-50 twin of the demo (10 classes, 8 clips per class and fold, 2 s; generated in
``<out>/data`` when missing) or on ``--data`` (e.g. ``benchmarks/real_devset.py``'s real
recordings), for every seed: the compact classifier (WHAM! augmentation), then for every (variant,
mask space, l1 scaling) one compact L-MAC run, scored after each of ``--budgets`` epochs, each
budget resumed from the checkpoint of the one before (the learning rate is constant, so the first
epochs of a longer run are the shorter run; the recipe keeps the checkpoint of lowest validation
loss). Each run's validation metrics (faithfulness, SPS, MM, template_share, and on a twin
localization against the ideal binary mask and SI-SDR/SDRi against the clean event) are in
``<out>/runs/<seed>/<variant>_<space>_<l1>/e<epochs>_valid.json``, and the cascading
randomization test of the longest budget (``sanity_checks.py``: SSIM and Spearman correlation of
L-MAC's masks once the head and conv_block6 ... conv_block3 are re-initialised) in
``randomization_e<epochs>/``.
The table of means and standard deviations over seeds goes to ``<out>/ablation_valid.md`` and the
terminal, with the measured seconds per training epoch (train + valid, on this machine, ``--jobs``
runs side by side).

Budgets already scored are skipped, so the command can be stopped and started again, and a
longer budget added later extends every run (the run folder then holds the longer run, which
``benchmarks/report_lmac_test.py`` scores).
"""

import argparse
import csv
import glob
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLUMNS = ("AI", "AD", "AG", "FF", "FidIn", "SPS", "MM", "template_share", "loc_auc", "loc_iou", "SI-SDR", "SDRi",
           "SSIM_rand", "Spearman_rand")
"""``SSIM_rand``/``Spearman_rand``: L-MAC's SSIM and rank correlation to its own masks once the head
and conv_block6 ... conv_block3 are randomized (the decision is then noise; longest budget)."""
OTHER_METHODS = ("saliency", "smoothgrad", "ig", "gradcam", "guided_gradcam", "guided_backprop", "shap", "zeros",
                 "ones")
"""Methods of the evaluation left out of the validation scoring (the gradient baselines are compared
once, on the test fold, by ``benchmarks/report_lmac_test.py``)."""
DECISION_BLOCKS = 5
"""Randomization step read: head, conv_block6, conv_block5, conv_block4, conv_block3 randomized."""
TWIN = ["--n-classes", "10", "--clips-per-class-per-fold", "8", "--signal-length-s", "2.0", "--seed", "0"]


def run(cmd, log, threads):
    """Run ``cmd`` with its output in ``log``; returns the wall time, raises on failure."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TQDM_DISABLE": "1", "PYTHONPATH": ROOT}
    start = time.perf_counter()
    with open(log, "a", encoding="utf-8") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env, check=False)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); see {log}")
    return time.perf_counter() - start


def make_data(out, esc50=None, wham=None):
    """``(ESC-50 folder, WHAM! folder)``: the given ones, else the twin (generated when missing)."""
    if esc50:
        if not wham:
            raise SystemExit("--data needs --wham (the noise of the classifier's augmentation)")
        return os.path.abspath(esc50), os.path.abspath(wham)
    data = os.path.join(out, "data")
    if not os.path.exists(os.path.join(data, "ESC50", "SYNTHETIC_TWIN.json")):
        os.makedirs(data, exist_ok=True)
        log = os.path.join(out, "data.log")
        run([sys.executable, "-m", "lmac_brain.synthetic", "esc50", "--out", os.path.join(data, "ESC50"), *TWIN],
            log, 2)
        run([sys.executable, "-m", "lmac_brain.synthetic", "wham", "--out", os.path.join(data, "wham")], log, 2)
    return os.path.join(data, "ESC50"), os.path.join(data, "wham")


def classifier(out, data, seed, threads, epochs=None):
    esc50, wham = data
    folder = os.path.join(out, "classifiers", str(seed))
    if not os.path.exists(os.path.join(folder, "test_accuracy.txt")):
        os.makedirs(folder, exist_ok=True)
        run([sys.executable, "recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
             f"--data_folder={esc50}", f"--wham_folder={wham}", "--add_wham_noise=True",
             f"--seed={seed}", f"--output_folder={folder}",
             *([f"--number_of_epochs={epochs}"] if epochs else [])], os.path.join(folder, "run.log"), threads)
    return folder


def lmac_run(out, data, seed, variant, space, reduction, budgets, threads):
    """Train (or resume) one configuration to each budget, scoring each on the validation fold, and
    run the randomization test of the longest."""
    folder = os.path.join(out, "runs", str(seed), f"{variant}_{space}_{reduction}")
    os.makedirs(folder, exist_ok=True)
    for epochs in budgets:
        name = f"e{epochs}"
        path = os.path.join(folder, f"{name}_valid.json")
        if not os.path.exists(path):
            # The recipe also tests on the test fold; that file is not read here.
            seconds = run(
                [sys.executable, "recipes/ESC50/train_lmac.py", "hparams/lmac_cnn14_compact.yaml",
                 f"--data_folder={data[0]}", f"--seed={seed}", f"--output_folder={folder}/run",
                 f"--classifier_source={out}/classifiers/{seed}/save", f"--decoder_variant={variant}",
                 f"--mask_space={space}", f"--regularizer_reduction={reduction}", f"--number_of_epochs={epochs}",
                 "--n_listenable=2"],
                os.path.join(folder, "run.log"), threads,
            )
            metrics = {**valid_metrics(out, data, seed, folder, name, threads), "epochs": epochs, "seconds": seconds}
            with open(path, "w", encoding="utf-8") as f:
                json.dump(metrics, f, indent=2)
    randomization(out, data, seed, folder, f"e{budgets[-1]}", threads)


def scored_runs(out, seeds):
    """``{(seed, variant, space, l1): {epochs: metrics}}`` of every budget scored under ``out``, with
    the randomization test's SSIM_rand/Spearman_rand where it was run for that budget."""
    results = {}
    for seed in seeds:
        for path in sorted(glob.glob(os.path.join(out, "runs", str(seed), "*", "e*_valid.json"))):
            folder = os.path.dirname(path)
            # <variant>_<space>_<l1>: spaces have no underscore, both l1 scalings have one.
            *variant, space, reduction_a, reduction_b = os.path.basename(folder).split("_")
            with open(path, encoding="utf-8") as f:
                metrics = json.load(f)
            sanity = os.path.join(folder, f"randomization_e{metrics['epochs']}", "randomization.csv")
            if os.path.exists(sanity):
                metrics["SSIM_rand"], metrics["Spearman_rand"] = randomization_scores(sanity)
            config = (seed, "_".join(variant), space, f"{reduction_a}_{reduction_b}")
            results.setdefault(config, {})[metrics["epochs"]] = metrics
    return results


def valid_metrics(out, data, seed, folder, name, threads):
    """L-MAC's row of the evaluation on the clean validation fold (metrics in its own mask space)."""
    evaluation = os.path.join(folder, f"valid_{name}")
    run([sys.executable, "recipes/ESC50/eval.py", "hparams/eval_cnn14_compact.yaml", f"--data_folder={data[0]}",
         f"--seed={seed}", f"--classifier_source={out}/classifiers/{seed}/save", f"--lmac_source={folder}/run/save",
         "--eval_split=valid", "--domains=[stft]", f"--methods={{{', '.join(f'{m}: null' for m in OTHER_METHODS)}}}",
         "--conditions={id: null, ood_mix: null, white_noise: null, speech: null}", f"--output_folder={evaluation}"],
        os.path.join(folder, "valid.log"), threads)
    with open(os.path.join(evaluation, "metrics.csv"), encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["method"] == "lmac")
    return {k: float(v) for k, v in row.items() if k in COLUMNS and v not in (None, "")}


def randomization(out, data, seed, folder, name, threads):
    """Run the cascading randomization test of the run in ``folder`` on the validation fold (the
    sanity recipe explains its `test` split: fold 4 here, fold 5 as `valid`, which this check does
    not read)."""
    sanity = os.path.join(folder, f"randomization_{name}")
    if not os.path.exists(os.path.join(sanity, "randomization.csv")):
        run([sys.executable, "recipes/ESC50/sanity_checks.py", "hparams/sanity_checks_cnn14_compact.yaml",
             f"--data_folder={data[0]}", f"--classifier_source={out}/classifiers/{seed}/save",
             f"--lmac_source={folder}/run/save", "--run_roar=False", f"--seed={seed}",
             "--valid_fold_nums=[5]", "--test_fold_nums=[4]", f"--output_folder={sanity}"],
            os.path.join(folder, "randomization.log"), threads)


def randomization_scores(table_path):
    """L-MAC's mean SSIM and Spearman correlation once the decision blocks are randomized."""
    with open(table_path, encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["method"] == "L-MAC" and int(r["n_randomized"]) == DECISION_BLOCKS]
    return float(rows[0]["ssim_mean"]), float(rows[0]["spearman_mean"])


def mean_std(values):
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def table(results):
    """Markdown table: one row per (variant, space, l1, budget), mean ± std over seeds."""
    header = ["decoder", "mask space", "l1", "epochs", *COLUMNS, "s/epoch", "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows = sorted({(k[1:], epochs) for k, budgets in results.items() for epochs in budgets})
    for config, epochs in rows:
        runs = [budgets for k, budgets in results.items() if k[1:] == config and epochs in budgets]
        cells = [mean_std([float(r[epochs][c]) for r in runs if c in r[epochs]]) for c in COLUMNS]
        # A longer budget resumes the shorter one: its time is that of its extra epochs.
        per_epoch = [r[epochs]["seconds"] / max(epochs - max([e for e in r if e < epochs], default=0), 1)
                     for r in runs]
        lines.append("| " + " | ".join([*config, str(epochs), *cells, mean_std(per_epoch), str(len(runs))])
                     + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="results/ablation")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--variants", nargs="+", default=["fullres", "transposed_stack"])
    parser.add_argument("--spaces", nargs="+", default=["linear"])
    parser.add_argument("--reductions", nargs="+", default=["batch_sum"], help="l1 scaling (regularizer_reduction)")
    parser.add_argument("--budgets", nargs="+", type=int, default=[5, 15],
                        help="training epochs at which each run is scored, increasing")
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side (one thread each)")
    parser.add_argument("--classifier-epochs", type=int, help="the classifiers' budget (default: the recipe's)")
    parser.add_argument("--data", help="an ESC-50-layout folder (e.g. benchmarks/real_devset.py's) instead of the twin")
    parser.add_argument("--wham", help="its WHAM!-layout noise folder (with --data)")
    parser.add_argument("--table-only", action="store_true", help="print the table of what is scored, train nothing")
    args = parser.parse_args(argv)
    if args.budgets != sorted(set(args.budgets)) or args.budgets[0] < 1:
        parser.error(f"--budgets must be increasing positive epoch counts, got {args.budgets}")
    out = os.path.abspath(args.out)
    if args.table_only:
        print(table(scored_runs(out, args.seeds)))
        return
    data = make_data(out, args.data, args.wham)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    with ThreadPoolExecutor(args.jobs) as pool:
        # A seed's L-MAC runs start as soon as its own classifier is trained (one lock per seed).
        locks = {seed: threading.Lock() for seed in args.seeds}

        def train(config):
            with locks[config[0]]:
                classifier(out, data, config[0], threads, args.classifier_epochs)
            lmac_run(out, data, *config, args.budgets, threads)
            return config

        # Configuration-major: every seed of a configuration is done before the next one starts,
        # so a stopped run leaves complete rows.
        configs = [(seed, *config) for config in itertools.product(args.variants, args.spaces, args.reductions)
                   for seed in args.seeds]
        for config in pool.map(train, configs):
            print(f"done: seed {config[0]}, {', '.join(config[1:])}", flush=True)
    accuracy = [float(open(os.path.join(out, "classifiers", str(s), "test_accuracy.txt")).read()) for s in args.seeds]
    text = (f"Compact L-MAC on {args.data or 'the ESC-50 twin'}, validation fold (clean), seeds {args.seeds}; classifier test "
            f"accuracy {mean_std(accuracy)}. Every configuration scored under {args.out}:\n\n"
            + table(scored_runs(out, args.seeds)))
    with open(os.path.join(out, "ablation_valid.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
