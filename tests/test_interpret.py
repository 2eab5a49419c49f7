"""The interpret CLI (recipes/<DATASET>/interpret.py) and its library (lmac_brain.interpret).

Inputs of several rates, channel counts and lengths (shorter than one window, one window,
3x the clip length), bad inputs, the default models found under a results folder, manifests,
seamless long-file stitching, and outputs that are never left half written.
"""

import csv
import json
import re
import shutil
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from conftest import ROOT
from interpret_inputs import BAD, CLIP_SECONDS, GOOD, RATE, expected_samples, write_bad, write_good

from lmac_brain.audio.reading import fit_length, read_audio
from lmac_brain.experiments.classifiers import load_trained_classifier
from lmac_brain.experiments.discovery import read_experiment
from lmac_brain.experiments.methods import resolve_method
from lmac_brain.explainers import Explainer, build_explainer
from lmac_brain.inference import result as inference_result
from lmac_brain.inference.windowing import explain_signal, window_starts
from lmac_brain.interpret.inputs import collect_inputs
from lmac_brain.interpret.outputs import listenable_signals
from lmac_brain.interpret.run import interpret_inputs
from lmac_brain.interpret.cli import EXIT_OK, EXIT_SETUP, EXIT_SOME_FAILED, run

LSB = 2.0 / 2**15  # one step of the 16-bit wavs written


@pytest.fixture(scope="module")
def results_root(tiny_classifier, tiny_lmac, tmp_path_factory):
    """``results/esc50`` as the recipes lay it out: the tiny classifier and a 1-epoch L-MAC."""
    root = tmp_path_factory.mktemp("results") / "esc50"
    for kind, folder in (("classifier_cnn14_compact", tiny_classifier), ("lmac_cnn14_compact", tiny_lmac)):
        (root / kind).mkdir(parents=True)
        (root / kind / "1234").symlink_to(folder)
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs") / "mixed"
    return {"folder": folder, "good": write_good(folder), "bad": write_bad(folder)}


@pytest.fixture(scope="module")
def classifier(tiny_classifier):
    return load_trained_classifier(read_experiment(tiny_classifier))


def _report(output):
    return json.loads((output / "report.json").read_text())


