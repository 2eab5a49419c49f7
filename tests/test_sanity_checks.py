"""ROAR and cascading randomization (lmac_brain.sanity.roar, lmac_brain.sanity.randomization) on tiny models."""

import math

import pytest
import torch
from conftest import SEED, assert_learned
from torch import nn

from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.explainers import build_explainer
from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.models.cnn14 import Cnn14
from lmac_brain.models.decoder import build_decoder
from lmac_brain.reporting.results_csv import read_csv_rows
from lmac_brain.sanity import roar
from lmac_brain.sanity.randomization import (
    CASCADE,
    CSV_COLUMNS,
    block_module,
    cascade,
    randomized_copy,
    run_randomization,
    ssim,
)


def trained_like(seed=0, n_classes=3):
    """A tiny classifier whose every parameter and running statistic is off its initial value,
    as after training (so a re-initialization visibly changes every tensor it touches)."""
    torch.manual_seed(seed)
    clf = AudioClassifier(SpectralFrontEnd(16000, 256, 16, 16, n_mels=32), Cnn14(32, base_channels=4),
                          nn.Linear(128, n_classes))
    with torch.no_grad():
        for name, tensor in clf.state_dict().items():
            if not tensor.is_floating_point():
                tensor.add_(7)  # num_batches_tracked
                continue
            tensor.add_(0.1 * torch.randn_like(tensor))
            if "running_var" in name:
                tensor.abs_()
    return clf.eval()


