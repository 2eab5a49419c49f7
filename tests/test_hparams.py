"""Every hparams file is plain HyperPyYAML, its values are the ones the recipes always ran with,
and SpeechBrain's command line reaches every key (``!ref`` values and method keys included)."""

import json
from pathlib import Path

import pytest
import speechbrain as sb
from conftest import plain_hparams
from hyperpyyaml import load_hyperpyyaml
from ruamel.yaml import YAML

from lmac_brain.evaluation.protocols import resolve
from lmac_brain.experiments.setup import with_default

ROOT = Path(__file__).resolve().parents[1]
HPARAMS = sorted((ROOT / "hparams").glob("*.yaml"))
FILLED = {"dataset": "esc50", "data_folder": "/data", "out_n_neurons": 10}

# Resolved values of every file when the compact and fine-tuning files were still written as
# overrides of their paper file (an `extends:` key read by our own loader), before they became
# complete HyperPyYAML files. The values must not have moved, except where listed below.
BEFORE = json.loads((ROOT / "tests" / "data" / "hparams_resolved_before_plain_yaml.json").read_text())
METHOD_KEYS = {  # the row labels that were keys, and the identifier keys that replaced them
    "Saliency": "saliency", "Smoothgrad": "smoothgrad", "IG": "ig", "GradCAM": "gradcam",
    "Guided GradCAM": "guided_gradcam", "Guided Backprop": "guided_backprop", "SHAP": "shap",
    "L2I, RT=0.2": "l2i_rt02", "L2I, RT=0.4": "l2i_rt04", "L2I, RT=0.6": "l2i_rt06",
    "L2I, RT=0.8": "l2i_rt08", "L-MAC": "lmac", "L-MAC FT l_g=4": "lmac_ft_lg4",
    "L-MAC FT l_g=16": "lmac_ft_lg16", "L-MAC FT l_g=32": "lmac_ft_lg32",
    "L-MAC FT l_g=4 CCT 0.7": "lmac_ft_lg4_cct07", "L-MAC FT l_g=16 CCT 0.7": "lmac_ft_lg16_cct07",
    "L-MAC FT l_g=32 CCT 0.7": "lmac_ft_lg32_cct07", "All zeros": "zeros", "All ones": "ones",
}
# Keys renamed since to SpeechBrain's names for the same concept (its ESC-50 recipes' hparams).
RENAMED = {
    "n_classes": "out_n_neurons", "train_folds": "train_fold_nums", "valid_folds": "valid_fold_nums",
    "test_folds": "test_fold_nums", "l_in": "l_in_w", "l_out": "l_out_w", "l_s": "reg_w_l1",
    "l_tv": "reg_w_tv", "l_g": "g_w", "cct": "crosscor_th", "listen_every": "interpret_period",
    "l_rec": "alpha", "l_sparse": "beta", "nmf_components": "K", "relevance_threshold": "relevance_th",
    "clip_seconds": "signal_length_s", "hop_length_ms": "hop_length", "win_length_ms": "win_length",
}
METHOD_MAPPINGS = ("methods", "randomization_methods", "roar_methods")
# Keys the compact evaluation and sanity checks declared without using them (their methods are
# disabled in the compact set-up), dropped when the files became complete.
UNUSED_BEFORE = {
    "eval_cnn14_compact.yaml": {
        f"{stem}_{kind}" for stem in ("lmac_mel", "lmac_ft_mel", "lmac_ft16", "lmac_ft16_mel", "lmac_ft32",
                                      "lmac_ft32_mel", "lmac_ft_cct", "lmac_ft16_cct", "lmac_ft32_cct")
        for kind in ("experiment", "source")
    },
    "sanity_checks_cnn14_compact.yaml": {"lmac_ft_experiment", "lmac_ft_cct_experiment", "lmac_ft_source",
                                         "lmac_ft_cct_source"},
}
# Deliberate changes since, with the reason: (file, key) or (file, key, method key).
# Values given per protocol ({paper: ..., reference: ...}) are compared in the paper protocol.
CHANGED_SINCE = {
    **{(name, "methods", method): "rows that expose degenerate masks (constant at L-MAC's MM, energy)"
       for name in ("eval_cnn14.yaml", "eval_cnn14_compact.yaml") for method in ("constant", "energy")},
    **{(name, "decoder_variant"): "`old` renamed `coarse`; the default chosen by the validation-fold ablation"
       for name in ("lmac_cnn14.yaml", "lmac_cnn14_ft.yaml", "lmac_cnn14_compact.yaml", "lmac_cnn14_compact_ft.yaml")},
    ("lmac_cnn14_ft.yaml", "number_of_epochs"): "200 with weight decay 2e-6: the authors' fine-tuning schedule",
    ("lmac_cnn14_compact.yaml", "number_of_epochs"): "50: the budget chosen by the validation-fold decoder ablation",
    ("lmac_cnn14.yaml", "number_of_epochs"): "200, as SpeechBrain's recipe (with weight decay 2e-6)",
    ("eval_cnn14_compact.yaml", "methods", "lmac"): "optional row, with its Mel-domain source (paper tables)",
    ("eval_cnn14_compact.yaml", "methods", "lmac_ft_lg4"): "optional row, with its Mel-domain source (paper tables)",
    **{(name, "conditions"): "protocol options (normalize, copies, partners, other_class, noise_split) "
                             "whose paper values leave the mixtures unchanged"
       for name in ("eval_cnn14.yaml", "eval_cnn14_compact.yaml")},
    **{(name, "methods", method): "reference-protocol variant options whose paper values are the defaults"
       for name in ("eval_cnn14.yaml", "eval_cnn14_compact.yaml")
       for method in ("gradcam", "guided_gradcam", "shap")},
    **{("eval_cnn14_compact.yaml", "methods", method): "optional row (left out when not trained)"
       for method in ("l2i_rt02", "l2i_rt04", "l2i_rt06", "l2i_rt08")},
    **{("eval_cnn14_compact.yaml", "methods", method): "new optional row of the paper's tables"
       for method in ("lmac_ft_lg16", "lmac_ft_lg32", "lmac_ft_lg4_cct07", "lmac_ft_lg16_cct07",
                      "lmac_ft_lg32_cct07")},
}


