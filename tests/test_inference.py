"""``LMACAudioInterpreter`` and the model folder: from a recipe run to one call from Python.

The recipe test checks the whole path (a tiny L-MAC run -> its ``inference/`` folder ->
``from_hparams`` -> ``interpret_file``) against the interpret CLI and the explainer the
evaluation builds; the others load untrained model folders, which is all loading and
windowing need.
"""

import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from interpret_inputs import BAD, GOOD, expected_samples, write_bad, write_good
from speechbrain.utils.fetching import FetchConfig

from lmac_brain.audio.listenable import listenable_pair
from lmac_brain.audio.reading import UnusableAudioError
from lmac_brain.experiments.classifiers import load_trained_classifier
from lmac_brain.experiments.discovery import read_experiment
from lmac_brain.explainers import build_explainer
from lmac_brain.inference import LMACAudioInterpreter
from lmac_brain.inference.model_folder import (
    MODEL_FOLDER,
    UNTRAINED_CLASSIFIER_YAML,
    save_model_folder,
    write_untrained_model_folder,
)
from lmac_brain.inference.windowing import explain_signal
from lmac_brain.interpret.cli import EXIT_OK, run

LSB = 2.0 / 2**15  # one step of the 16-bit wavs the CLI writes


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return write_good(tmp_path_factory.mktemp("good"))


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    """A model folder of an untrained tiny classifier and decoder, and its interpreter."""
    root = tmp_path_factory.mktemp("untrained")
    folder = write_untrained_model_folder(root / "model")
    return folder, LMACAudioInterpreter.from_hparams(source=str(folder), savedir=str(root / "saved"))


@pytest.mark.slow
def test_recipe_model_folder_explains_as_the_cli_and_the_evaluation(tiny_lmac, good, tmp_path):
    folder = tiny_lmac / MODEL_FOLDER
    names = {p.name for p in folder.iterdir()}
    assert {"hyperparams.yaml", "embedding_model.ckpt", "classifier.ckpt", "decoder.ckpt",
            "label_encoder.txt", "README.md"} <= names
    card = (folder / "README.md").read_text()
    assert "| FidIn |" in card and "train_lmac.py" in card  # the test metrics and their command

    interpreter = LMACAudioInterpreter.from_hparams(source=str(folder), savedir=str(tmp_path / "saved"))
    path = good["long_44k_6ch.flac"]  # 3 clips long, 6 channels, 44.1 kHz: windows, downmix, resampling
    result = interpreter.interpret_file(str(path))
    assert result.n_windows > 3 and result.interpretation.numel() == expected_samples(path.name)

    # The CLI on the same file, with the same run's models.
    output = tmp_path / "cli"
    status = run(["--input", str(path), "--interpreter", str(tiny_lmac), "--output", str(output),
                  "--no_progress"], dataset="esc50")
    assert status == EXIT_OK
    signals, gain = result.signals()
    for kind in ("original", "interpretation", "residual"):
        written, rate = sf.read(output / f"{path.stem}_{kind}.wav")
        assert rate == result.sample_rate
        assert np.abs(written - signals[kind]).max() <= LSB, kind

    # The explainer the evaluation builds from the run's save folder.
    experiment = read_experiment(tiny_lmac)
    classifier = load_trained_classifier(experiment)
    explainer = build_explainer("lmac", classifier, experiment.domain, source=str(experiment.save_folder))
    clip = int(round(experiment.hparams["signal_length_s"] * classifier.frontend.sample_rate))
    explanation = explain_signal(result.original, classifier, explainer, clip)
    assert torch.allclose(explanation.mask, result.mask, atol=1e-5)
    interpretation, _ = listenable_pair(classifier.frontend, explanation.mag, explanation.phase,
                                        explanation.mask, result.original.numel())
    assert torch.allclose(interpretation, result.interpretation, atol=1e-5)
    assert result.label == interpreter.classes[explanation.target]


