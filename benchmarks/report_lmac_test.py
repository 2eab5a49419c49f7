"""The chosen L-MAC configuration on the test fold, once: every method, bootstrap intervals, targets.

    python benchmarks/report_lmac_test.py --ablation results/ablation --config fullres_linear_batch_sum \
        [--seeds 1 2 3] [--data results/ablation/data/ESC50 --wham results/ablation/data/wham]

Reads the runs that ``benchmarks/ablation_lmac.py`` trained (``<ablation>/runs/<seed>/<config>/run``
and ``<ablation>/classifiers/<seed>``), and for every seed runs on the TEST fold:

- the evaluation (``recipes/ESC50/eval.py``, ID condition, STFT-Mel, the compact evaluation's
  default mask space): L-MAC, every gradient baseline, the constant (L-MAC's MM) and energy
  masks, all zeros and all ones;
- the cascading randomization test (``recipes/ESC50/sanity_checks.py``): L-MAC's and GradCAM's
  SSIM and Spearman rank correlation once the head and conv_block6 ... conv_block3 are random.

It writes ``<ablation>/test_<config>.md``: per method the mean over seeds of each metric with a
95 % bootstrap interval over the clips (each clip's value averaged over the seeds first), the
per-seed values of the targets' quantities, and each target met or missed.
"""

import argparse
import csv
import os
import statistics
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.ablation_lmac import DECISION_BLOCKS, run  # noqa: E402
from lmac_brain.evaluation.tables import ITEMS_FILE  # noqa: E402
from lmac_brain.metrics.bootstrap import bootstrap_interval  # noqa: E402

GRADIENT_METHODS = ("saliency", "smoothgrad", "ig", "gradcam", "guided_gradcam", "guided_backprop", "shap")
SHOWN = ("AI", "AD", "AG", "FF", "FidIn", "SPS", "MM", "template_share", "loc_auc", "SDRi")
SET_LEVEL = ("template_share",)
"""A property of the evaluated set, not of a clip: mean ± std over the seeds instead."""
TARGETS = (  # (quantity, comparison, bar, needs ground truth)
    ("SPS", ">=", 0.6, False), ("MM", "<=", 0.25, False), ("FidIn", ">=", 0.85, False),
    ("template_share", "<=", 0.3, False), ("loc_auc", ">=", 0.9, True),
)


def evaluate(args, seed, out):
    folder = os.path.join(out, f"eval_{seed}")
    if not os.path.exists(os.path.join(folder, "metrics.csv")):
        run([sys.executable, "recipes/ESC50/eval.py", "hparams/eval_cnn14_compact.yaml",
             f"--data_folder={args.data}", f"--wham_folder={args.wham}", f"--seed={seed}",
             f"--classifier_source={args.ablation}/classifiers/{seed}/save",
             f"--lmac_source={run_folder(args, seed)}/save", "--domains=[stft]",
             "--conditions={clean: null, ood_mix: null, white_noise: null, speech: null}",
             f"--output_folder={folder}"], os.path.join(out, f"eval_{seed}.log"), args.threads)
    return folder


def randomization(args, seed, out):
    folder = os.path.join(out, f"randomization_{seed}")
    table = os.path.join(folder, "randomization.csv")
    if not os.path.exists(table):
        run([sys.executable, "recipes/ESC50/sanity_checks.py", "hparams/sanity_checks_cnn14_compact.yaml",
             f"--data_folder={args.data}", f"--classifier_source={args.ablation}/classifiers/{seed}/save",
             f"--lmac_source={run_folder(args, seed)}/save", "--run_roar=False", f"--seed={seed}",
             f"--output_folder={folder}"], os.path.join(out, f"randomization_{seed}.log"), args.threads)
    with open(table, encoding="utf-8") as f:
        return {r["method"]: r for r in csv.DictReader(f) if int(r["n_randomized"]) == DECISION_BLOCKS}


def run_folder(args, seed):
    return os.path.join(args.ablation, "runs", str(seed), args.config, "run")


def read_rows(folder):
    with open(os.path.join(folder, "metrics.csv"), encoding="utf-8") as f:
        rows = {r["method"]: r for r in csv.DictReader(f) if r["condition"] == "id"}
    items = defaultdict(lambda: defaultdict(list))  # method -> metric -> [(item, value)]
    with open(os.path.join(folder, ITEMS_FILE), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["condition"] == "id":
                for metric in SHOWN:
                    if r.get(metric) not in (None, ""):
                        items[r["method"]][metric].append((r["item"], float(r[metric])))
    return rows, items


def number(row, metric):
    value = row.get(metric) if row else None
    return float(value) if value not in (None, "") else float("nan")


def seed_mean_text(per_seed_rows, method, metric):
    """Mean ± std over seeds of a set-level value (``template_share`` has no per-clip value)."""
    values = [number(rows.get(method), metric) for rows in per_seed_rows]
    values = [v for v in values if v == v]
    if not values:
        return ""
    spread = f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.2f}{spread} (seeds)"


