"""Every YAML loads; `extends:` files are overrides of their base; compact files agree."""

from pathlib import Path

import pytest

from lmac_brain.experiments.setup import peek_hparams, read_hparams_text

HPARAMS = sorted((Path(__file__).resolve().parents[1] / "hparams").glob("*.yaml"))
FILLED = {"dataset": "esc50", "data_folder": "/data", "n_classes": 10}


@pytest.mark.parametrize("path", HPARAMS, ids=lambda p: p.name)
def test_every_hparams_file_resolves(path):
    text, overrides = read_hparams_text(path, FILLED)
    plain = peek_hparams(text, overrides)
    assert plain["output_folder"].startswith("results/esc50/")
    assert "extends" not in plain


def test_extends_overrides_base_and_command_line_wins():
    text, overrides = read_hparams_text(HPARAMS[0].parent / "lmac_cnn14_compact_ft.yaml", {**FILLED, "l_g": 16})
    plain = peek_hparams(text, overrides)
    assert plain["finetuning"] is True  # from lmac_cnn14_compact_ft.yaml
    assert plain["base_channels"] == 8  # from lmac_cnn14_compact.yaml
    assert plain["l_in"] == 4.0  # from lmac_cnn14.yaml
    assert plain["l_g"] == 16  # command line
    assert plain["lmac_source"] == "results/esc50/lmac_cnn14_compact/1234/save"


KEYS = ("sample_rate", "clip_seconds", "n_fft", "hop_length_ms", "win_length_ms", "n_mels", "base_channels")


@pytest.mark.parametrize("profile", ["", "_compact"])
def test_classifier_settings_agree_across_recipes(profile):
    folder = HPARAMS[0].parent
    values = []
    for stem in ("classifier_cnn14", "lmac_cnn14", "l2i_cnn14", "eval_cnn14"):
        text, overrides = read_hparams_text(folder / f"{stem}{profile}.yaml", FILLED)
        plain = peek_hparams(text, overrides)
        values.append({k: plain[k] for k in KEYS})
    assert all(v == values[0] for v in values)
