"""Tests of the evaluation conditions (lmac_brain/evaluation/conditions.py) on tiny synthetic twins."""

import json

import pytest
import torch

from data_prep import prepare_esc50, prepare_ljspeech, prepare_wham
from lmac_brain.audio.reading import read_clip
from lmac_brain.data.pipelines import classification_dataset
from lmac_brain.evaluation.conditions import (
    CONDITION_KINDS,
    MissingConditionData,
    build_condition,
    build_conditions,
)
from lmac_brain.experiments.setup import load_or_create_label_encoder
from lmac_brain.synthetic import make_esc50_twin, make_ljspeech_twin, make_wham_twin

SAMPLE_RATE = 16000
CLIP_SECONDS = 1.0


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("conditions")
    make_esc50_twin(root / "esc", n_classes=3, clips_per_class_per_fold=2, signal_length_s=CLIP_SECONDS,
                    seed=0)
    make_wham_twin(root / "wham", files_per_split=(1, 1, 3), seconds=1.5)
    make_ljspeech_twin(root / "lj", n_files=3, seconds=1.2)
    manifests = dict(prepare_esc50(root / "esc", root / "manifests"))
    manifests["wham"] = prepare_wham(root / "wham", root / "manifests" / "wham")
    manifests["ljspeech"] = prepare_ljspeech(root / "lj", root / "manifests" / "ljspeech")
    encoder = load_or_create_label_encoder(manifests, root / "save")
    test = classification_dataset(manifests["test"], SAMPLE_RATE, CLIP_SECONDS, encoder)
    items = [test[i] for i in range(len(test))]
    ids = [item["id"] for item in items]
    wavs = torch.stack([item["sig"] for item in items])
    with open(manifests["test"]) as f:
        labels = {k: v["label"] for k, v in json.load(f).items()}
    return {"manifests": manifests, "ids": ids, "wavs": wavs, "labels": labels}


def build(kind, data, seed=7, **options):
    return build_condition(kind, data["manifests"], SAMPLE_RATE, CLIP_SECONDS, seed, **options)


def snr_db(signal, added):
    return 10 * torch.log10(signal.pow(2).mean(-1) / added.pow(2).mean(-1))


@pytest.mark.parametrize("kind", [k for k in CONDITION_KINDS if k != "clean"])
def test_same_mixture_whatever_the_batch(kind, data):
    cond = build(kind, data)
    ids, wavs = data["ids"], data["wavs"]
    assert len(ids) >= 6
    whole, added = cond(wavs, ids)
    # One item at a time, and the whole batch in reverse order, give the same rows.
    for i, item_id in enumerate(ids):
        single, _ = cond(wavs[i : i + 1], [item_id])
        torch.testing.assert_close(single[0], whole[i], rtol=0, atol=1e-6)
    reverse, _ = cond(wavs.flip(0), ids[::-1])
    torch.testing.assert_close(reverse.flip(0), whole, rtol=0, atol=1e-6)
    # A fresh instance with the same seed reproduces it; another seed does not.
    torch.testing.assert_close(build(kind, data)(wavs, ids)[0], whole, rtol=0, atol=1e-6)
    assert not torch.allclose(build(kind, data, seed=8)(wavs, ids)[1], added)
    # Items do not share their added signal (seeding depends on the item).
    normed = added / added.norm(dim=-1, keepdim=True)
    assert any(not torch.allclose(normed[0], row, atol=1e-3) for row in normed[1:])


@pytest.mark.parametrize("kind,snr", [("id", 5.0), ("ood_mix", 0.0), ("white_noise", 3.0), ("speech", -2.0)])
def test_snr_is_what_was_asked(kind, snr, data):
    mixture, added = build(kind, data, snr_db=snr)(data["wavs"], data["ids"])
    torch.testing.assert_close(mixture - data["wavs"], added)
    measured = snr_db(data["wavs"], added)
    torch.testing.assert_close(measured, torch.full_like(measured, snr), rtol=0, atol=1e-3)


def test_snr_range_is_drawn_per_item(data):
    cond = build("id", data, snr_db=[0.0, 15.0])
    _, added = cond(data["wavs"], data["ids"])
    measured = snr_db(data["wavs"], added)
    assert bool(((measured > -1e-3) & (measured < 15.0 + 1e-3)).all())
    assert float(measured.max() - measured.min()) > 1.0
    expected = torch.tensor([cond.item_snr(i) for i in data["ids"]])
    torch.testing.assert_close(measured, expected, rtol=0, atol=1e-3)


def test_default_snrs(data):
    for kind, snr in (("ood_mix", 0.0), ("white_noise", 3.0), ("speech", 3.0)):
        _, added = build(kind, data)(data["wavs"], data["ids"])
        measured = snr_db(data["wavs"], added)
        torch.testing.assert_close(measured, torch.full_like(measured, snr), rtol=0, atol=1e-3)


def test_ood_partner_is_another_test_clip_of_another_class(data):
    cond = build("ood_mix", data)
    ids, labels = data["ids"], data["labels"]
    partners = [cond.partner(i) for i in ids]
    assert all(labels[p] != labels[i] for i, p in zip(ids, partners))
    assert set(partners) <= set(labels)
    assert len(set(partners)) > 1
    # What was added is the partner clip (scaled), not anything else.
    _, added = cond(data["wavs"], ids)
    with open(data["manifests"]["test"]) as f:
        manifest = json.load(f)
    for row, partner in zip(added, partners):
        clip = read_clip(manifest[partner]["wav"], SAMPLE_RATE, CLIP_SECONDS)
        gain = float((row * clip).sum() / clip.pow(2).sum())
        torch.testing.assert_close(row, gain * clip, rtol=0, atol=1e-5)


def test_clean_is_unchanged(data):
    mixture, added = build("clean", data)(data["wavs"], data["ids"])
    assert torch.equal(mixture, data["wavs"])
    assert not added.any()


def test_missing_data_fails_at_construction(data):
    manifests = {"test": data["manifests"]["test"]}
    with pytest.raises(MissingConditionData, match="wham_folder"):
        build_condition("id", manifests, SAMPLE_RATE, CLIP_SECONDS)
    with pytest.raises(MissingConditionData, match="ljspeech_folder"):
        build_condition("speech", manifests, SAMPLE_RATE, CLIP_SECONDS)
    with pytest.raises(ValueError, match="Unknown condition"):
        build_condition("rain", manifests)
    built, problems = build_conditions(
        {"clean": {}, "id": {}, "speech": {"snr_db": 3.0}, "loud": {"kind": "white_noise", "snr_db": 0.0},
         "dropped": None},
        manifests, SAMPLE_RATE, CLIP_SECONDS,
    )
    assert sorted(built) == ["clean", "loud"]
    assert built["loud"].snr_db == 0.0
    assert len(problems) == 2 and "'id'" in problems[0] and "'speech'" in problems[1]
