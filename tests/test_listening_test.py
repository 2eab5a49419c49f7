"""The webMUSHRA listening-test kit: export (config + audio) and MOS aggregation."""

import csv
import json

import matplotlib.image
import pytest
import soundfile as sf
import torch
import yaml

from lmac_brain.listening.config import CONTROL_LABELS, MAX_SECONDS
from lmac_brain.listening.mos import aggregate_mushra
from lmac_brain.listening.ratings import read_mushra_csv
from lmac_brain.listening.report import mos_markdown
from lmac_brain.listening.cli import EXIT_OK, EXIT_SETUP, run

# Two listeners x two recordings, as webMUSHRA's service/write.php writes mushra.csv (the
# questionnaire columns come before session_uuid). Means by hand:
#   lmac:      rec01 (80, 70) -> 75,   rec02 (60, 50) -> 55,  all -> 65
#   gradcam:   rec01 (40, 30) -> 35,   rec02 (20, 10) -> 15,  all -> 25
#   reference: rec01 (100, 100) -> 100, rec02 (90, 80) -> 85, all -> 92.5
#   anchor35:  rec01 (10, 0) -> 5,     rec02 (20, 30) -> 25,  all -> 15
RATINGS = {
    ("u1", "rec01"): {"reference": 100, "anchor35": 10, "lmac": 80, "gradcam": 40},
    ("u1", "rec02"): {"reference": 90, "anchor35": 20, "lmac": 60, "gradcam": 20},
    ("u2", "rec01"): {"reference": 100, "anchor35": 0, "lmac": 70, "gradcam": 30},
    ("u2", "rec02"): {"reference": 80, "anchor35": 30, "lmac": 50, "gradcam": 10},
}


@pytest.fixture
def mushra_csv(tmp_path):
    path = tmp_path / "mushra.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["session_test_id", "email", "age", "session_uuid", "trial_id", "rating_stimulus",
                         "rating_score", "rating_time", "rating_comment"])
        for (session, trial), scores in RATINGS.items():
            for stimulus, score in scores.items():
                writer.writerow(["lmac_esc50", f"{session}@example.org", 30, session, trial, stimulus, score, 1234, ""])
    return path


def test_mos_per_method_and_per_recording(mushra_csv):
    result = aggregate_mushra(read_mushra_csv(mushra_csv), method_order=["gradcam", "lmac"])
    assert result.methods == ["gradcam", "lmac", "reference", "anchor35"]  # controls last
    expected = {"lmac": 65.0, "gradcam": 25.0, "reference": 92.5, "anchor35": 15.0}
    for method, mos in expected.items():
        assert result.overall[(method, "MOS")].mean == pytest.approx(mos)
        assert result.overall[(method, "MOS")].n == 4
    assert result.per_recording[("lmac", "rec01")].mean == pytest.approx(75.0)
    assert result.per_recording[("lmac", "rec02")].mean == pytest.approx(55.0)
    assert result.per_recording[("gradcam", "rec02")].mean == pytest.approx(15.0)
    assert result.per_recording[("anchor35", "rec02")].mean == pytest.approx(25.0)
    assert result.per_recording[("lmac", "rec01")].std == pytest.approx(7.0710678)

    table = mos_markdown(result, {"lmac": "L-MAC", "gradcam": "GradCAM"})
    assert "| L-MAC | 65.00 | 4 |" in table
    assert "| GradCAM | 25.00 | 4 |" in table
    assert f"| {CONTROL_LABELS['reference']} | 92.50 | 4 |" in table
    assert "| L-MAC | 75.00 | 55.00 |" in table  # per recording


def test_aggregate_command_with_groups_like_table_3(mushra_csv, tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "listening_test.json").write_text(json.dumps({
        "methods": [{"stimulus": "lmac"}, {"stimulus": "gradcam"}],
        "labels": {"lmac": "L-MAC", "gradcam": "GradCAM", **CONTROL_LABELS},
    }))
    status = run(["aggregate", "--csv", str(mushra_csv), "--export", str(export),
                  "--group", "MOS-1=rec01", "--group", "MOS-2=rec02"], dataset="esc50")
    assert status == EXIT_OK
    table = (export / "mos" / "mos.md").read_text()
    assert table.splitlines()[0] == "| Method | MOS-1 | MOS-2 | n |"
    assert "| L-MAC | 75.00 | 55.00 | 4 |" in table
    assert "| GradCAM | 35.00 | 15.00 | 4 |" in table
    assert table.index("L-MAC") < table.index("GradCAM") < table.index("Hidden reference")
    rows = list(csv.DictReader(open(export / "mos" / "mos.csv")))
    lmac_rec02 = next(r for r in rows if r["method"] == "lmac" and r["scope"] == "recording:rec02")
    assert float(lmac_rec02["mos"]) == pytest.approx(55.0) and lmac_rec02["n"] == "2"
    figure = matplotlib.image.imread(export / "mos" / "mos.png")
    assert figure.shape[0] > 100 and figure.shape[1] > 100

    bad = tmp_path / "bad.csv"
    bad.write_text("trial_id,score\nrec01,3\n")
    assert run(["aggregate", "--csv", str(bad)], dataset="esc50") == EXIT_SETUP
    assert run(["aggregate", "--csv", str(mushra_csv), "--group", "X=rec09"], dataset="esc50") == EXIT_SETUP


