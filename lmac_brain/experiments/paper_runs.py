"""The runs behind the paper's Tables 1-2 under both protocols, beside the published values.

``recipes/ESC50/paper_tables.py`` (``make paper-tables``) runs everything the tables need, one
ordinary recipe command at a time (each printed before it runs, so any one can be rerun by hand):

1. the classifier, with WHAM! augmentation;
2. L-MAC in the STFT and Mel domains (the same first stage serves both protocols);
3. every fine-tuned L-MAC of the tables (l_g 4, 16, 32; STFT and Mel; CCT 0.7 in STFT), once with
   our guidance gate (paper protocol) and once with the authors' (``--guidance_gate=reference``,
   experiment ``<name><reference_suffix>``);
4. L2I, once as ours and once as the authors train it (``<name><reference_suffix>``);
5. the evaluation, ``--protocol=paper`` then ``--protocol=reference``, into one ``metrics.csv``;
6. ``paper_tables.md`` beside it (:mod:`lmac_brain.evaluation.paper_tables`).

Experiment names come from the evaluation YAML, so the checkpoints trained here are the ones it
reads. A run whose test stage already finished (``Epoch loaded`` in its ``train_log.txt``) is
skipped; the evaluation skips the rows already in ``metrics.csv``.
"""

import argparse
import io
import logging
import os
import shlex
import subprocess
import sys
import time

import yaml
from hyperpyyaml import resolve_references

from lmac_brain.evaluation.paper_tables import format_paper_tables
from lmac_brain.evaluation.tables import read_rows
from lmac_brain.experiments.commands import RECIPE_DIRS
from lmac_brain.experiments.discovery import PlainLoader

logger = logging.getLogger(__name__)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROFILES = {
    "paper": {"suffix": ""},
    "compact": {"suffix": "_compact"},
}
"""``paper``: the paper's set-up (GPU); ``compact``: the CPU set-up of the ``*_compact.yaml`` files."""

# Fine-tuned L-MACs of the tables: eval-YAML key of the experiment name -> (l_g, domain, cct).
FINE_TUNED = {
    "lmac_ft_experiment": (4, "stft", None),
    "lmac_ft16_experiment": (16, "stft", None),
    "lmac_ft32_experiment": (32, "stft", None),
    "lmac_ft_mel_experiment": (4, "mel", None),
    "lmac_ft16_mel_experiment": (16, "mel", None),
    "lmac_ft32_mel_experiment": (32, "mel", None),
    "lmac_ft_cct_experiment": (4, "stft", 0.7),
    "lmac_ft16_cct_experiment": (16, "stft", 0.7),
    "lmac_ft32_cct_experiment": (32, "stft", 0.7),
}

L2I_REFERENCE = ["--alpha=10.0", "--l_fid=1.0", "--beta=0.8", "--fid_class_mean=True",
                 "--theta_pooling=attention"]
"""How the authors' code trains L2I (docs/protocols.md)."""


def experiment_names(eval_yaml, overrides):
    """The plain values of the evaluation YAML (experiment names, conditions, output folder),
    references resolved and no object built: this driver only names the runs, the recipes it
    starts load their YAML themselves."""
    with open(eval_yaml, encoding="utf-8") as f:
        resolved = resolve_references(f, overrides, overrides_must_match=True).getvalue()
    return yaml.load(io.StringIO(resolved), Loader=PlainLoader)


def hparams_file(stem, profile, ft=False):
    """``hparams/<stem>[_compact][_ft].yaml``."""
    suffix = PROFILES[profile]["suffix"]
    return os.path.join("hparams", f"{stem}{suffix}{'_ft' if ft else ''}.yaml")


def training_plan(eval_plain, profile, dataset="esc50"):
    """The training commands the tables need: a list of ``(experiment name, argv)``."""
    recipes = os.path.join("recipes", RECIPE_DIRS[dataset])
    suffix = eval_plain["reference_suffix"]
    plan = [
        (eval_plain["classifier_experiment"],
         [f"{recipes}/train_classifier.py", hparams_file("classifier_cnn14", profile)]),
        (eval_plain["lmac_experiment"], [f"{recipes}/train_lmac.py", hparams_file("lmac_cnn14", profile),
                                         f"--experiment_name={eval_plain['lmac_experiment']}"]),
        (eval_plain["lmac_mel_experiment"], [f"{recipes}/train_lmac.py", hparams_file("lmac_cnn14", profile),
                                             "--domain=mel", f"--experiment_name={eval_plain['lmac_mel_experiment']}"]),
    ]
    ft_yaml = hparams_file("lmac_cnn14", profile, ft=True)
    for gate, name_suffix in (("paper", ""), ("reference", suffix)):
        for key, (l_g, domain, cct) in FINE_TUNED.items():
            name = eval_plain[key] + name_suffix
            first = eval_plain["lmac_experiment" if domain == "stft" else "lmac_mel_experiment"]
            argv = [f"{recipes}/train_lmac.py", ft_yaml, f"--experiment_name={name}", f"--g_w={l_g}",
                    f"--domain={domain}", f"--lmac_experiment={first}", f"--guidance_gate={gate}"]
            if cct is not None:
                argv.append(f"--crosscor_th={cct}")
            plan.append((name, argv))
    l2i = eval_plain["l2i_experiment"]
    plan.append((l2i, [f"{recipes}/train_l2i.py", hparams_file("l2i_cnn14", profile), f"--experiment_name={l2i}"]))
    plan.append((l2i + suffix, [f"{recipes}/train_l2i.py", hparams_file("l2i_cnn14", profile),
                                f"--experiment_name={l2i}{suffix}", *L2I_REFERENCE]))
    return plan


