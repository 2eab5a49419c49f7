"""L-MAC objective, fine-tuning selection and learning on a fixed batch."""

import json

import pytest
import speechbrain as sb
import torch
import yaml
from conftest import SEED, assert_learned
from torch import nn

from lmac_brain.audio.reading import read_clip
from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.models.cnn14 import Cnn14
from lmac_brain.models.decoder import build_decoder
from lmac_brain.brains.interpreter_stats import CHECKPOINT_KEY
from lmac_brain.brains.lmac import LMACBrain, binarized_target, guidance_loss
from lmac_brain.experiments.pretrained import load_pretrained, resolve_checkpoint_dir
from lmac_brain.audio.spectral import SpectralFrontEnd


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


def _tiny_brain(tmp_path, classifier_folder, domain="stft"):
    torch.manual_seed(SEED)
    frontend = SpectralFrontEnd(16000, 256, 16, 16, 32)
    classifier = AudioClassifier(frontend, Cnn14(32, base_channels=4), nn.Linear(128, 4))
    load_pretrained(
        {"embedding_model": classifier.embedding_model, "classifier": classifier.head},
        str(classifier_folder / "save"), collect_in=str(tmp_path / "pretrained"), min_key="error",
    )
    decoder = build_decoder(classifier.embedding_model, frontend, domain, width=8)
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


def _fixed_batch_training(brain, batch, steps):
    """Stats, loss and masks on ``batch`` before and after ``steps`` training steps on it."""
    def look(epoch):
        brain.modules.eval()  # as SpeechBrain's own validation does
        brain.on_stage_start(sb.Stage.VALID, epoch=epoch)
        with torch.no_grad():
            loss = float(brain.evaluate_batch(batch, sb.Stage.VALID))
            mask = brain.interpret(batch.sig[0])["mask"]
        return loss, brain.metrics.summarize(), mask

    before = look(1)
    brain.modules.train()
    brain.on_stage_start(sb.Stage.TRAIN, epoch=1)
    for _ in range(steps):
        brain.fit_batch(batch)
    return before, look(2)


def _zeros_fid_in(brain, batch):
    """FidIn of the all-zeros mask: the share of items the classifier decides as it does silence."""
    with torch.no_grad():
        out = brain.interpret(batch.sig[0])
        silence = brain.classifier.logits_of_input(torch.zeros_like(out["x"]), brain.hparams.domain)
    return float((silence.argmax(-1) == out["logits_full"].argmax(-1)).float().mean())


@pytest.mark.learned
def test_training_on_a_fixed_batch_lowers_the_loss_and_beats_the_all_zeros_mask(tmp_path, tiny_classifier):
    brain = _tiny_brain(tmp_path, tiny_classifier)
    batch = _batch(_test_clips(tiny_classifier))
    (first_loss, first, _), (last_loss, last, _) = _fixed_batch_training(brain, batch, steps=30)
    assert_learned("L-MAC fixed batch: loss decrease over 30 steps", first_loss - last_loss, ">", 0.5)
    assert_learned("L-MAC fixed batch: AD decrease over 30 steps (points)", first["AD"] - last["AD"], ">", 1.0)
    # The masked-in input keeps the decision far more often than the all-zeros mask does.
    assert_learned("L-MAC fixed batch: FidIn after training - FidIn of all zeros",
                   last["FidIn"] - _zeros_fid_in(brain, batch), ">=", 0.25)
    # The classifier stayed frozen and in eval mode.
    classifier = brain.hparams.classifier_model
    assert not classifier.training
    assert not any(p.requires_grad for p in classifier.parameters())


def test_checkpoint_key_is_logged_by_a_real_recipe_run(tiny_lmac):
    """The key the best L-MAC checkpoint is selected by is in the CKPT.yaml the recipe wrote."""
    checkpoints = sorted((tiny_lmac / "save").glob("CKPT+*"))
    assert len(checkpoints) == 1
    meta = yaml.safe_load((checkpoints[0] / "CKPT.yaml").read_text())
    assert isinstance(meta[CHECKPOINT_KEY], float)
    assert meta["n"] == 24  # the whole valid fold (4 classes x 6 clips), each item once
    assert {"AI", "AD", "AG", "FF", "FidIn", "MM"} <= set(meta)
    assert resolve_checkpoint_dir(str(tiny_lmac / "save"), min_key=CHECKPOINT_KEY) == str(checkpoints[0])


@pytest.mark.learned
def test_mel_domain_variant_trains(tmp_path, tiny_classifier):
    brain = _tiny_brain(tmp_path, tiny_classifier, domain="mel")
    batch = _batch(_test_clips(tiny_classifier, 4))
    (first_loss, _, first_mask), (last_loss, _, last_mask) = _fixed_batch_training(brain, batch, steps=20)
    assert last_mask.shape == (4, last_mask.shape[1], 32)  # the mel grid
    assert_learned("L-MAC mel fixed batch: loss decrease over 20 steps", first_loss - last_loss, ">", 0.3)
    assert_learned("L-MAC mel fixed batch: mean |mask change| over 20 steps",
                   (last_mask - first_mask).abs().mean(), ">", 0.02)