def test_export_writes_a_webmushra_test(tiny_twin, tiny_classifier, tmp_path):
    manifest = tiny_classifier / "manifests" / "test.json"
    output = tmp_path / "lt"
    status = run(["export", "--input", str(manifest), "--mix_other_class", "--n", "3",
                  "--methods", "gradcam", "saliency", "--classifier", str(tiny_classifier),
                  "--anchors", "35", "70", "--export_rate", "48000", "--output", str(output)],
                 dataset="esc50")
    assert status == EXIT_OK
    config = yaml.safe_load((output / "configs" / "lmac_esc50.yaml").read_text())
    assert config["testId"] == "lmac_esc50" and config["remoteService"] == "service/write.php"
    assert config["pages"][-1]["type"] == "finish" and config["pages"][-1]["writeResults"] is True
    random_block = next(p for p in config["pages"] if isinstance(p, list))
    assert random_block[0] == "random"
    pages = random_block[1:]
    assert [p["id"] for p in pages] == ["rec01", "rec02", "rec03"]
    exported = json.loads((output / "listening_test.json").read_text())
    for page, entry in zip(pages, exported["recordings"]):
        assert page["type"] == "mushra" and page["createAnchor35"] and page["createAnchor70"]
        assert set(page["stimuli"]) == {"gradcam", "saliency"}
        assert f"<b>{entry['predicted']}</b>" in page["content"]
        assert " + " in entry["source"] and "at 0 dB" in entry["source"]  # a two-class mixture
        reference, rate = sf.read(output / page["reference"])
        assert rate == 48000 and reference.ndim == 1
        assert reference.shape[0] == 48000 * 1.0 and reference.shape[0] <= MAX_SECONDS * rate
        peaks = [abs(reference).max()]
        for path in page["stimuli"].values():
            condition, condition_rate = sf.read(output / path)
            assert condition_rate == rate and condition.shape == reference.shape
            assert abs(condition - reference).max() > 1e-3  # an interpretation, not a copy
            peaks.append(abs(condition).max())
        assert max(peaks) == pytest.approx(10 ** (-1 / 20), abs=1e-3)  # one gain per page, -1 dBFS
    assert config["pages"][1]["type"] == "volume" and (output / config["pages"][1]["stimulus"]).is_file()


def test_unusable_input_or_options_exit_2_with_one_line(mushra_csv, tiny_classifier, tmp_path, caplog):
    cases = [
        (["aggregate", "--csv", str(tmp_path / "missing.csv")], "Cannot read the webMUSHRA results"),
        (["aggregate", "--csv", str(mushra_csv), "--export", str(tmp_path)], "not a listening-test export"),
        (["aggregate", "--csv", str(mushra_csv), "--group", "MOS-1"], "--group expects NAME=trial1"),
        (["export", "--input", str(tmp_path / "nothing"), "--methods", "ones", "--classifier", str(tiny_classifier)],
         "does not exist"),
        (["export", "--input", str(mushra_csv), "--methods", "lmac", "--interpreter", "lmac"],
         "--interpreter expects KEY=VALUE"),
    ]
    if not torch.cuda.is_available():
        cases.append((["export", "--input", str(mushra_csv), "--methods", "ones", "--device", "cuda"],
                      "CUDA is not available"))
    for argv, message in cases:
        caplog.clear()
        assert run(argv, dataset="esc50") == EXIT_SETUP, argv
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and message in errors[0], (argv, errors)


def test_a_bug_surfaces_with_its_traceback(mushra_csv, tiny_twin, tiny_classifier, tmp_path, monkeypatch):
    import lmac_brain.listening.cli as recipe

    def broken(*args, **kwargs):
        raise OSError("a bug, not the user's file")

    monkeypatch.setattr(recipe, "aggregate_mushra", broken)
    with pytest.raises(OSError, match="a bug"):
        run(["aggregate", "--csv", str(mushra_csv)], dataset="esc50")

    def wrong(*args, **kwargs):
        raise ValueError("a bug deep in the export")

    monkeypatch.setattr(recipe, "export_webmushra", wrong)
    with pytest.raises(ValueError, match="a bug"):
        run(["export", "--input", str(tiny_classifier / "manifests" / "test.json"), "--n", "1", "--methods", "ones",
             "--classifier", str(tiny_classifier), "--output", str(tmp_path / "lt")], dataset="esc50")
