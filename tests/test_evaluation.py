"""End-to-end test of the evaluation harness (lmac_brain/evaluation/harness.py, recipes/ESC50/eval.py)
on a tiny ESC-50 twin with a 1-epoch classifier and a 1-epoch L-MAC."""

import csv
import os
import subprocess
import sys

import pytest
import torch
from conftest import RECIPE_SEED, recipe_env, run_script
from ruamel.yaml import YAML

import lmac_brain.evaluation.harness as evaluation
from lmac_brain.evaluation.methods import (
    EvaluationConfigError,
    build_explainers,
    method_options,
    validate_methods,
)
from lmac_brain.evaluation.tables import format_markdown
from lmac_brain.synthetic import make_esc50_twin, make_ljspeech_twin, make_wham_twin

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = ("protocol,dataset,condition,domain,method,label,mask_space,n,accuracy,AI,AD,AD_ref,AG,FF,FidIn,SPS,COMP,"
          "MM,loc_auc,loc_iou,SI-SDR,SDRi,template_share,n_SPS,n_COMP,n_loc_auc,n_loc_iou,sec_per_item")
EVAL = "recipes/ESC50/eval.py"
CONDITIONS = ["clean", "id", "ood_mix", "white_noise", "speech"]


# The models here are tiny: threads only add contention on a shared CPU.
pytestmark = pytest.mark.usefixtures("one_thread")


