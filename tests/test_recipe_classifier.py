"""The classifier recipe end to end: learning, outputs, resume, DDP."""

import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, TINY, run_recipe


def valid_epochs(train_log):
    return [int(m) for m in re.findall(r"^epoch: (\d+)", train_log.read_text(), re.M)]


def test_classifier_learns_and_writes_outputs(tiny_classifier):
    accuracy = float((tiny_classifier / "test_accuracy.txt").read_text())
    assert accuracy >= 0.6, accuracy  # 4 classes: chance is 0.25
    assert (tiny_classifier / "confusion_matrix.png").stat().st_size > 0
    rows = (tiny_classifier / "confusion_matrix.csv").read_text().strip().splitlines()
    assert len(rows) == 5  # header + 4 classes, number of classes taken from the data
    assert sum(int(v) for row in rows[1:] for v in row.split(",")[1:]) == 24  # test fold: 4 x 6
    checkpoints = list((tiny_classifier / "save").glob("CKPT+*"))
    assert len(checkpoints) == 1  # best checkpoint only
    assert {p.name for p in checkpoints[0].glob("*.ckpt")} >= {"embedding_model.ckpt", "classifier.ckpt"}


def test_classifier_resumes_after_interruption(tiny_twin, tmp_path):
    common = [f"--data_folder={tiny_twin['esc50']}", f"--output_folder={tmp_path}", *TINY]
    run_recipe("recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
               "--number_of_epochs=1", *common)
    proc = run_recipe("recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
                      "--number_of_epochs=2", *common)
    assert "Loading a checkpoint" in proc.stderr + proc.stdout
    assert valid_epochs(tmp_path / "train_log.txt") == [1, 2]  # epoch 1 not trained twice


def test_classifier_with_wham_augmentation(tiny_twin, tmp_path):
    run_recipe("recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
               f"--data_folder={tiny_twin['esc50']}", f"--output_folder={tmp_path}",
               "--number_of_epochs=1", "--add_wham_noise=True", f"--wham_folder={tiny_twin['wham']}", *TINY)
    assert (tmp_path / "manifests" / "wham").is_dir()
    assert (tmp_path / "test_accuracy.txt").exists()


def test_wham_augmentation_without_folder_is_a_clear_error(tiny_twin, tmp_path):
    proc = run_recipe("recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
                      f"--data_folder={tiny_twin['esc50']}", f"--output_folder={tmp_path}",
                      "--number_of_epochs=1", "--add_wham_noise=True", *TINY, check=False)
    assert proc.returncode != 0
    assert "wham_folder is not set" in proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("torchrun") is None and not (ROOT / ".venv/bin/torchrun").exists(),
                    reason="torchrun not installed")
def test_classifier_under_ddp_gives_one_set_of_outputs(tiny_twin, tmp_path):
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
        str(ROOT / "recipes/ESC50/train_classifier.py"), str(ROOT / "hparams/classifier_cnn14_compact.yaml"),
        f"--data_folder={tiny_twin['esc50']}", f"--output_folder={tmp_path}",
        "--number_of_epochs=2", "--distributed_backend=gloo", *TINY,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert valid_epochs(tmp_path / "train_log.txt") == [1, 2]  # logged once, not per process
    assert len(list((tmp_path / "save").glob("CKPT+*"))) == 1
    assert len(re.findall(r"test accuracy", (tmp_path / "train_log.txt").read_text())) == 1


def test_us8k_classifier_recipe_reads_mixed_rates_and_channels(tmp_path):
    from lmac_brain.synthetic.twins import make_us8k_twin

    data = make_us8k_twin(tmp_path / "US8K", n_classes=3, clips_per_class_per_fold=1, max_seconds=1.5, seed=0)
    out = tmp_path / "out"
    run_recipe("recipes/US8K/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
               f"--data_folder={data}", f"--output_folder={out}", "--number_of_epochs=1", *TINY)
    rows = (out / "confusion_matrix.csv").read_text().strip().splitlines()
    assert len(rows) == 4  # 3 classes, from the data
    assert sum(int(v) for row in rows[1:] for v in row.split(",")[1:]) == 3  # fold 10: one clip per class
