"""The classifier recipe end to end: learning, outputs, resume, DDP."""

import re
import shutil
import subprocess
import sys

import pytest
import torch
import yaml
from conftest import RECIPE_SEED, ROOT, TINY, assert_learned, load_recipe, plain_hparams, recipe_env, run_recipe


def valid_epochs(train_log):
    return [int(m) for m in re.findall(r"^epoch: (\d+)", train_log.read_text(), re.M)]


@pytest.mark.learned
def test_classifier_learns_and_writes_outputs(tiny_classifier):
    accuracy = float((tiny_classifier / "test_accuracy.txt").read_text())
    assert_learned("classifier test accuracy (4 classes, chance 0.25)", accuracy, ">=", 0.6)
    assert (tiny_classifier / "confusion_matrix.png").stat().st_size > 0
    assert (tiny_classifier / "train_log.png").stat().st_size > 0
    rows = (tiny_classifier / "confusion_matrix.csv").read_text().strip().splitlines()
    assert len(rows) == 5  # header + 4 classes, number of classes taken from the data
    assert sum(int(v) for row in rows[1:] for v in row.split(",")[1:]) == 24  # test fold: 4 x 6
    assert_kept_checkpoints(tiny_classifier)


def assert_kept_checkpoints(folder):
    """SpeechBrain keeps the best checkpoint by validation error and the most recent one (the
    same one when the last epoch is the best); the best holds the HF-layout weights."""
    metas = {c: yaml.safe_load((c / "CKPT.yaml").read_text()) for c in (folder / "save").glob("CKPT+*")}
    assert 1 <= len(metas) <= 2
    logged = [float(v) for v in re.findall(r"valid error: ([-+\d.e]+)", (folder / "train_log.txt").read_text())]
    best = min(metas, key=lambda c: metas[c]["error"])
    assert metas[best]["error"] == pytest.approx(min(logged), abs=5e-3)  # the log keeps 3 digits
    assert {p.name for p in best.glob("*.ckpt")} >= {"embedding_model.ckpt", "classifier.ckpt"}


@pytest.mark.slow  # runs the recipe twice
def test_classifier_resumes_after_interruption(tiny_twin, tmp_path):
    common = [f"--data_folder={tiny_twin['esc50']}", f"--output_folder={tmp_path}", *TINY]
    run_recipe("recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
               "--number_of_epochs=1", *common)
    proc = run_recipe("recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
                      "--number_of_epochs=2", *common)
    assert "Loading a checkpoint" in proc.stderr + proc.stdout
    assert valid_epochs(tmp_path / "train_log.txt") == [1, 2]  # epoch 1 not trained twice


@pytest.mark.slow  # runs the recipe
def test_classifier_recipe_with_wham_augmentation(tiny_twin, tmp_path):
    proc = run_recipe("recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
                      f"--data_folder={tiny_twin['esc50']}", f"--output_folder={tmp_path}",
                      "--number_of_epochs=1", "--add_wham_noise=True", f"--wham_folder={tiny_twin['wham']}",
                      *TINY)
    assert (tmp_path / "manifests" / "wham").is_dir()
    # The recipe built the augmenter from the WHAM! training split and the YAML's SNR range.
    assert "WHAM! augmentation of the training batches: 4 noise files, SNR 0 to 15 dB" in proc.stdout + proc.stderr
    assert (tmp_path / "test_accuracy.txt").exists()