def _train(script, hparams, *args):
    cmd = [sys.executable, os.path.join(REPO, "recipes", "ESC50", script), os.path.join(REPO, "hparams", hparams),
           "--number_of_epochs=1", "--signal_length_s=1.0", RECIPE_SEED, *args]
    done = subprocess.run(cmd, cwd=REPO, env=recipe_env(threads=1), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluation")
    make_esc50_twin(root / "esc", n_classes=3, clips_per_class_per_fold=2, signal_length_s=1.0, seed=0)
    make_wham_twin(root / "wham", files_per_split=(2, 1, 2), seconds=1.5)
    make_ljspeech_twin(root / "lj", n_files=3, seconds=1.0)
    data = f"--data_folder={root / 'esc'}"
    _train("train_classifier.py", "classifier_cnn14_compact.yaml", data, f"--output_folder={root / 'clf'}")
    _train("train_lmac.py", "lmac_cnn14_compact.yaml", data, f"--output_folder={root / 'lmac'}",
           f"--classifier_source={root / 'clf' / 'save'}", "--n_listenable=0")
    return root


METHODS = {
    "saliency": {"explainer": "saliency", "label": "Saliency"},
    "ig": {"explainer": "ig", "n_steps": 2, "label": "IG"},
    "smoothgrad": {"explainer": "smoothgrad", "nt_samples": 2},
    "lmac": {"explainer": "lmac", "domains": ["stft"], "label": "L-MAC"},
    "constant": {"explainer": "constant", "mm_of": "lmac", "label": "Constant"},
    "energy": {"explainer": "energy", "label": "Energy"},
    "ones": {"explainer": "ones", "label": "All ones"},
}


def write_config(root, name, methods, **keys):
    """The compact evaluation YAML with only ``methods`` and the ``keys`` changed (a complete file)."""
    yaml = YAML()
    with open(os.path.join(REPO, "hparams", "eval_cnn14_compact.yaml"), encoding="utf-8") as f:
        doc = yaml.load(f)
    doc["methods"] = methods
    for key, value in {"signal_length_s": 1.0, "batch_size": 4, **keys}.items():
        if isinstance(value, dict):
            doc[key].update(value)  # e.g. conditions: drop some, keep the others
        else:
            doc[key] = value
    path = root / f"{name}.yaml"
    with open(path, "w", encoding="utf-8") as f:
        yaml.dump(doc, f)
    return str(path)


def argv(root, config, out, *extra):
    return [config, f"--data_folder={root / 'esc'}", f"--output_folder={out}",
            f"--classifier_source={root / 'clf' / 'save'}", *extra]


def noise_folders(root):
    return [f"--wham_folder={root / 'wham'}", f"--ljspeech_folder={root / 'lj'}"]


@pytest.mark.slow  # `trained` runs two recipes
def test_harness_end_to_end_and_resume(trained, monkeypatch):
    root = trained
    methods = {**METHODS, "lmac": {**METHODS["lmac"], "source": str(root / "lmac" / "save")}}
    config = write_config(root, "eval", methods)
    out = root / "eval_out"
    run_script(EVAL, argv(root, config, out, *noise_folders(root)), monkeypatch)

    csv_path = out / "metrics.csv"
    lines = csv_path.read_text().splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(lines))
    # No L-MAC in the Mel domain, so no L-MAC mean mask for the constant row to match there.
    expected = {(c, d, m) for c in CONDITIONS for d in ("stft", "mel") for m in METHODS
                if not (m in ("lmac", "constant") and d == "mel")}
    keys = [(r["condition"], r["domain"], r["method"]) for r in rows]
    assert len(keys) == len(set(keys)) and set(keys) == expected
    for row in rows:
        assert row["protocol"] == "paper" and row["dataset"] == "esc50" and row["n"] == "6"
        assert row["label"] == METHODS[row["method"]].get("label", row["method"])
        for name in ("accuracy", "AI", "AD", "AD_ref", "AG", "FF", "FidIn", "MM", "loc_auc", "loc_iou",
                     "SI-SDR", "SDRi", "sec_per_item"):
            assert row[name] != "", (row, name)  # the twin has ground truth
        assert row["mask_space"] == "linear"
        if row["method"] in ("ones", "constant"):
            # Constant maps: Quantus and the template share are undefined there, so the cells
            # stay empty, and their counts say that no item was averaged.
            assert row["SPS"] == row["COMP"] == row["template_share"] == ""
            assert row["n_SPS"] == row["n_COMP"] == "0"
        else:
            assert 0.0 <= float(row["template_share"]) < 1.0 and row["n_SPS"] == "6"
        if row["method"] == "constant":
            lmac = next(r for r in rows if (r["condition"], r["domain"], r["method"]) ==
                        (row["condition"], row["domain"], "lmac"))
            assert float(row["MM"]) == pytest.approx(float(lmac["MM"]), rel=1e-6)
        if row["method"] == "energy":
            assert 0.0 < float(row["MM"]) < 0.5  # |X| / max|X|: most bins are far below the peak
        if row["method"] == "ones":
            assert float(row["MM"]) == 1.0 and float(row["AD"]) == 0.0 and float(row["FidIn"]) == 1.0
            # The all-ones interpretation is the input itself: no improvement over it (up to the
            # ISTFT's error: this tiny front-end's hop equals its window, so it is not exact).
            assert abs(float(row["SDRi"])) < 0.5
        elif row["method"] != "constant":
            assert row["SPS"] != "" and row["COMP"] != ""
    # The contamination changes what is explained, so conditions differ.
    sal = {r["condition"]: float(r["AD"]) for r in rows if r["method"] == "saliency" and r["domain"] == "stft"}
    assert len(set(sal.values())) > 1

    markdown = (out / "metrics.md").read_text()
    for condition in CONDITIONS:
        for domain in ("STFT-Mel", "Mel"):
            assert f"### esc50, {condition}, {domain}" in markdown
    assert markdown.startswith("## Protocol `paper`")
    assert "masks applied in the linear space (M*|X|)" in markdown and "SPS 0, COMP 0" in markdown
    for block in markdown.split("### ")[1:]:
        methods_in_block = [line.split("|")[1].strip() for line in block.splitlines() if line.startswith("| ")][1:]
        assert methods_in_block[-1] == "All ones"

    # A rerun skips every row: nothing is evaluated, the CSV is unchanged.
    before = csv_path.read_text()

    def forbidden(*args, **kwargs):
        raise AssertionError("a finished row was evaluated again")

    monkeypatch.setattr(evaluation, "evaluate_one", forbidden)
    run_script(EVAL, argv(root, config, out, *noise_folders(root)), monkeypatch)
    assert csv_path.read_text() == before

    # Dropping one row: only that row is evaluated again.
    monkeypatch.undo()
    calls = []
    real = evaluation.evaluate_one
    monkeypatch.setattr(evaluation, "evaluate_one", lambda *a, **k: calls.append(k["progress_desc"]) or real(*a, **k))
    kept = [line for line in before.splitlines() if not line.startswith("paper,esc50,speech,mel,ig,")]
    csv_path.write_text("\n".join(kept) + "\n")
    run_script(EVAL, argv(root, config, out, *noise_folders(root)), monkeypatch)
    assert calls == ["paper/speech/mel/ig"]
    # Same rows again; the re-evaluated one has the same metrics (only its timing differs).
    def without_timing(text):
        return sorted(line.rsplit(",", 1)[0] for line in text.splitlines())

    assert without_timing(csv_path.read_text()) == without_timing(before)


@pytest.mark.slow  # `trained` runs two recipes
def test_bad_configuration_stops_before_any_work(trained, monkeypatch):
    root = trained
    methods = {
        "typo": {"explainer": "salency"},
        "lmac": {"explainer": "lmac", "source": str(root / "no_such_lmac" / "save")},
        "ones": {"explainer": "ones"},
    }
    config = write_config(root, "bad", methods)
    out = root / "bad_out"
    loaded = []
    monkeypatch.setattr("lmac_brain.experiments.classifiers.load_classifier_weights", lambda *a: loaded.append(a))
    # No --wham_folder / --ljspeech_folder: the id and speech conditions have no data.
    with pytest.raises(EvaluationConfigError) as err:
        run_script(EVAL, argv(root, config, out), monkeypatch)
    message = str(err.value)
    assert "4 problem(s)" in message
    assert "'salency'" in message and "unknown explainer" in message
    assert str(root / "no_such_lmac" / "save") in message and "train_lmac.py" in message
    assert "'id'" in message and "wham_folder" in message
    assert "'speech'" in message and "ljspeech_folder" in message
    assert not loaded
    assert not (out / "metrics.csv").exists()