def inputs(n=4, seed=0):
    """``[n, time, freq]`` STFT magnitudes of 1 s of noisy tones."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(16000) / 16000
    wavs = torch.stack([torch.sin(2 * math.pi * (300 + 400 * i) * t) for i in range(n)])
    wavs = wavs + 0.3 * torch.randn(wavs.shape, generator=g)
    mag, _ = SpectralFrontEnd(16000, 256, 16, 16, n_mels=32).magnitude_phase(wavs)
    return mag


# --------------------------------------------------------------------------------------------
# ROAR: removal
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [10, 50, 90])
def test_keep_mask_removes_exactly_the_top_k_percent(k):
    saliency = torch.rand(3, 20, 33)
    keep = roar.keep_mask(roar.removal_ranks(saliency, torch.Generator().manual_seed(0)), k)
    n = 20 * 33
    for s, m in zip(saliency, keep):
        removed = m == 0
        assert int(removed.sum()) == math.ceil(k * n / 100)
        assert s[removed].min() >= s[~removed].max()  # the most salient bins go first


def test_ties_are_broken_at_random_and_the_count_stays_exact():
    saliency = torch.zeros(2, 10, 10)
    saliency[:, :2] = 1.0  # 20 % salient, the rest tied at 0
    keep = roar.keep_mask(roar.removal_ranks(saliency, torch.Generator().manual_seed(0)), 50)
    assert (keep[:, :2] == 0).all()  # the salient 20 % is removed first
    removed_ties = keep[:, 2:] == 0
    assert int(removed_ties[0].sum()) == int(removed_ties[1].sum()) == 30
    assert not torch.equal(removed_ties[0], removed_ties[1])  # not the same block of ties
    assert removed_ties[0].any(dim=1).sum() > 3  # spread over the tied rows, not the first ones


def test_random_ranks_are_seeded_and_differ_between_items():
    a = roar.random_ranks((3, 8, 9), torch.Generator().manual_seed(1))
    b = roar.random_ranks((3, 8, 9), torch.Generator().manual_seed(1))
    c = roar.random_ranks((3, 8, 9), torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a[0], a[1])
    assert sorted(a[0].flatten().tolist()) == sorted(a[1].flatten().tolist())  # same percentiles


def test_masked_batch_zeroes_the_removed_bins_of_the_domain_input():
    clf = trained_like()
    split = roar.Split(["a", "b"], torch.randn(2, 16000), torch.tensor([0, 1]))
    x = roar.domain_inputs(clf, split.wavs, "stft")
    ranks = roar.removal_ranks(x)  # "the loudest bins are salient"
    masked, labels = roar.masked_batch(clf, split, ranks, torch.arange(2), 30, "stft", "cpu")
    assert torch.equal(labels, split.labels)
    removed = masked == 0
    assert torch.allclose(masked[~removed], x[~removed])
    for xi, ri in zip(x, removed):
        assert math.ceil(0.3 * xi.numel()) == int(ri.sum())
        assert xi[ri].min() >= xi[~ri].max()


# --------------------------------------------------------------------------------------------
# ROAR: end to end and resume
# --------------------------------------------------------------------------------------------
def _splits(n_per_class=4):
    g = torch.Generator().manual_seed(0)
    t = torch.arange(16000) / 16000

    def split(n, offset):
        labels = torch.arange(3).repeat_interleave(n)
        wavs = torch.stack([torch.sin(2 * math.pi * 500 * (1 + int(y)) * t) for y in labels])
        wavs = wavs + 0.2 * torch.randn(wavs.shape, generator=g)
        return roar.Split([f"i{offset + i}" for i in range(len(labels))], wavs, labels)

    return {"train": split(n_per_class, 0), "valid": split(1, 100), "test": split(1, 200)}


@pytest.mark.slow  # retrains 8 classifiers
def test_roar_runs_random_and_interpreter_removal_and_resumes(tmp_path, monkeypatch):
    clf, splits = trained_like(), _splits()
    csv_path, cache = str(tmp_path / "roar.csv"), str(tmp_path / "cache")
    options = {"epochs": 1, "batch_size": 4}
    methods = {"GradCAM": ("gradcam", {})}
    rows = roar.run_roar(clf, methods, splits, csv_path, cache, [50], [1, 2], train_options=options)
    assert sorted((r["method"], r["k"], r["seed"]) for r in rows) == [
        ("GradCAM", "50", "1"), ("GradCAM", "50", "2"), ("Random", "50", "1"), ("Random", "50", "2")]
    for r in rows:
        assert r["n_train"] == "12" and r["n_test"] == "3"
        # An accuracy is a share of the 3 items of the split (roar.csv keeps 6 decimals).
        assert 3 * float(r["test_accuracy"]) == pytest.approx(round(3 * float(r["test_accuracy"])), abs=1e-5)
    cached = sorted(p.name.rsplit("_", 1)[1] for p in (tmp_path / "cache").iterdir())
    assert cached == ["test.pt", "test.pt", "train.pt", "train.pt", "valid.pt", "valid.pt"]

    # GradCAM and random removal differ: the cached ranks are the method's, not random ones.
    ranks = {p.name.rsplit("-", 1)[0]: torch.load(p)["ranks"] for p in (tmp_path / "cache").glob("*_train.pt")}
    assert not torch.equal(ranks["GradCAM"], ranks["Random"])

    # Resume: only the new points are trained, and the masks come from the cache.
    trained, masked = [], []
    real_retrain = roar.retrain_and_test
    monkeypatch.setattr(roar, "retrain_and_test", lambda *a, **kw: trained.append(a[3]) or real_retrain(*a, **kw))
    monkeypatch.setattr(roar, "method_ranks", lambda *a, **kw: masked.append(1))
    before = (tmp_path / "roar.csv").read_text()
    rows = roar.run_roar(clf, methods, splits, csv_path, cache, [50, 100], [1, 2], train_options=options)
    assert trained == [100, 100, 100, 100] and masked == []
    assert (tmp_path / "roar.csv").read_text().startswith(before)
    assert len(rows) == 8
    # With every bin removed, every input is all zeros: whatever it learned, the retrained
    # classifier gives all items one class, right on exactly one item of each balanced split.
    for r in rows:
        if r["k"] == "100":
            assert float(r["test_accuracy"]) == pytest.approx(1 / 3, abs=1e-5)
            assert float(r["valid_accuracy"]) == pytest.approx(1 / 3, abs=1e-5)


def test_retrained_classifier_starts_fresh_and_leaves_the_original_alone():
    clf = trained_like()
    state = {k: v.clone() for k, v in clf.state_dict().items()}
    fresh = roar.fresh_classifier(clf, seed=3)
    assert all(torch.equal(v, clf.state_dict()[k]) for k, v in state.items())
    assert not torch.equal(fresh.head.weight, clf.head.weight)
    assert torch.equal(fresh.embedding_model.conv_block1.norm1.weight, torch.ones(4))  # as built
    assert torch.equal(roar.fresh_classifier(clf, seed=3).head.weight, fresh.head.weight)


# --------------------------------------------------------------------------------------------
# Cascading randomization
# --------------------------------------------------------------------------------------------
def _block_of(key):
    if key.startswith("head."):
        return "head"
    parts = key.split(".")
    return parts[1] if parts[0] == "embedding_model" else None


@pytest.mark.parametrize("blocks", [["head"], ["head", "conv_block6"], ["conv_block3", "conv_block1"]])
def test_randomization_touches_exactly_the_requested_blocks(blocks):
    clf = trained_like()
    original = {k: v.clone() for k, v in clf.state_dict().items()}
    randomized = randomized_copy(clf, blocks, seed=5).state_dict()
    for key, value in original.items():
        if _block_of(key) in blocks:
            assert not torch.equal(randomized[key], value), key
        else:
            assert torch.equal(randomized[key], value), key
        assert torch.equal(clf.state_dict()[key], value), f"original modified: {key}"


def test_cascade_randomizes_one_more_block_per_step_from_the_top():
    clf = trained_like()
    original = {k: v.clone() for k, v in clf.state_dict().items()}
    previous = None
    for j, block, model in cascade(clf, CASCADE, seed=2):
        assert block == (CASCADE[j - 1] if j else None)
        state = model.state_dict()
        changed = {_block_of(k) for k in original if not torch.equal(state[k], original[k])}
        assert changed == set(CASCADE[:j])
        if previous is not None:  # earlier random blocks keep their random values
            kept = [k for k in original if _block_of(k) in CASCADE[: j - 1]]
            assert all(torch.equal(state[k], previous[k]) for k in kept)
        previous = {k: v.clone() for k, v in state.items()}
    assert all(torch.equal(clf.state_dict()[k], v) for k, v in original.items())


def test_unknown_block_is_a_clear_error():
    with pytest.raises(ValueError, match="no block 'conv_block9'"):
        block_module(trained_like(), "conv_block9")


def test_ssim_is_one_for_identical_maps_and_lower_otherwise():
    m = torch.rand(40, 60)
    assert ssim(m, m) == pytest.approx(1.0)
    assert ssim(m, m.flip(0)) < 0.5
    assert ssim(torch.zeros(40, 60), torch.zeros(40, 60)) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ssim(m, m[:-1])


def contrasted(decoder, clf, x, std=4.0):
    """``decoder`` with its last layer rescaled so that its logits on ``x`` have zero mean and
    standard deviation ``std``: an untrained decoder's masks otherwise sit near one value, and
    two such maps have an SSIM near 1 whatever the classifier does."""
    logits = []
    hook = decoder.refine.register_forward_hook(lambda module, inputs, output: logits.append(output))
    with torch.no_grad():
        _, hidden = clf.logits_of_input(x, "stft", return_hidden=True)
        decoder(hidden, x.shape[1])
        hook.remove()
        scale = std / logits[0].std()
        last = decoder.refine[-1]
        last.weight.mul_(scale)
        last.bias.mul_(scale).sub_(logits[0].mean() * scale)
    return decoder


@pytest.mark.learned
def test_ssim_falls_below_one_once_blocks_are_randomized(tmp_path):
    clf = trained_like(SEED)
    x = inputs(2, SEED)
    torch.manual_seed(SEED)
    # The coarse decoder: its last layer (`refine`) is what `contrasted` rescales.
    decoder = build_decoder(clf.embedding_model, clf.frontend, "stft", width=8, variant="coarse")
    decoder = contrasted(decoder.eval(), clf, x)
    # IG reads the logits. (GradCAM does too, but on this tiny network its conv_block6 grid is a
    # single cell: its normalized map is constant, all ones or all zeros, and so is its SSIM.)
    methods = {"L-MAC": ("lmac", {"decoder": decoder}), "IG": ("ig", {"n_steps": 4})}
    csv_path = str(tmp_path / "randomization.csv")
    blocks = CASCADE[:5]  # head, conv_block6 ... conv_block3, the finest block the decoder reads
    figures = run_randomization(clf, methods, x, csv_path, blocks=blocks, seed=0, batch_size=2, figure_items=1)
    rows = {(r["method"], int(r["n_randomized"])): r for r in read_csv_rows(csv_path, CSV_COLUMNS)}
    assert len(rows) == 2 * 6
    for method in methods:
        assert float(rows[(method, 0)]["ssim_mean"]) == pytest.approx(1.0)
        assert [rows[(method, j)]["block"] for j in range(6)] == ["", *blocks]
    # IG reads the logits: the random head changes it.
    assert_learned("randomization (unit): IG SSIM, random head", float(rows[("IG", 1)]["ssim_mean"]), "<", 0.9)
    # The L-MAC decoder reads the conv blocks' representations only: the random head leaves it
    # exactly as it was, a random conv_block6 visibly does not (1 - SSIM 0.026 to 0.32 over
    # seeds 0-4, 1 and 2 threads; bar 0.005) ...
    ssim_lmac = [float(rows[("L-MAC", j)]["ssim_mean"]) for j in range(6)]
    assert ssim_lmac[1] == pytest.approx(1.0, abs=1e-9)
    assert_learned("randomization (unit): L-MAC 1 - SSIM, random head + conv_block6", 1 - ssim_lmac[2], ">", 0.005)
    # ... and the cascade moves the masks further from the original as it reaches the finer
    # blocks the decoder also reads: with conv_block6..3 random, SSIM 0.05 to 0.47, lower than
    # with conv_block6 alone by 0.21 to 0.92 (same runs).
    assert_learned("randomization (unit): L-MAC SSIM, random head + conv_block6..3", ssim_lmac[5], "<", 0.8)
    assert_learned("randomization (unit): L-MAC SSIM, conv_block6 random - conv_block6..3 random",
                   ssim_lmac[2] - ssim_lmac[5], ">", 0.1)
    assert figures["L-MAC"].shape == (1, 6, *x.shape[1:])

    # The trained decoder stays as it was; the explainer reads the randomized classifier.
    lmac_original = build_explainer("lmac", clf, "stft", decoder=decoder)(x[:1])
    assert torch.allclose(figures["L-MAC"][0, 0], lmac_original[0])


def test_randomization_resumes_without_recomputing_finished_steps(tmp_path):
    clf, x = trained_like(), inputs(2)
    csv_path = str(tmp_path / "randomization.csv")
    methods = {"GradCAM": ("gradcam", {})}
    run_randomization(clf, methods, x, csv_path, blocks=CASCADE[:1])
    first = (tmp_path / "randomization.csv").read_text()
    run_randomization(clf, methods, x, csv_path, blocks=CASCADE[:3])
    text = (tmp_path / "randomization.csv").read_text()
    assert text.startswith(first)
    resumed = read_csv_rows(csv_path, CSV_COLUMNS)
    assert [int(r["n_randomized"]) for r in resumed] == [0, 1, 2, 3]  # 0 and 1 not written twice
    # The resumed steps compare with the original model's interpretations, as in one run.
    run_randomization(clf, methods, x, str(tmp_path / "once.csv"), blocks=CASCADE[:3])
    once = read_csv_rows(str(tmp_path / "once.csv"), CSV_COLUMNS)
    assert [r["ssim_mean"] for r in resumed] == [r["ssim_mean"] for r in once]