def finished(output_folder):
    """Whether a training recipe's test stage already ran in ``output_folder``."""
    log = os.path.join(output_folder, "train_log.txt")
    if not os.path.isfile(log):
        return False
    with open(log, encoding="utf-8") as f:
        return any(line.startswith("Epoch loaded") for line in f)


def _run(argv, python, dry_run):
    command = [python, *argv]
    print("\n$ " + " ".join(shlex.quote(c) for c in command), flush=True)
    if dry_run:
        return
    start = time.time()
    subprocess.run(command, cwd=REPO, check=True)
    print(f"  ({time.time() - start:.0f} s)", flush=True)


def main(argv=None, dataset="esc50"):
    """Train what the tables need, evaluate both protocols, write ``paper_tables.md``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="compact",
                        help="compact: the CPU set-up (default); paper: the paper's set-up")
    parser.add_argument("--data_folder", required=True, help="the dataset folder (ESC-50-master)")
    parser.add_argument("--wham_folder", required=True, help="the folder holding wham_noise/")
    parser.add_argument("--ljspeech_folder", default=None, help="the folder holding LJSpeech-1.1/ (speech rows)")
    parser.add_argument("--conditions", default="id,ood_mix",
                        help="evaluated conditions, comma-separated (default: those of Tables 1-2)")
    parser.add_argument("--seed", type=int, default=None, help="seed of every recipe (default: the YAML's)")
    parser.add_argument("--device", default=None, help="e.g. cuda")
    parser.add_argument("--skip_training", action="store_true", help="only evaluate and write the tables")
    parser.add_argument("--dry_run", action="store_true", help="print the commands without running them")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs the recipes")
    args = parser.parse_args(argv)

    eval_yaml = hparams_file("eval_cnn14", args.profile)
    overrides = {"dataset": dataset, "data_folder": args.data_folder}
    if args.seed is not None:
        overrides["seed"] = args.seed
    plain = experiment_names(os.path.join(REPO, eval_yaml), overrides)
    seed = plain["seed"]
    common = [f"--data_folder={args.data_folder}", f"--wham_folder={args.wham_folder}", f"--seed={seed}"]
    if args.device:
        common.append(f"--device={args.device}")

    if not args.skip_training:
        for name, recipe in training_plan(plain, args.profile, dataset):
            folder = os.path.join(REPO, "results", dataset, name, str(seed))
            if finished(folder):
                print(f"\n# {name}: trained already ({folder})", flush=True)
                continue
            _run([*recipe, *common, "--add_wham_noise=True"], args.python, args.dry_run)

    wanted = [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in plain["conditions"]]
    if unknown:
        parser.error(f"unknown condition(s) {unknown}; the YAML has {sorted(plain['conditions'])}")
    dropped = "{" + ", ".join(f"{c}: null" for c in plain["conditions"] if c not in wanted) + "}"
    evaluation = [os.path.join("recipes", RECIPE_DIRS[dataset], "eval.py"), eval_yaml, *common]
    if args.ljspeech_folder:
        evaluation.append(f"--ljspeech_folder={args.ljspeech_folder}")
    if dropped != "{}":
        evaluation.append(f"--conditions={dropped}")
    for protocol in ("paper", "reference"):
        _run([*evaluation, f"--protocol={protocol}"], args.python, args.dry_run)
    if args.dry_run:
        return 0

    output_folder = os.path.join(REPO, plain["output_folder"])
    markdown = format_paper_tables(read_rows(os.path.join(output_folder, "metrics.csv")), dataset)
    path = os.path.join(output_folder, "paper_tables.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(markdown + "\n")
    print(f"\n{markdown}\n\nTables 1-2 beside ours: {path}")
    return 0
