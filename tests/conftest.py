"""Shared fixtures: tiny synthetic twins and trained tiny models, built once per session.

``make test`` runs the suite on pytest-xdist workers; the session fixtures that train are built
once for all of them (:func:`built_once`), so each worker does not train its own copy.

Learned quantities (an accuracy, a loss decrease, an SSIM after randomization, ...) are
asserted with :func:`assert_learned`. Two environment variables vary what they are learned
from, so their margins can be measured (``python tests/margins.py``):

- ``LMAC_TEST_SEED`` (default 0): the seed of the twins, of the recipes (``--seed=1234+SEED``)
  and of the tests' own random draws;
- ``LMAC_TEST_THREADS`` (default 1): the intra-op threads of the tests and of the recipes they
  run (each thread count takes another floating-point path). The models are tiny: more threads
  gain nothing, and on a shared CPU they make the suite several times slower.

With ``LMAC_MARGINS_FILE`` set, every learned quantity is also appended there as one JSON line.
"""

import json
import operator
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from filelock import FileLock

from lmac_brain.synthetic import make_esc50_twin, make_wham_twin

ROOT = Path(__file__).resolve().parents[1]

SEED = int(os.environ.get("LMAC_TEST_SEED", "0"))
THREADS = int(os.environ["LMAC_TEST_THREADS"]) if os.environ.get("LMAC_TEST_THREADS") else None
RECIPE_SEED = f"--seed={1234 + SEED}"  # 1234 is every YAML's own seed

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def assert_learned(name, value, op, bar):
    """Assert ``value op bar`` for a learned quantity and record it for ``tests/margins.py``.

    ``name`` identifies the quantity across runs (same name, same bar, in every run).
    """
    value = float(value)
    record = os.environ.get("LMAC_MARGINS_FILE")
    if record:
        with open(record, "a", encoding="utf-8") as f:
            f.write(json.dumps({"name": name, "op": op, "bar": bar, "value": value, "seed": SEED,
                                "threads": torch.get_num_threads()}) + "\n")
    assert _OPS[op](value, bar), f"{name}: {value:.6g} is not {op} {bar} (seed {SEED})"


def recipe_env(threads=None, **extra):
    """The environment of a recipe subprocess: ``LMAC_TEST_THREADS`` wins over ``threads``."""
    env = {**os.environ, **extra}
    if THREADS or threads:
        env["OMP_NUM_THREADS"] = str(THREADS or threads)
    return env


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for the module's in-process tests (``LMAC_TEST_THREADS`` wins)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(threads_or(1))
    yield
    torch.set_num_threads(threads)


def threads_or(default):
    """The intra-op threads an in-process test should use: ``LMAC_TEST_THREADS`` or ``default``."""
    return THREADS or default


@pytest.fixture(scope="session", autouse=True)
def _test_threads():
    torch.set_num_threads(THREADS or 1)


# Session fixtures that train a model through a recipe run: every test that uses one, directly
# or through another fixture, waits for that training, so it is `slow` (README, Tests).
TRAINING_FIXTURES = {"tiny_classifier", "tiny_lmac"}


def pytest_collection_modifyitems(items):
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


# A classifier small enough to train in seconds on 2 CPU cores (overrides of the compact YAML).
TINY = [
    "--signal_length_s=1.0",
    "--n_fft=256",
    "--hop_length=16.0",
    "--win_length=16.0",
    "--n_mels=32",
    "--base_channels=4",
    "--batch_size=8",
]


def plain_hparams(path, overrides):
    """The plain values of a HyperPyYAML file, references resolved and no object built (the
    tests read the settings of every file without preparing data or building models)."""
    import io

    import yaml
    from hyperpyyaml import resolve_references

    from lmac_brain.experiments.discovery import PlainLoader

    with open(path, encoding="utf-8") as f:
        resolved = resolve_references(f, overrides, overrides_must_match=True).getvalue()
    return yaml.load(io.StringIO(resolved), Loader=PlainLoader)


