"""Shared fixtures: tiny synthetic twins and trained tiny models, built once per session."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmac_brain.synthetic.twins import make_esc50_twin, make_wham_twin

ROOT = Path(__file__).resolve().parents[1]

# A classifier small enough to train in seconds on 2 CPU cores (overrides of the compact YAML).
TINY = [
    "--clip_seconds=1.0",
    "--n_fft=256",
    "--hop_length_ms=16.0",
    "--win_length_ms=16.0",
    "--n_mels=32",
    "--base_channels=4",
    "--batch_size=8",
]


def run_recipe(script, hparams, *args, env=None, check=True):
    """Run a recipe script as a user would, from the repository root; return the process."""
    cmd = [sys.executable, str(ROOT / script), str(ROOT / hparams), *args]
    if os.environ.get("LMAC_TEST_DEVICE"):  # e.g. cuda: the recipe tests on a GPU machine
        cmd.append(f"--device={os.environ['LMAC_TEST_DEVICE']}")
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture(scope="session")
def tiny_twin(tmp_path_factory):
    """A 4-class ESC-50 twin of 1 s clips (6 clips per class per fold) and a WHAM! twin."""
    root = tmp_path_factory.mktemp("twins")
    esc50 = make_esc50_twin(root / "ESC50", n_classes=4, clips_per_class_per_fold=6, clip_seconds=1.0, seed=0)
    wham = make_wham_twin(root / "wham", files_per_split=(4, 2, 2), seconds=2.0, seed=0)
    return {"esc50": esc50, "wham": wham, "root": root}


@pytest.fixture(scope="session")
def tiny_classifier(tiny_twin, tmp_path_factory):
    """A tiny compact classifier trained on the tiny twin; returns its output folder."""
    out = tmp_path_factory.mktemp("classifier")
    run_recipe(
        "recipes/ESC50/train_classifier.py",
        "hparams/classifier_cnn14_compact.yaml",
        f"--data_folder={tiny_twin['esc50']}",
        f"--output_folder={out}",
        "--number_of_epochs=8",
        "--lr=0.003",
        "--lr_final_ratio=1.0",  # constant LR: 8 epochs are too few to anneal
        *TINY,
    )
    return out