@pytest.mark.slow  # `trained` runs two recipes
def test_checkpoint_of_the_wrong_domain_is_caught_when_building(trained, monkeypatch):
    # An L-MAC trained in the STFT domain cannot explain in the mel domain: reported, not run.
    root = trained
    methods = {"lmac": {"explainer": "lmac", "source": str(root / "lmac" / "save")}}
    config = write_config(root, "wrong_domain", methods, conditions={"id": None, "speech": None})
    with pytest.raises(EvaluationConfigError, match=r"'lmac' \(mel\): cannot build 'lmac'"):
        run_script(EVAL, argv(root, config, root / "wrong_domain_out"), monkeypatch)
    assert not (root / "wrong_domain_out" / "metrics.csv").exists()


def test_method_options_and_validation(tmp_path):
    spec = {"explainer": "lmac", "source": {"stft": "a", "mel": "b"}, "domains": ["stft"]}
    assert method_options(spec, "stft") == ("lmac", {"source": "a"})
    problems = validate_methods(
        {"x": {"explainer": "gradcam", "top_k": {"stft": 0.1}}, "y": {"explainer": "lmac"}, "z": "ones",
         "off": None},
        ["stft", "mel"],
    )
    assert len(problems) == 3
    assert "'top_k' gives no value for domain 'mel'" in problems[0]
    assert "needs 'source'" in problems[1]
    assert "'explainer' key" in problems[2]
    assert validate_methods({"w": {"explainer": "lmac", "source": str(tmp_path)}}, ["stft"])  # empty folder
    assert validate_methods({"o": {"explainer": "ones"}}, ["stft"]) == []
    # A misspelt option is found from the constructor's signature, before any model is built.
    assert validate_methods({"IG": {"explainer": "ig", "n_step": 4}}, ["stft"]) == [
        ("method 'IG': explainer 'ig' has no option 'n_step' (its options: n_steps, internal_batch_size, "
         "protocol, top_k)")]


@pytest.fixture
def untrained_classifier():
    from torch import nn

    from lmac_brain.audio.spectral import SpectralFrontEnd
    from lmac_brain.models.classifier import AudioClassifier
    from lmac_brain.models.cnn14 import Cnn14

    torch.manual_seed(0)
    return AudioClassifier(SpectralFrontEnd(16000, 256, 16, 16, n_mels=32), Cnn14(32, base_channels=4),
                           nn.Linear(128, 3)).eval()


def test_a_bad_option_value_is_a_configuration_problem(untrained_classifier):
    methods = {"GradCAM": {"explainer": "gradcam", "protocol": "topk", "top_k": 2},
               "Saliency": {"explainer": "saliency", "protocol": "topk", "top_k": 0.1}}
    explainers, problems = build_explainers(methods, untrained_classifier, ["stft"])
    assert list(explainers) == [("stft", "Saliency")]
    assert problems == ["method 'GradCAM' (stft): cannot build 'gradcam': top_k must be a fraction in [0, 1], got 2"]


def test_a_bug_in_an_explainer_constructor_is_not_a_configuration_problem(untrained_classifier):
    from lmac_brain.explainers.base import _REGISTRY, Explainer, register

    @register("buggy_test_method")
    class Buggy(Explainer):
        def __init__(self, classifier, domain, strength=1.0):
            super().__init__(classifier, domain)
            self.scale = strength * None  # TypeError: the method's bug, whatever the options

        def explain(self, x, target):
            return x

    try:
        assert validate_methods({"B": {"explainer": "buggy_test_method", "strength": 2.0}}, ["stft"]) == []
        with pytest.raises(TypeError, match="NoneType"):
            build_explainers({"B": {"explainer": "buggy_test_method", "strength": 2.0}}, untrained_classifier,
                             ["stft"])
    finally:
        _REGISTRY.pop("buggy_test_method")


def test_markdown_puts_the_baseline_last():
    rows = [{"protocol": "paper", "dataset": "d", "condition": "c", "domain": "stft", "method": m, "label": label, "n": "2", "AI": "1",
             "loc_auc": ""} for m, label in (("ones", "All ones"), ("b", "B"), ("a", "A"))]
    text = format_markdown(rows, baselines={"ones"}, method_order=["a", "b", "ones"])
    order = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")][1:]
    assert order == ["A", "B", "All ones"]
    assert "loc_auc" not in text and "### d, c, STFT-Mel" in text