def load_recipe(script):
    """The module of a recipe script (its ``__main__`` block does not run), e.g. to build its Brain."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(script).stem, ROOT / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(script, argv, monkeypatch):
    """Run a recipe script in this process, as ``python <script> <argv>`` would (so a test can
    patch what it calls); its exceptions propagate."""
    import runpy

    monkeypatch.setattr(sys, "argv", [str(ROOT / script), *map(str, argv)])
    runpy.run_path(str(ROOT / script), run_name="__main__")


def run_recipe(script, hparams, *args, env=None, check=True):
    """Run a recipe script as a user would, from the repository root; return the process.

    One intra-op thread unless ``LMAC_TEST_THREADS`` says otherwise: the tiny models gain
    nothing from more, and on a shared CPU they lose much.
    """
    cmd = [sys.executable, str(ROOT / script), str(ROOT / hparams), RECIPE_SEED, *args]
    if os.environ.get("LMAC_TEST_DEVICE") and not any(a.startswith("--device") for a in args):
        cmd.append(f"--device={os.environ['LMAC_TEST_DEVICE']}")  # e.g. cuda, on a GPU machine
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=recipe_env(threads=1, **(env or {})))
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


# Loud, long events and no distractors: classes a correct tiny classifier separates in a few
# epochs, so its accuracy is far above the tests' bar on any machine (tests/margins.py).
EASY = {"snr_db_range": (10.0, 20.0), "event_fraction_range": (0.5, 0.8), "max_distractors": 0}


def built_once(tmp_path_factory, name, build):
    """``<run's temporary folder>/<name>``, made by ``build(folder)`` once per test run.

    Under pytest-xdist every worker has its own temporary folder; the run's folder above them is
    shared, and a lock makes the first worker that asks build it while the others wait and reuse
    it. Users only read what such a fixture returns.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder, done = base / name, base / f"{name}.done"
    with FileLock(str(base / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # left by a build that failed part-way
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def tiny_twin(tmp_path_factory):
    """A 4-class ESC-50 twin of 1 s clips (6 clips per class per fold, easy) and a WHAM! twin."""
    def build(root):
        make_esc50_twin(root / "ESC50", n_classes=4, clips_per_class_per_fold=6, signal_length_s=1.0,
                        seed=SEED, **EASY)
        make_wham_twin(root / "wham", files_per_split=(4, 2, 2), seconds=2.0, seed=SEED)

    root = built_once(tmp_path_factory, "twins", build)
    return {"esc50": root / "ESC50", "wham": root / "wham", "root": root}


@pytest.fixture(scope="session")
def tiny_classifier(tiny_twin, tmp_path_factory):
    """A tiny compact classifier trained on the tiny twin; returns its output folder."""
    return built_once(tmp_path_factory, "classifier", lambda out: run_recipe(
        "recipes/ESC50/train_classifier.py",
        "hparams/classifier_cnn14_compact.yaml",
        f"--data_folder={tiny_twin['esc50']}",
        f"--output_folder={out}",
        "--number_of_epochs=12",  # every seed far past the accuracy bar (tests/margins.py)
        "--lr=0.003",
        "--lr_final_ratio=1.0",  # constant LR: 12 epochs are too few to anneal
        *TINY,
    ))


@pytest.fixture(scope="session")
def tiny_lmac(tiny_twin, tiny_classifier, tmp_path_factory):
    """A 1-epoch L-MAC recipe run on the tiny classifier; returns its output folder."""
    return built_once(tmp_path_factory, "lmac", lambda root: run_recipe(
        "recipes/ESC50/train_lmac.py",
        "hparams/lmac_cnn14_compact.yaml",
        f"--data_folder={tiny_twin['esc50']}",
        f"--output_folder={root / 'lmac_cnn14_compact' / '1234'}",
        f"--classifier_source={tiny_classifier / 'save'}",
        "--decoder_width=8",
        "--n_listenable=1",
        "--number_of_epochs=1",
        *TINY,
    )) / "lmac_cnn14_compact" / "1234"