def _load(path, overrides=None):
    with open(path, encoding="utf-8") as f:
        return load_hyperpyyaml(f, {**FILLED, **(overrides or {})})


def _plain(path, overrides=None):
    return plain_hparams(path, {**FILLED, **(overrides or {})})


def _renamed(mapping):
    """A methods mapping of the old files with today's keys, and without today's labels."""
    return {METHOD_KEYS[label]: spec for label, spec in mapping.items() if spec is not None}


# The paper-size files build paper-size models: seconds each.
@pytest.mark.parametrize("path", [p if "compact" in p.name else pytest.param(p, marks=pytest.mark.slow)
                                  for p in HPARAMS], ids=lambda p: p.name)
def test_every_file_loads_with_plain_hyperpyyaml(path):
    hparams = _load(path)
    assert hparams["output_folder"].startswith("results/esc50/")
    assert "extends" not in hparams
    assert hparams["embedding_model"].emb_dim == hparams["emb_dim"]  # objects are built


@pytest.mark.parametrize("name", sorted(BEFORE), ids=str)
def test_values_are_those_the_recipes_ran_with(name):
    now = resolve(_plain(ROOT / "hparams" / name), "paper")
    before = BEFORE[name]
    for old_key, old in before.items():
        key = RENAMED.get(old_key, old_key)
        if key in UNUSED_BEFORE.get(name, ()) or (name, key) in CHANGED_SINCE:
            continue
        assert key in now, f"{name}: {key} disappeared"
        if key in METHOD_MAPPINGS:
            old = _renamed(old)
            enabled = {k: spec for k, spec in now[key].items() if spec is not None}
            added = {m for m in enabled if (name, key, m) in CHANGED_SINCE and m not in old}
            assert set(enabled) - added == set(old), f"{name}: {key}"
            for method, spec in enabled.items():
                assert spec.get("label"), f"{name}: {key}: {method} has no label"
                if (name, key, method) not in CHANGED_SINCE:
                    assert {o: v for o, v in spec.items() if o != "label"} == old[method], f"{name}: {method}"
        else:
            assert now[key] == old, f"{name}: {key} is {now[key]!r}, was {old!r}"


def _cli(path, *args):
    """The overrides SpeechBrain's command line gives for ``args``, as a mapping (tags kept)."""
    _, _, overrides = sb.parse_arguments([str(path), *args])
    return YAML().load(overrides) or {}


def test_ref_overrides_from_the_command_line():
    path = ROOT / "hparams" / "lmac_cnn14_compact.yaml"
    _, _, overrides = sb.parse_arguments([str(path), "--save_folder=!ref <data_folder>/checkpoints", "--lr=0.5"])
    for key, value in FILLED.items():  # what a recipe's command line and script add
        overrides = with_default(overrides, key, value)
    plain = plain_hparams(path, YAML().load(overrides))
    assert plain["save_folder"] == "/data/checkpoints" and plain["lr"] == 0.5
    with open(path, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, overrides)  # the string, as the recipes pass it
    assert hparams["checkpointer"].checkpoints_dir == Path("/data/checkpoints")


@pytest.mark.slow  # parses each file twice per method and condition
@pytest.mark.parametrize("name", ["eval_cnn14.yaml", "eval_cnn14_compact.yaml"])
def test_every_method_and_condition_can_be_dropped_or_changed_from_the_command_line(name):
    path = ROOT / "hparams" / name
    plain = _plain(path)
    for key in plain["methods"]:
        dropped = _plain(path, _cli(path, f"--methods={{{key}: null}}"))
        assert dropped["methods"][key] is None
        assert all(dropped["methods"][k] == v for k, v in plain["methods"].items() if k != key)
        changed = _plain(path, _cli(path, f"--methods={{{key}: {{label: Mine, domains: [mel]}}}}"))
        assert changed["methods"][key] == {**plain["methods"][key], "label": "Mine", "domains": ["mel"]}
    for key in plain["conditions"]:
        dropped = _plain(path, _cli(path, f"--conditions={{{key}: null}}"))
        assert dropped["conditions"][key] is None
        changed = _plain(path, _cli(path, f"--conditions={{{key}: {{snr_db: 7.5}}}}"))
        assert changed["conditions"][key]["snr_db"] == 7.5


KEYS = ("sample_rate", "signal_length_s", "n_fft", "hop_length", "win_length", "n_mels", "base_channels")


@pytest.mark.slow  # parses six files per profile
@pytest.mark.parametrize("profile", ["", "_compact"])
def test_classifier_settings_agree_across_recipes(profile):
    names = [f"{stem}{profile}.yaml" for stem in ("classifier_cnn14", "lmac_cnn14", "l2i_cnn14", "eval_cnn14",
                                                  "sanity_checks_cnn14")]
    names.append("lmac_cnn14_compact_ft.yaml" if profile else "lmac_cnn14_ft.yaml")
    values = [{k: _plain(ROOT / "hparams" / name)[k] for k in KEYS} for name in names]
    assert all(v == values[0] for v in values)