def _no_staging_left(parent):
    return not [p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_folder_of_mixed_inputs_with_the_latest_models(results_root, inputs, classifier, tiny_lmac, tmp_path):
    output = tmp_path / "run"
    status = run(["--input", str(inputs["folder"]), "--results", str(results_root),
                  "--output", str(output), "--no_progress"], dataset="esc50")
    assert status == EXIT_SOME_FAILED  # the bad files are reported in the exit status
    report = _report(output)
    assert report["method"]["interpreter"] == str(results_root / "lmac_cnn14_compact" / "1234")
    items = {item["source"]: item for item in report["items"]}
    assert set(items) == set(GOOD) | set(BAD)

    for name, (rate, seconds, channels, _) in GOOD.items():
        item = items[name]
        assert item["status"] == "ok", item["error"]
        assert item["input"]["sample_rate"] == rate and item["input"]["channels"] == channels
        assert item["input"]["seconds"] == pytest.approx(seconds, abs=1e-6)
        assert len(item["top"]) == 3 and item["top"][0]["class"] == item["predicted"]
        probs = [t["probability"] for t in item["top"]]
        assert probs == sorted(probs, reverse=True) and 0 < probs[0] <= 1
        assert item["n_windows"] == (1 if seconds <= CLIP_SECONDS else len(
            window_starts(expected_samples(name) // 256 + 1, RATE // 256 + 1)))
        waves = {}
        for kind in ("original", "interpretation", "residual"):
            waves[kind], wav_rate = sf.read(output / item["files"][kind])
            assert wav_rate == RATE and waves[kind].ndim == 1
            assert waves[kind].shape[0] == expected_samples(name)
        # The original is the input downmixed and resampled; interpretation + residual = original.
        heard = read_audio(inputs["good"][name], RATE).numpy()
        assert np.abs(waves["original"] - heard).max() <= LSB
        assert np.abs(waves["interpretation"] + waves["residual"] - waves["original"]).max() <= 3 * LSB
        figure = matplotlib.image.imread(output / item["files"]["figure"])
        assert figure.shape[0] > 100 and figure.shape[1] > 300

    # The interpretation is the latest L-MAC's mask applied to the input, in its mask space, as
    # the library computes it (the one-window input: no stitching): not another model's mask,
    # nor another item's.
    name = "clip_22k_stereo.wav"
    lmac = build_explainer("lmac", classifier, "stft", source=str(tiny_lmac / "save"))
    explanation = explain_signal(read_audio(inputs["good"][name], RATE), classifier, lmac, int(CLIP_SECONDS * RATE))
    expected, _ = listenable_signals(explanation, classifier.frontend, lmac.mask_space)
    written, _ = sf.read(output / items[name]["files"]["interpretation"])
    assert np.abs(written - expected["interpretation"]).max() <= LSB
    # ... and not the input passed through (a 1-epoch mask is about 0.4 to 0.6 on the twin).
    assert np.abs(written - expected["original"]).max() > 100 * LSB

    page = (output / "index.html").read_text()
    assert page.count("<audio") == 3 * len(GOOD)
    assert page.count("<img") == len(GOOD)
    for name, reason in BAD.items():
        assert items[name]["status"] == "error" and reason in items[name]["error"]
        assert name in page and reason in page
        stem = items[name]["id"]
        assert not list(output.glob(f"{stem}_*")) and not (output / f"{stem}.png").exists()
    assert _no_staging_left(tmp_path)


def test_manifests_and_an_explicit_interpreter(results_root, inputs, tmp_path):
    good = inputs["good"]
    (tmp_path / "audio").mkdir()
    shutil.copy(good["clip_22k_stereo.wav"], tmp_path / "audio" / "a.wav")
    manifest = tmp_path / "items.json"  # SpeechBrain JSON, one relative and one absolute path
    manifest.write_text(json.dumps({
        "first": {"wav": "audio/a.wav", "label": 0},
        "second": {"wav": str(good["long_44k_6ch.flac"]), "label": 1},
    }))
    output = tmp_path / "json_run"
    status = run(["--input", str(manifest), "--interpreter", str(results_root / "lmac_cnn14_compact" / "1234"),
                  "--results", str(tmp_path / "nothing_here"), "--output", str(output), "--no_progress"],
                 dataset="esc50")
    assert status == EXIT_OK
    report = _report(output)
    assert [i["id"] for i in report["items"]] == ["first", "second"]
    assert all(i["status"] == "ok" for i in report["items"])
    status = run(["--input", str(manifest), "--limit", "1", "--results", str(results_root),
                  "--output", str(output), "--no_progress"], dataset="esc50")
    assert status == EXIT_OK and [i["id"] for i in _report(output)["items"]] == ["first"]

    csv_manifest = tmp_path / "items.csv"
    with open(csv_manifest, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "duration", "wav"])
        writer.writerow(["short one", 0.3, str(good["short_8k_mono.wav"])])
        writer.writerow(["missing", 1.0, str(tmp_path / "no_such.wav")])
    output = tmp_path / "csv_run"
    status = run(["--input", str(csv_manifest), "--results", str(results_root), "--output", str(output),
                  "--method", "gradcam", "--no_progress"], dataset="esc50")
    assert status == EXIT_SOME_FAILED
    items = {i["source"]: i for i in _report(output)["items"]}
    assert items["short one"]["status"] == "ok" and items["short one"]["id"] == "short_one"
    assert items["missing"]["error"] == "file not found"
    assert _report(output)["method"]["interpreter"] is None  # gradcam needs only the classifier


def test_all_ones_mask_rebuilds_a_3x_clip_input_exactly(classifier):
    clip = int(CLIP_SECONDS * RATE)
    # 3 clips and a bit: with hop = n_fft = 256 the last 100 samples lie beyond the window of
    # frame n_frames(length) - 1, where an inverse STFT of too few frames gives zeros.
    wav = torch.rand(3 * clip + 100) - 0.5
    ones = build_explainer("ones", classifier, "stft")
    explanation = explain_signal(wav, classifier, ones, clip, batch_size=2)
    assert explanation.n_windows > 3
    assert torch.equal(explanation.mask, torch.ones_like(explanation.mask))
    signals, gain = listenable_signals(explanation, classifier.frontend)
    assert gain == 1.0
    assert np.abs(signals["interpretation"] - wav.numpy()).max() < 1e-5
    assert np.abs(signals["residual"]).max() < 1e-5


class AlternatingWindows(Explainer):
    """Window k gets the constant mask k % 2: stitched naively, every window border is a jump."""

    uses_target = False

    def explain(self, x, target):
        self.calls = getattr(self, "calls", 0)
        values = [(self.calls + i) % 2 for i in range(x.shape[0])]
        self.calls += x.shape[0]
        return torch.stack([torch.full_like(x[0], float(v)) for v in values])


def test_window_masks_are_blended_without_seams(classifier):
    clip = int(CLIP_SECONDS * RATE)
    wav = 0.3 * torch.randn(4 * clip)
    explanation = explain_signal(wav, classifier, AlternatingWindows(classifier, "stft"), clip, batch_size=3)
    per_frame = explanation.mask[:, 0]
    assert explanation.n_windows >= 6
    assert float(per_frame.min()) < 0.05 and float(per_frame.max()) > 0.95  # both masks are used
    assert float(per_frame.diff().abs().max()) < 0.2  # a naive concatenation jumps by 1
    assert torch.allclose(explanation.mask, per_frame[:, None].expand_as(explanation.mask))


def test_a_short_input_is_decided_as_in_training(classifier):
    clip = int(CLIP_SECONDS * RATE)
    wav = 0.3 * torch.randn(int(0.3 * RATE))
    explanation = explain_signal(wav, classifier, build_explainer("zeros", classifier, "stft"), clip)
    with torch.no_grad():
        expected = classifier(fit_length(wav, clip).unsqueeze(0)).softmax(-1)[0]
    assert torch.allclose(explanation.probs, expected, atol=1e-5)
    assert explanation.mask.shape == explanation.mag.shape
    assert explanation.mag.shape[0] < classifier.frontend.n_frames(clip)  # cropped back


def test_outputs_are_never_left_half_written(tiny_classifier, inputs, tmp_path, monkeypatch):
    resolved = resolve_method("ones", "esc50", tmp_path, classifier_dir=tiny_classifier)
    items = [i for i in collect_inputs(inputs["folder"]) if i.source in GOOD]
    output = tmp_path / "run"
    report = interpret_inputs(items, resolved, output, progress=False)
    assert report["n_failed"] == 0
    before = (output / "report.json").read_text()
    real_figure = inference_result.save_mask_figure

    def figure_fails_for_one(mag, mask, path, *args, **kwargs):
        if "long_44k_6ch" in str(path):
            raise OSError(28, "No space left on device")
        return real_figure(mag, mask, path, *args, **kwargs)

    # A failure that is not the input's fault stops the run with its own error, and the
    # previous complete run stays as it was (no half-written folder, no staging left).
    monkeypatch.setattr(inference_result, "save_mask_figure", figure_fails_for_one)
    with pytest.raises(OSError, match="No space left"):
        interpret_inputs(items, resolved, output, progress=False)
    assert (output / "report.json").read_text() == before
    assert _no_staging_left(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(inference_result, "save_mask_figure", interrupted)
    with pytest.raises(KeyboardInterrupt):
        interpret_inputs(items, resolved, output, progress=False)
    assert (output / "report.json").read_text() == before  # the previous complete run is intact
    assert _no_staging_left(tmp_path)

    foreign = tmp_path / "my_documents"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    status = run(["--input", str(inputs["good"]["short_8k_mono.wav"]), "--method", "ones",
                  "--classifier", str(tiny_classifier), "--output", str(foreign), "--no_progress"],
                 dataset="esc50")
    assert status == EXIT_SETUP and (foreign / "thesis.tex").read_text() == "keep me"


def test_the_most_recently_trained_experiment_wins(results_root, tmp_path):
    root = tmp_path / "esc50"
    shutil.copytree(results_root, root, symlinks=True)
    older = root / "lmac_cnn14_compact" / "1234"
    newer = root / "lmac_cnn14_compact" / "4321"
    shutil.copytree(older, newer, symlinks=True)
    for ckpt_yaml in (newer / "save").glob("CKPT+*/CKPT.yaml"):
        meta = yaml.safe_load(ckpt_yaml.read_text())
        meta["unixtime"] += 3600.0
        ckpt_yaml.write_text(yaml.safe_dump(meta))
    assert resolve_method("lmac", "esc50", root).interpreter_folder == newer
    assert resolve_method("gradcam", "esc50", root).classifier_folder.name == "1234"
    with pytest.raises(FileNotFoundError, match="train_lmac.py hparams/lmac_cnn14_ft.yaml"):
        resolve_method("lmac_ft", "esc50", root)


@pytest.mark.slow  # the CLI in a subprocess
def test_no_trained_model_names_the_training_commands(inputs, tmp_path):
    script = ROOT / "recipes" / "US8K" / "interpret.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--input", str(inputs["good"]["short_8k_mono.wav"]),
         "--results", str(tmp_path / "results" / "us8k"), "--output", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == EXIT_SETUP, proc.stderr
    assert "python recipes/US8K/train_classifier.py" in proc.stderr
    assert "python recipes/US8K/train_lmac.py" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()

    status = run(["--input", str(tmp_path / "nowhere.wav")], dataset="us8k")
    assert status == EXIT_SETUP


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_device_cuda(results_root, inputs, tmp_path):
    output = tmp_path / "cuda_run"
    status = run(["--input", str(inputs["good"]["long_44k_6ch.flac"]), "--results", str(results_root),
                  "--output", str(output), "--device", "cuda", "--no_progress"], dataset="esc50")
    assert status == EXIT_OK
    assert re.match(r"cuda", _report(output)["settings"]["device"])


# --------------------------------------------------------------------------------------------
# What is the user's to fix (exit 2, one line) and what is a bug (its traceback)
# --------------------------------------------------------------------------------------------
@pytest.fixture
def buggy_explainer():
    """A registered explainer whose constructor has a bug (a TypeError of its own)."""
    from lmac_brain.explainers.base import _REGISTRY, register

    @register("buggy_test_method")
    class Buggy(Explainer):
        def __init__(self, classifier, domain):
            super().__init__(classifier, domain)
            len(None)  # TypeError: the method's bug, not the user's option

        def explain(self, x, target):
            return x

    yield "buggy_test_method"
    _REGISTRY.pop("buggy_test_method")


@pytest.mark.parametrize("argv, message", [
    (["--method", "ig", "--option", "n_step=4"], "explainer 'ig' has no option 'n_step' (its options: n_steps"),
    (["--method", "gradcam", "--option", "protocol=topk", "--option", "top_k=2"], "top_k must be a fraction"),
    (["--method", "gradcam", "--option", "top_k"], "--option expects KEY=VALUE, got 'top_k'"),
    (["--method", "ones", "--device", "gpu"], "--device gpu: not a device"),
])
def test_bad_options_exit_2_with_one_line(tiny_classifier, inputs, tmp_path, caplog, argv, message):
    output = tmp_path / "out"
    status = run(["--input", str(inputs["good"]["short_8k_mono.wav"]), "--classifier", str(tiny_classifier),
                  "--output", str(output), "--no_progress", *argv], dataset="esc50")
    assert status == EXIT_SETUP and not output.exists()
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and message in errors[0], errors


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda_exits_2(tiny_classifier, inputs, tmp_path, caplog):
    status = run(["--input", str(inputs["good"]["short_8k_mono.wav"]), "--classifier", str(tiny_classifier),
                  "--method", "ones", "--output", str(tmp_path / "out"), "--device", "cuda"], dataset="esc50")
    assert status == EXIT_SETUP
    assert "--device cuda: CUDA is not available" in caplog.text


def test_a_bug_surfaces_with_its_traceback(tiny_classifier, inputs, tmp_path, buggy_explainer, monkeypatch):
    argv = ["--input", str(inputs["good"]["short_8k_mono.wav"]), "--classifier", str(tiny_classifier),
            "--output", str(tmp_path / "out"), "--no_progress"]
    # A TypeError inside an explainer's constructor is not a misspelt option.
    with pytest.raises(TypeError, match="NoneType"):
        run([*argv, "--method", buggy_explainer], dataset="esc50")
    # A ValueError deep in the run is a bug too, not "bad input": it is not turned into exit 2.
    import lmac_brain.inference.interpreter as interpreter_module

    def broken(*args, **kwargs):
        raise ValueError("shapes do not match (a bug)")

    monkeypatch.setattr(interpreter_module, "explain_signal", broken)
    with pytest.raises(ValueError, match="a bug"):
        run([*argv, "--method", "ones"], dataset="esc50")
    assert not (tmp_path / "out").exists()
