"""L-MAC objective, fine-tuning selection and learning on a fixed batch."""

import json

import pytest
import speechbrain as sb
import torch
from torch import nn

from lmac_brain.audio import read_clip
from lmac_brain.classifier import AudioClassifier
from lmac_brain.cnn14 import Cnn14
from lmac_brain.decoder import VARIANTS, build_decoder
from lmac_brain.explainers.lmac import LMACExplainer
from lmac_brain.interpreter_stats import CHECKPOINT_KEY
from lmac_brain.lmac_brain import LMACBrain, binarized_target, guidance_loss
from lmac_brain.pretrained import load_pretrained
from lmac_brain.spectral import SpectralFrontEnd


def _test_clips(classifier_folder, n=8):
    manifest = json.loads((classifier_folder / "manifests" / "test.json").read_text())
    return torch.stack([read_clip(e["wav"], 16000, 1.0) for e in list(manifest.values())[:n]])


def test_guidance_applies_exactly_to_items_at_or_above_cct():
    torch.manual_seed(0)
    target = torch.rand(4, 20, 10)
    target_bin = binarized_target(target, 0.35)
    x = torch.ones(4, 20, 10)
    # Item 0: mask = target (similarity 1); item 1: the complement (0); items 2-3: noise.
    mask = torch.stack([target_bin[0], 1 - target_bin[1], torch.rand(20, 10), torch.rand(20, 10)])
    mask = mask.clamp(1e-3, 1 - 1e-3)
    similarity = torch.nn.functional.cosine_similarity(
        torch.log1p(mask * x).flatten(1), target_bin.flatten(1), dim=1
    )
    cct = float(similarity[2:].mean())
    loss, selected = guidance_loss(mask, x, target, cct=cct, bin_th=0.35)
    assert selected.tolist() == (similarity >= cct).tolist()
    assert selected[0] and not selected[1]
    per_item = nn.functional.binary_cross_entropy(mask, target_bin, reduction="none").mean(dim=(1, 2))
    assert torch.allclose(loss, (per_item * selected).sum() / 4)


def test_binarized_target_thresholds_relative_to_item_peak():
    target = torch.zeros(2, 2, 2)
    target[0, 0, 0] = torch.e - 1  # log1p = 1
    target[0, 1, 1] = 0.2
    target[1] = 5.0
    out = binarized_target(target, 0.35)
    assert out[0].tolist() == [[1.0, 0.0], [0.0, 0.0]]  # log1p(0.2) = 0.18 < 0.35
    assert out[1].eq(1).all()


def _tiny_brain(tmp_path, classifier_folder, domain="stft", variant="old"):
    torch.manual_seed(0)
    frontend = SpectralFrontEnd(16000, 256, 16, 16, 32)
    classifier = AudioClassifier(frontend, Cnn14(32, base_channels=4), nn.Linear(128, 4))
    load_pretrained(
        {"embedding_model": classifier.embedding_model, "classifier": classifier.head},
        str(classifier_folder / "save"), collect_in=str(tmp_path / "pretrained"), min_key="error",
    )
    decoder = build_decoder(classifier.embedding_model, frontend, domain, width=8, variant=variant)
    hparams = dict(
        classifier_model=classifier, domain=domain, l_in=4.0, l_out=0.2, l_s=0.4, l_tv=0.0,
        finetuning=False, n_listenable=0, listen_every=1, output_folder=str(tmp_path),
    )
    brain = LMACBrain(
        modules={"decoder": decoder}, opt_class=lambda p: torch.optim.Adam(p, lr=3e-3),
        hparams=hparams, run_opts={"device": "cpu"},
    )
    brain.on_fit_start()
    return brain


def _batch(wavs):
    ids = [f"item{i}" for i in range(len(wavs))]
    return sb.dataio.batch.PaddedBatch(
        [{"id": i, "sig": w} for i, w in zip(ids, wavs)]
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_loss_decreases_and_fid_in_rises_on_a_fixed_batch(tmp_path, tiny_classifier, variant):
    brain = _tiny_brain(tmp_path, tiny_classifier, variant=variant)
    batch = _batch(_test_clips(tiny_classifier))
    brain.on_stage_start(sb.Stage.VALID, epoch=1)
    first_loss = float(brain.evaluate_batch(batch, sb.Stage.VALID))
    first = brain.metrics.summarize()
    brain.on_stage_start(sb.Stage.TRAIN, epoch=1)
    for _ in range(30):
        brain.fit_batch(batch)
    brain.on_stage_start(sb.Stage.VALID, epoch=2)
    last_loss = float(brain.evaluate_batch(batch, sb.Stage.VALID))
    last = brain.metrics.summarize()
    assert last_loss < first_loss - 0.5
    assert last["FidIn"] > first["FidIn"]
    assert last["AD"] < first["AD"]
    # The classifier stayed frozen and in eval mode.
    classifier = brain.hparams.classifier_model
    assert not classifier.training
    assert not any(p.requires_grad for p in classifier.parameters())


def test_checkpoint_key_is_a_logged_validation_stat(tmp_path, tiny_classifier):
    brain = _tiny_brain(tmp_path, tiny_classifier)
    brain.on_stage_start(sb.Stage.VALID, epoch=1)
    loss = brain.evaluate_batch(_batch(_test_clips(tiny_classifier, 2)), sb.Stage.VALID)
    stats = {"loss": float(loss), **brain.metrics.summarize()}
    assert CHECKPOINT_KEY in stats
    assert {"AI", "AD", "AG", "FF", "FidIn", "MM"} <= set(stats)


@pytest.mark.parametrize("variant", ["old", "fullres_shallow"])
def test_mel_domain_variant_trains(tmp_path, tiny_classifier, variant):
    brain = _tiny_brain(tmp_path, tiny_classifier, domain="mel", variant=variant)
    batch = _batch(_test_clips(tiny_classifier, 4))
    brain.on_stage_start(sb.Stage.TRAIN, epoch=1)
    brain.fit_batch(batch)
    out = brain.interpret(batch.sig[0])
    assert out["mask"].shape == out["x"].shape == (4, out["x"].shape[1], 32)  # the mel grid


@pytest.mark.parametrize("variant", ["fullres", "fullres_shallow"])
def test_trained_full_resolution_decoder_loads_as_an_explainer(tmp_path, tiny_classifier, variant):
    brain = _tiny_brain(tmp_path, tiny_classifier, variant=variant)
    batch = _batch(_test_clips(tiny_classifier, 4))
    brain.on_stage_start(sb.Stage.TRAIN, epoch=1)
    brain.fit_batch(batch)
    decoder = brain.modules.decoder.eval()
    with torch.no_grad():
        expected = brain.interpret(batch.sig[0])["mask"]
    folder = tmp_path / "decoder_save"
    folder.mkdir()
    torch.save(decoder.state_dict(), folder / "decoder.ckpt")
    classifier = brain.hparams.classifier_model
    explainer = LMACExplainer(classifier, "stft", source=str(folder))  # variant read from the weights
    assert explainer.decoder.variant == variant
    mag, _ = classifier.frontend.magnitude_phase(batch.sig[0])
    mask = explainer(mag)
    assert mask.shape == mag.shape
    assert torch.allclose(mask, expected, atol=1e-6)
