"""The L-MAC recipe end to end: both stages, listenable outputs, resume, missing classifier, DDP."""

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import torch
from conftest import RECIPE_SEED, ROOT, TINY, recipe_env, run_recipe

from lmac_brain.checkpoints import CHECKPOINT_KEY, resolve_checkpoint_dir
from lmac_brain.reporting.training_curves import read_train_log

pytestmark = pytest.mark.slow  # each test runs the L-MAC recipe in a subprocess

LMAC = "recipes/ESC50/train_lmac.py"


def _args(tiny_twin, tiny_classifier, out, *extra):
    return (f"--data_folder={tiny_twin['esc50']}", f"--output_folder={out}",
            f"--classifier_source={tiny_classifier / 'save'}", "--decoder_width=8",
            "--n_listenable=2", *TINY, *extra)


def test_lmac_trains_resumes_writes_listenable_and_finetunes(tiny_twin, tiny_classifier, tmp_path):
    stage1 = tmp_path / "lmac"
    run_recipe(LMAC, "hparams/lmac_cnn14_compact.yaml", *_args(tiny_twin, tiny_classifier, stage1, "--number_of_epochs=1"))
    proc = run_recipe(LMAC, "hparams/lmac_cnn14_compact.yaml", *_args(tiny_twin, tiny_classifier, stage1, "--number_of_epochs=2"))
    assert "Loading a checkpoint" in proc.stdout + proc.stderr
    log = (stage1 / "train_log.txt").read_text()
    assert re.findall(r"^epoch: (\d+)", log, re.M) == ["1", "2"]
    # SI-SDR/SDRi: the twin's valid/test items carry their clean event.
    for key in ("AI", "AD", "AG", "FF", "FidIn", "MM", "SI-SDR", "SDRi"):
        assert f"valid {key}:" in log and f"test {key}:" in log
    # train_log.png is redrawn from train_log.txt, so after the resume it has both epochs.
    assert sorted(read_train_log(stage1 / "train_log.txt")) == [1, 2]
    assert (stage1 / "train_log.png").stat().st_size > 0

    metrics = json.loads((stage1 / "test_metrics.json").read_text())
    assert 0 <= metrics["FidIn"] <= 1 and 0 <= metrics["MM"] <= 1
    assert math.isfinite(metrics["SDRi"]) and math.isfinite(metrics["SI-SDR"])
    listen = stage1 / "listenable" / "test"
    originals = sorted(listen.glob("*_original.wav"))
    assert len(originals) == 2
    for original in originals:
        stem = original.name[: -len("_original.wav")]
        wav, rate = sf.read(original)
        for kind in ("interpretation", "residual"):
            other, other_rate = sf.read(listen / f"{stem}_{kind}.wav")
            assert other_rate == rate == 16000 and other.shape == wav.shape
        assert (listen / f"{stem}.png").stat().st_size > 0

    ft = tmp_path / "lmac_ft"
    run_recipe(LMAC, "hparams/lmac_cnn14_compact_ft.yaml",
               *_args(tiny_twin, tiny_classifier, ft, "--number_of_epochs=1", f"--lmac_source={stage1 / 'save'}",
                      "--add_wham_noise=True", f"--wham_folder={tiny_twin['wham']}"))
    ft_log = (ft / "train_log.txt").read_text()
    assert "train cct_pass:" in ft_log  # share of items that received guidance, each epoch
    assert (ft / "train_log.png").stat().st_size > 0
    # Fine-tuning started from the best first-stage decoder, and moved away from it.
    first = torch.load(Path(resolve_checkpoint_dir(str(stage1 / "save"), CHECKPOINT_KEY)) / "decoder.ckpt")
    started = torch.load(ft / "save" / "pretrained_lmac" / "decoder.ckpt")
    assert first.keys() == started.keys() and all(torch.equal(first[k], started[k]) for k in first)
    tuned = torch.load(Path(resolve_checkpoint_dir(str(ft / "save"), CHECKPOINT_KEY)) / "decoder.ckpt")
    assert any(not torch.equal(first[k], tuned[k]) for k in first if k.endswith("weight"))


def test_lmac_without_trained_classifier_names_the_training_command(tiny_twin, tmp_path):
    proc = run_recipe(LMAC, "hparams/lmac_cnn14_compact.yaml", f"--data_folder={tiny_twin['esc50']}",
                      f"--output_folder={tmp_path}", f"--classifier_source={tmp_path / 'nothing'}",
                      *TINY, check=False)
    assert proc.returncode != 0
    assert "python recipes/ESC50/train_classifier.py" in proc.stdout + proc.stderr


def _logged(log, stage, key):
    return [float(v) for v in re.findall(rf"{stage} {key}: ([-\d.e+]+)", log)]


def test_lmac_under_ddp_gives_one_set_of_outputs_and_the_counts_of_one_process(tiny_twin, tiny_classifier, tmp_path):
    ddp = tmp_path / "ddp"
    # --device=cpu: on a GPU machine SpeechBrain would otherwise put rank r on cuda:r.
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29544",
           str(ROOT / LMAC), str(ROOT / "hparams/lmac_cnn14_compact.yaml"), RECIPE_SEED,
           *_args(tiny_twin, tiny_classifier, ddp, "--number_of_epochs=1", "--distributed_backend=gloo",
                  "--device=cpu")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=recipe_env(threads=1))
    assert proc.returncode == 0, proc.stderr[-5000:]
    log = (ddp / "train_log.txt").read_text()
    assert re.findall(r"^epoch: (\d+)", log, re.M) == ["1"]  # logged once, not per process
    assert len(list((ddp / "save").glob("CKPT+*"))) == 1
    assert len(list((ddp / "listenable" / "test").glob("*_original.wav"))) == 2
    assert (ddp / "train_log.png").stat().st_size > 0
    # Every process evaluates the whole valid and test folds (4 classes x 6 clips): each item
    # counts once, not once per process.
    assert _logged(log, "valid", "n") == [24.0] and _logged(log, "test", "n") == [24.0]

    # The same checkpoint tested by one process gives the same count and the same means.
    single = tmp_path / "single"
    shutil.copytree(ddp, single)
    (single / "test_metrics.json").unlink()
    run_recipe(LMAC, "hparams/lmac_cnn14_compact.yaml",
               *_args(tiny_twin, tiny_classifier, single, "--number_of_epochs=1", "--device=cpu"))
    two = json.loads((ddp / "test_metrics.json").read_text())
    one = json.loads((single / "test_metrics.json").read_text())
    assert two["n"] == one["n"] == 24
    assert set(two) == set(one) >= {"loss", "AI", "AD", "AG", "FF", "FidIn", "MM"}
    for key in one:
        if key != "method":
            assert two[key] == pytest.approx(one[key], rel=1e-5, abs=1e-7), key