@pytest.mark.slow  # writes the tiny twins (seconds)
def test_wham_augmentation_mixes_training_batches_at_the_configured_snr(tiny_twin, tmp_path):
    import speechbrain as sb
    from torch import nn

    from data_prep import prepare_wham
    from lmac_brain.audio.mixing import NoiseAugmenter, NoiseBank
    plain = plain_hparams(ROOT / "hparams" / "classifier_cnn14_compact.yaml",
                          {"dataset": "esc50", "data_folder": "x", "out_n_neurons": 4})
    low, high = plain["wham_snr_low"], plain["wham_snr_high"]
    bank = NoiseBank(prepare_wham(tiny_twin["wham"], str(tmp_path / "wham"))["tr"], 16000)
    augmenter = NoiseAugmenter(bank, low, high)

    class Heard(nn.Module):  # records what the classifier is given
        def forward(self, wavs):
            self.wavs = wavs.clone()
            return torch.zeros(wavs.shape[0], 4)

    torch.manual_seed(0)
    brain = load_recipe("recipes/ESC50/train_classifier.py").Classifier(modules={"model": Heard()}, hparams={}, run_opts={"device": "cpu"})
    brain.noise_augmenter = augmenter
    clean = torch.sin(torch.arange(16000) / 16000 * 2 * torch.pi * torch.tensor([[220.0], [440.0], [880.0], [1760.0]]))
    batch = sb.dataio.batch.PaddedBatch([{"id": f"i{i}", "sig": w} for i, w in enumerate(clean)])
    brain.compute_forward(batch, sb.Stage.TRAIN)
    added = brain.modules.model.wavs - clean
    snr = 10 * torch.log10(clean.pow(2).mean(-1) / added.pow(2).mean(-1))
    assert bool(((snr > low - 0.01) & (snr < high + 0.01)).all()), snr  # every item, in the range
    assert float(snr.max() - snr.min()) > 0.5  # drawn per item, not one SNR for the batch
    for stage in (sb.Stage.VALID, sb.Stage.TEST):  # evaluation hears the clean clips
        brain.compute_forward(batch, stage)
        assert torch.equal(brain.modules.model.wavs, clean)


@pytest.mark.slow  # runs the recipe
def test_wham_augmentation_without_folder_is_a_clear_error(tiny_twin, tmp_path):
    proc = run_recipe("recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
                      f"--data_folder={tiny_twin['esc50']}", f"--output_folder={tmp_path}",
                      "--number_of_epochs=1", "--add_wham_noise=True", *TINY, check=False)
    assert proc.returncode != 0
    assert "wham_folder is not set" in proc.stdout + proc.stderr


@pytest.mark.slow  # DDP: the recipe in two processes
@pytest.mark.skipif(shutil.which("torchrun") is None and not (ROOT / ".venv/bin/torchrun").exists(),
                    reason="torchrun not installed")
def test_classifier_under_ddp_gives_one_set_of_outputs(tiny_twin, tmp_path):
    # --device=cpu: on a GPU machine SpeechBrain would otherwise put rank r on cuda:r.
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
        str(ROOT / "recipes/ESC50/train_classifier.py"), str(ROOT / "hparams/classifier_cnn14_compact.yaml"),
        RECIPE_SEED, f"--data_folder={tiny_twin['esc50']}", f"--output_folder={tmp_path}",
        "--number_of_epochs=2", "--distributed_backend=gloo", "--device=cpu", *TINY,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=recipe_env(threads=1))
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert valid_epochs(tmp_path / "train_log.txt") == [1, 2]  # logged once, not per process
    assert_kept_checkpoints(tmp_path)
    assert len(re.findall(r"test accuracy", (tmp_path / "train_log.txt").read_text())) == 1
    rows = (tmp_path / "confusion_matrix.csv").read_text().strip().splitlines()
    assert sum(int(v) for row in rows[1:] for v in row.split(",")[1:]) == 24  # each test item once


@pytest.mark.slow  # runs the recipe
def test_us8k_classifier_recipe_reads_mixed_rates_and_channels(tmp_path):
    from lmac_brain.synthetic import make_us8k_twin

    data = make_us8k_twin(tmp_path / "US8K", n_classes=3, clips_per_class_per_fold=1, max_seconds=1.5, seed=0)
    out = tmp_path / "out"
    run_recipe("recipes/US8K/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
               f"--data_folder={data}", f"--output_folder={out}", "--number_of_epochs=1", *TINY)
    rows = (out / "confusion_matrix.csv").read_text().strip().splitlines()
    assert len(rows) == 4  # 3 classes, from the data
    assert sum(int(v) for row in rows[1:] for v in row.split(",")[1:]) == 3  # fold 10: one clip per class
