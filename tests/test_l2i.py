"""Tests of the L2I baseline: NMF dictionary learning, the Psi/Theta models, the interpretation
mask, the ``l2i`` explainer and the training recipe end to end on a tiny ESC-50 twin."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import RECIPE_SEED, SEED, assert_learned, load_recipe, plain_hparams, recipe_env
from torch import nn

from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.explainers import available_explainers, build_explainer
from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.models.cnn14 import Cnn14
from lmac_brain.models.l2i import Psi, Theta, l2i_mask
from lmac_brain.models.nmf import NMFDictionary, learn_nmf
from lmac_brain.synthetic import make_esc50_twin

REPO = Path(__file__).resolve().parents[1]
K = 6


# The models here are tiny: threads only add contention on a shared CPU.
pytestmark = pytest.mark.usefixtures("one_thread")


def low_rank_frames(seed=0, n_frames=300, n_freq=20, rank=4):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n_frames, rank, generator=g) @ torch.rand(rank, n_freq, generator=g)


# ------------------------------------------------------------------------------------------
# NMF
# ------------------------------------------------------------------------------------------
@pytest.mark.slow  # seconds of NMF iterations
@pytest.mark.learned
def test_nmf_reduces_error_and_fits_low_rank_data():
    V = low_rank_frames(SEED)
    # Multiplicative updates converge slowly on some draws: 1000 iterations (a quarter of a
    # second) leave every draw far below the bars (tests/margins.py).
    W, H, errors = learn_nmf(V, 4, n_iter=1000, seed=SEED, progress=False)
    assert (W >= 0).all() and (H >= 0).all()
    assert_learned("NMF: final / initial relative error (exact rank-4 data, K = 4)", errors[-1] / errors[0], "<", 0.5)
    assert_learned("NMF: final relative error (exact rank-4 data, K = 4)", errors[-1], "<", 0.05)
    rel = (V.t() - W @ H).norm() / V.norm()
    assert abs(float(rel) - errors[-1]) < 1e-4  # the reported error is the real one
    assert torch.allclose(W.norm(dim=0), torch.ones(4), atol=1e-5)


def test_nmf_is_deterministic_and_chunking_is_exact():
    V = low_rank_frames()
    W1, H1, _ = learn_nmf(V, 4, n_iter=20, seed=3, progress=False)
    W2, H2, _ = learn_nmf(V, 4, n_iter=20, seed=3, progress=False)
    assert torch.equal(W1, W2) and torch.equal(H1, H2)
    W3, _, _ = learn_nmf(V, 4, n_iter=20, seed=4, progress=False)
    assert not torch.allclose(W1, W3)
    Wc, Hc, _ = learn_nmf(V, 4, n_iter=20, seed=3, batch_frames=37, progress=False)
    assert torch.allclose(W1, Wc, atol=1e-5) and torch.allclose(H1, Hc, atol=1e-4)


def test_nmf_rejects_negative_frames():
    with pytest.raises(ValueError):
        learn_nmf(-low_rank_frames(), 4, n_iter=2, progress=False)


@pytest.mark.slow  # seconds of NMF iterations
@pytest.mark.learned
def test_nmf_dictionary_save_load_and_activations(tmp_path):
    V = low_rank_frames(SEED)
    W, _, _ = learn_nmf(V, 4, n_iter=1000, seed=SEED, progress=False)
    d = NMFDictionary(V.shape[1], 4, compression="none")
    assert not d.is_learned
    d.W = W
    d.save(tmp_path / "nmf.ckpt")
    loaded = NMFDictionary.from_file(tmp_path / "nmf.ckpt")
    assert torch.equal(loaded.W, W) and loaded.compression == "none" and loaded.is_learned
    batch = V.reshape(3, 100, V.shape[1])  # [batch, time, freq]
    H = loaded.activations(batch, n_iter=200)
    assert H.shape == (3, 4, 100)
    assert_learned("NMF activations: relative reconstruction error of the learned data",
                   (loaded.reconstruct(H) - batch).norm() / batch.norm(), "<", 0.05)
    mag = torch.rand(2, 5, V.shape[1])
    assert torch.equal(loaded.spectrum(mag), mag)
    assert torch.equal(NMFDictionary(3, 2).spectrum(mag), torch.log1p(mag))
    with pytest.raises(ValueError):
        NMFDictionary(3, 2, compression="sqrt")


# ------------------------------------------------------------------------------------------
# Models and the interpretation mask
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    fe = SpectralFrontEnd(16000, n_fft=256, hop_length_ms=16, win_length_ms=16, n_mels=32)
    clf = AudioClassifier(fe, Cnn14(32, base_channels=4), nn.Linear(128, 3)).eval()
    psi = Psi(clf.embedding_model.hidden_channels, K, width=8).eval()
    theta = Theta(K, 3)
    with torch.no_grad():  # a spread of positive and negative weights for every class
        theta.linear.weight.copy_(torch.linspace(-1, 1, 3 * K).reshape(3, K)[:, torch.randperm(K)])
    nmf = NMFDictionary(fe.n_freq, K)
    nmf.W = torch.rand(fe.n_freq, K, generator=torch.Generator().manual_seed(1))
    mag, _ = fe.magnitude_phase(torch.randn(2, 8000, generator=torch.Generator().manual_seed(2)))
    return clf, psi, theta, nmf, mag


def test_theta_relevance_is_normalised():
    theta = Theta(3, 2)
    with torch.no_grad():
        theta.linear.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [-1.0, -1.0, -1.0]]))
    H = torch.ones(2, 3, 4)
    H[:, 2] = 4.0
    rel = theta.relevance(H, torch.tensor([0, 1]))
    assert torch.allclose(rel[0], torch.tensor([0.5, -1.0, 1.0]))
    assert torch.equal(rel[1], torch.zeros(3))  # no positive relevance: nothing kept


def test_l2i_mask_selects_the_relevant_atoms():
    d = NMFDictionary(4, 2, compression="none")
    d.W = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # disjoint atoms
    H = torch.ones(1, 2, 3)
    mask = l2i_mask(d, H, torch.tensor([[1.0, 0.1]]), 0.5, "stft")
    assert torch.allclose(mask, torch.tensor([1.0, 1.0, 0.0, 0.0]).expand(1, 3, 4), atol=1e-6)
    W = torch.tensor([[1.0, 3.0]])  # overlapping atoms: the Wiener-style share of the kept one
    d2 = NMFDictionary(1, 2)
    d2.W = W
    share = l2i_mask(d2, torch.ones(1, 2, 1), torch.tensor([[0.2, 1.0]]), 0.5, "stft")
    assert torch.allclose(share, torch.tensor([[[0.75]]]), atol=1e-6)


@pytest.mark.parametrize("domain", ["stft", "mel"])
def test_mask_shape_range_and_threshold_order(model, domain):
    clf, psi, theta, nmf, mag = model
    x = clf.domain_input(mag, domain)
    means = []
    for rt in (0.2, 0.4, 0.6, 0.8):
        explainer = build_explainer("l2i", clf, domain, psi=psi, theta=theta, nmf=nmf,
                                    relevance_threshold=rt)
        mask = explainer(x, torch.tensor([0, 2]))
        assert mask.shape == x.shape
        assert mask.min() >= 0 and mask.max() <= 1
        means.append(float(mask.mean()))
    assert all(a >= b for a, b in zip(means, means[1:]))
    assert means[0] > means[-1]  # the thresholds do select different components here
    assert 0 < means[0] < 1


def test_explainer_needs_a_model_and_a_valid_threshold(model):
    clf, psi, theta, nmf, _ = model
    assert "l2i" in available_explainers()
    with pytest.raises(ValueError, match="source"):
        build_explainer("l2i", clf, "stft")
    with pytest.raises(ValueError, match="relevance_threshold"):
        build_explainer("l2i", clf, "stft", psi=psi, theta=theta, nmf=nmf, relevance_threshold=2)


def test_explainer_builds_from_a_saved_checkpoint(model, tmp_path):
    clf, psi, theta, nmf, mag = model
    torch.save(psi.state_dict(), tmp_path / "psi.ckpt")
    torch.save(theta.state_dict(), tmp_path / "theta.ckpt")
    torch.save(nmf.state_dict(), tmp_path / "nmf.ckpt")
    x = clf.domain_input(mag, "mel")
    target = torch.tensor([1, 0])
    loaded = build_explainer("l2i", clf, "mel", source=str(tmp_path), relevance_threshold=0.4)
    direct = build_explainer("l2i", clf, "mel", psi=psi, theta=theta, nmf=nmf,
                             relevance_threshold=0.4)
    assert loaded.psi is not psi
    assert torch.allclose(loaded(x, target), direct(x, target), atol=1e-6)


# ------------------------------------------------------------------------------------------
# Recipe end to end on a tiny ESC-50 twin
# ------------------------------------------------------------------------------------------
def run_recipe(script, *args):
    env = recipe_env(threads=1, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, script, *map(str, args), RECIPE_SEED], capture_output=True,
                            text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("l2i_e2e")
    data = make_esc50_twin(root / "ESC-50", n_classes=3, clips_per_class_per_fold=2,
                           signal_length_s=1.0, seed=0)
    common = [f"--data_folder={data}", "--number_of_epochs=1", "--signal_length_s=1.0",
              "--batch_size=8"]
    run_recipe("recipes/ESC50/train_classifier.py", "hparams/classifier_cnn14_compact.yaml",
               *common, f"--output_folder={root / 'clf'}")
    run_recipe("recipes/ESC50/train_l2i.py", "hparams/l2i_cnn14_compact.yaml", *common,
               f"--output_folder={root / 'l2i'}", f"--classifier_source={root / 'clf' / 'save'}",
               "--K=8", "--nmf_iterations=5", "--psi_width=8")
    return root


@pytest.mark.slow  # `trained` runs two recipes
def test_recipe_end_to_end(trained):
    save = trained / "l2i" / "save"
    assert (save / "nmf_dictionary.pt").is_file()
    dictionary = NMFDictionary.from_file(save / "nmf_dictionary.pt")
    assert dictionary.W.shape == (257, 8) and dictionary.is_learned
    checkpoints = sorted(save.glob("CKPT+*"))
    assert len(checkpoints) == 1
    assert {"psi.ckpt", "theta.ckpt", "nmf.ckpt"} <= {p.name for p in checkpoints[0].iterdir()}
    log = (trained / "l2i" / "train_log.txt").read_text()
    for key in ("loss", "rec", "fid", "sparsity", "fid_acc", "FidIn", "MM"):
        assert f"{key}: " in log, key
    assert "test loss" in log
    assert (trained / "l2i" / "train_log.png").stat().st_size > 0
    # The selection key of the best checkpoint is in its meta data.
    meta = (checkpoints[0] / "CKPT.yaml").read_text()
    assert "loss:" in meta


@pytest.mark.slow  # `trained` runs two recipes
def test_recipe_output_explains(trained):
    from hyperpyyaml import load_hyperpyyaml

    from lmac_brain.checkpoints import load_pretrained

    with open(REPO / "hparams" / "classifier_cnn14_compact.yaml", encoding="utf-8") as f:
        hp = load_hyperpyyaml(f, {"dataset": "esc50", "data_folder": "unused", "out_n_neurons": 3})
    load_pretrained({"embedding_model": hp["embedding_model"], "classifier": hp["classifier"]},
                    str(trained / "clf" / "save"), collect_in=str(trained / "collect"),
                    min_key="error")
    clf = hp["model"].eval()
    x, _ = clf.frontend.magnitude_phase(torch.randn(2, 16000, generator=torch.Generator().manual_seed(SEED)))
    save = trained / "l2i" / "save"
    explainer = build_explainer("l2i", clf, "stft", source=str(save), relevance_threshold=0.2)
    # It explains with what the recipe trained: the best checkpoint's Psi and the learned dictionary.
    (best,) = save.glob("CKPT+*")
    psi = torch.load(best / "psi.ckpt")
    assert all(torch.equal(explainer.psi.state_dict()[k], psi[k]) for k in psi)
    assert torch.equal(explainer.nmf.W, NMFDictionary.from_file(save / "nmf_dictionary.pt").W)
    target = torch.tensor([0, 2])
    means = []
    for rt in (0.2, 0.4, 0.6, 0.8):
        explainer.relevance_threshold = rt
        mask = explainer(x, target)
        assert mask.shape == x.shape and 0 <= mask.min() and mask.max() <= 1
        means.append(float(mask.mean()))
    # A higher relevance threshold keeps a subset of the components, so never more of the input.
    assert all(a >= b - 1e-6 for a, b in zip(means, means[1:]))


@pytest.mark.slow
def test_recipe_model_folder_explains_as_the_evaluation(trained, tmp_path):
    from lmac_brain.experiments.classifiers import load_trained_classifier
    from lmac_brain.experiments.discovery import read_experiment
    from lmac_brain.inference import LMACAudioInterpreter
    from lmac_brain.inference.windowing import explain_signal

    interpreter = LMACAudioInterpreter.from_hparams(source=str(trained / "l2i" / "inference"),
                                                    savedir=str(tmp_path / "saved"))
    experiment = read_experiment(trained / "l2i")
    classifier = load_trained_classifier(experiment)
    explainer = build_explainer("l2i", classifier, "stft", source=str(experiment.save_folder),
                                relevance_threshold=experiment.hparams["relevance_th"])
    assert interpreter.explainer.relevance_threshold == explainer.relevance_threshold
    wav = 0.3 * torch.randn(40000, generator=torch.Generator().manual_seed(SEED))
    result = interpreter.interpret_signal(wav)
    expected = explain_signal(wav, classifier, explainer, 16000)
    assert result.n_windows > 1 and torch.allclose(result.mask, expected.mask, atol=1e-6)


def test_compact_config_matches_the_compact_classifier():
    def plain(name):
        return plain_hparams(REPO / "hparams" / name, {"dataset": "esc50", "data_folder": "x", "out_n_neurons": 3})

    l2i, lmac = plain("l2i_cnn14_compact.yaml"), plain("lmac_cnn14_compact.yaml")
    keys = ("sample_rate", "signal_length_s", "n_fft", "hop_length", "win_length", "n_mels",
            "base_channels", "emb_dim", "classifier_source", "seed")
    assert {k: l2i[k] for k in keys} == {k: lmac[k] for k in keys}
    assert plain("l2i_cnn14.yaml")["K"] == 100


def test_dictionary_cache_is_reused(tmp_path, monkeypatch):
    train_l2i = load_recipe("recipes/ESC50/train_l2i.py")

    path = tmp_path / "nmf_dictionary.pt"
    path.write_bytes(b"cached")
    monkeypatch.setattr(train_l2i, "collect_frames", lambda *a, **k: pytest.fail("relearned"))
    train_l2i.learn_dictionary(None, None, None, str(path), 10, 1, 10, 0, 1)
    assert path.read_bytes() == b"cached"