def _hub_cache(folder, cache, repo_id, revision="0" * 40):
    """Lay ``folder`` out as the Hugging Face hub cache holds a downloaded repository."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(folder, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)


def test_a_hugging_face_id_resolves_offline_from_the_hub_cache(untrained, good, tmp_path, monkeypatch):
    folder, local = untrained
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hub"
    _hub_cache(folder, cache, "lmac-brain/tiny-untrained")
    hub = LMACAudioInterpreter.from_hparams(
        source="lmac-brain/tiny-untrained", savedir=str(tmp_path / "saved"),
        fetch_config=FetchConfig(allow_network=False, huggingface_cache_dir=str(cache)),
    )
    path = str(good["clip_22k_stereo.wav"])
    assert torch.equal(hub.interpret_file(path).mask, local.interpret_file(path).mask)
    assert hub.classes == local.classes == ["dog", "rain", "siren"]


def test_a_moved_folder_loads_from_a_relative_path(untrained, good, tmp_path, monkeypatch):
    folder, local = untrained
    shutil.copytree(folder, tmp_path / "elsewhere" / "model")
    monkeypatch.chdir(tmp_path / "elsewhere")
    moved = LMACAudioInterpreter.from_hparams(source="model", savedir=str(tmp_path / "saved"))
    path = str(good["short_8k_mono.wav"])
    assert torch.equal(moved.interpret_file(path).interpretation, local.interpret_file(path).interpretation)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_any_rate_channels_and_length(untrained, good, name):
    _, interpreter = untrained
    result = interpreter.interpret_file(str(good[name]))
    n = expected_samples(name)
    assert result.original.shape == result.interpretation.shape == result.residual.shape == (n,)
    assert result.mask.shape == result.mag.shape and float(result.mask.min()) >= 0 and float(result.mask.max()) <= 1
    assert torch.allclose(result.interpretation + result.residual, result.original, atol=1e-4)
    assert result.source["sample_rate"] == GOOD[name][0] and result.source["channels"] == GOOD[name][2]
    probs, score, index, label = interpreter.classify_file(str(good[name]))
    assert (label, index) == (result.label, interpreter.classes.index(result.label))
    assert score == pytest.approx(result.score, abs=1e-6) and torch.allclose(probs, result.probs, atol=1e-6)


def test_interpret_batch_explains_each_item_up_to_its_length(untrained):
    _, interpreter = untrained
    torch.manual_seed(0)
    wavs = 0.1 * torch.randn(2, 40000)
    results = interpreter.interpret_batch(wavs, torch.tensor([1.0, 0.25]))
    assert [r.original.numel() for r in results] == [40000, 10000]
    alone = interpreter.interpret_signal(wavs[1, :10000])
    assert torch.equal(results[1].mask, alone.mask) and torch.equal(results[1].interpretation, alone.interpretation)
    assert results[0].n_windows > 1 and results[1].n_windows == 1


@pytest.mark.parametrize("name", sorted(BAD) + ["missing.wav"])
def test_each_bad_input_raises_one_error_naming_the_file(untrained, tmp_path, name):
    _, interpreter = untrained
    path = write_bad(tmp_path).get(name, tmp_path / name)
    expected = BAD.get(name, "file not found")
    for call in (interpreter.interpret_file, interpreter.classify_file):
        with pytest.raises(UnusableAudioError) as caught:
            call(str(path))
        assert str(path) in str(caught.value) and expected in caught.value.reason


def test_an_l2i_model_folder_explains_as_its_explainer(tmp_path, good):
    from hyperpyyaml import load_hyperpyyaml

    from lmac_brain.models.classifier import AudioClassifier
    from lmac_brain.models.l2i import Theta, build_psi
    from lmac_brain.models.nmf import NMFDictionary

    torch.manual_seed(0)
    nodes = load_hyperpyyaml(UNTRAINED_CLASSIFIER_YAML)
    classifier = AudioClassifier(nodes["frontend"], nodes["embedding_model"], nodes["classifier"]).eval()
    nmf = NMFDictionary(classifier.frontend.n_freq, 6)
    nmf.W.copy_(torch.rand_like(nmf.W))
    explainer = build_explainer("l2i", classifier, "stft", psi=build_psi(classifier.embedding_model, 6, width=8),
                                theta=Theta(6, 3), nmf=nmf, relevance_threshold=0.4)
    folder = save_model_folder(tmp_path / "l2i", classifier, UNTRAINED_CLASSIFIER_YAML, "l2i", explainer,
                               ["dog", "rain", "siren"], 1.0, options={"relevance_threshold": 0.4})
    interpreter = LMACAudioInterpreter.from_hparams(source=str(folder), savedir=str(tmp_path / "saved"))
    assert interpreter.explainer.relevance_threshold == 0.4
    result = interpreter.interpret_file(str(good["odd_48k_mono.wav"]))
    expected = explain_signal(result.original, classifier, explainer, 16000)
    assert torch.allclose(result.mask, expected.mask, atol=1e-6)
    assert float(result.mask.max()) > 0  # a mask that explains something, so the comparison bites


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_gives_the_cpu_interpretation(untrained, good, tmp_path):
    folder, cpu = untrained
    cuda = LMACAudioInterpreter.from_hparams(source=str(folder), savedir=str(tmp_path / "saved"),
                                             run_opts={"device": "cuda"})
    assert next(cuda.mods.decoder.parameters()).is_cuda
    path = str(good["long_44k_6ch.flac"])
    on_gpu, on_cpu = cuda.interpret_file(path), cpu.interpret_file(path)
    assert on_gpu.label == on_cpu.label
    assert torch.allclose(on_gpu.mask, on_cpu.mask, atol=1e-4)
    assert torch.allclose(on_gpu.interpretation, on_cpu.interpretation, atol=1e-4)