def interval_text(per_seed_items, metric):
    """Mean with its bootstrap interval, over the clips' values averaged over the seeds."""
    by_clip = defaultdict(list)
    for items in per_seed_items:
        for item, value in items.get(metric, []):
            by_clip[item].append(value)
    mean, low, high = bootstrap_interval([statistics.mean(v) for v in by_clip.values()])
    return "" if mean != mean else f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ablation", default="results/ablation")
    parser.add_argument("--config", required=True, help="<variant>_<space>_<reduction>, a folder of the ablation's runs")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--data", help="ESC-50-layout folder (default: the ablation's twin)")
    parser.add_argument("--wham", help="WHAM!-layout folder (default: the ablation's)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    args.ablation = os.path.abspath(args.ablation)
    args.data = os.path.abspath(args.data or os.path.join(args.ablation, "data", "ESC50"))
    args.wham = os.path.abspath(args.wham or os.path.join(args.ablation, "data", "wham"))
    out = os.path.join(args.ablation, f"test_{args.config}")
    os.makedirs(out, exist_ok=True)

    per_seed, randomized = [], []
    for seed in args.seeds:
        per_seed.append(read_rows(evaluate(args, seed, out)))
        randomized.append(randomization(args, seed, out))
    methods = list(per_seed[0][0])
    lines = [f"L-MAC `{args.config}` on the test fold, ID condition, STFT-Mel, seeds {args.seeds} "
             f"(data: `{args.data}`). Mean over seeds with a 95 % bootstrap interval over the clips "
             "(each clip's value averaged over the seeds first).", "",
             "| method | " + " | ".join(SHOWN) + " |", "|---|" + "---|" * len(SHOWN)]
    for method in methods:
        label = per_seed[0][0][method]["label"]
        cells = [seed_mean_text([rows for rows, _ in per_seed], method, metric) if metric in SET_LEVEL
                 else interval_text([items[method] for _, items in per_seed], metric) for metric in SHOWN]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    lines += ["", "Targets, per seed:", ""]
    checks = []
    for seed, (rows, _), rand in zip(args.seeds, per_seed, randomized):
        lmac = rows["lmac"]
        has_truth = number(lmac, "loc_auc") == number(lmac, "loc_auc")
        for metric, op, bar, needs_truth in TARGETS:
            if needs_truth and not has_truth:
                continue
            value = number(lmac, metric)
            checks.append((seed, f"{metric} {op} {bar}", value, value >= bar if op == ">=" else value <= bar))
        best = max(GRADIENT_METHODS, key=lambda m: number(rows.get(m), "AI") if m in rows else -1)
        ai = number(lmac, "AI")
        checks.append((seed, f"AI >= 2 x best gradient baseline ({best}: {number(rows[best], 'AI'):.1f})",
                       ai, ai >= 2 * number(rows[best], "AI")))
        if has_truth:
            best_sdri = max(number(rows[m], "SDRi") for m in GRADIENT_METHODS if m in rows)
            checks.append((seed, f"SDRi > every gradient baseline's ({best_sdri:.2f})", number(lmac, "SDRi"),
                           number(lmac, "SDRi") > best_sdri))
        rank = float(rand["L-MAC"]["spearman_mean"])
        checks.append((seed, "randomization Spearman (head..conv_block3) <= 0.3", rank, rank <= 0.3))
        if "GradCAM" in rand:
            lines.append(f"- seed {seed}: GradCAM randomization Spearman {float(rand['GradCAM']['spearman_mean']):.2f}, "
                         f"SSIM {float(rand['GradCAM']['ssim_mean']):.2f}; L-MAC SSIM {float(rand['L-MAC']['ssim_mean']):.2f}")
    lines += ["", "| seed | target | value | met |", "|---|---|---|---|"]
    lines += [f"| {seed} | {name} | {value:.3f} | {'yes' if ok else '**no**'} |" for seed, name, value, ok in checks]
    text = "\n".join(lines)
    with open(os.path.join(args.ablation, f"test_{args.config}.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
