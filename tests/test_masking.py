"""The mask space (linear | log1p) is one setting shared by training, explainers, metrics and outputs."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmac_brain.audio.listenable import listenable_pair
from lmac_brain.audio.masking import apply_mask, check_mask_space, from_space, masked_in_out, to_space
from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.brains.lmac import LMACBase, binarized_target, guidance_loss
from lmac_brain.errors import ConfigurationError
from lmac_brain.explainers import build_explainer
from lmac_brain.explainers.lmac import LMACExplainer
from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.models.cnn14 import Cnn14
from lmac_brain.models.decoder import VARIANTS, build_decoder, decoder_settings


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    frontend = SpectralFrontEnd(16000, 256, 16, 16, n_mels=32)
    return AudioClassifier(frontend, Cnn14(32, base_channels=4), nn.Linear(128, 5)).eval()


@pytest.fixture(scope="module")
def mag(classifier):
    torch.manual_seed(1)
    return classifier.frontend.magnitude_phase(torch.randn(2, 8000))[0]


def test_spaces_round_trip_and_agree_at_the_ends():
    x = torch.rand(3, 4, 5) * 50
    for space in ("linear", "log1p"):
        torch.testing.assert_close(from_space(to_space(x, space), space), x)
        assert torch.equal(apply_mask(x, torch.ones_like(x), space), x)
        assert torch.equal(apply_mask(x, torch.zeros_like(x), space), torch.zeros_like(x))
    # A small mask value: a scaled copy in linear space, close to silence in log1p space.
    small = torch.full_like(x, 0.05)
    assert apply_mask(x, small, "log1p").max() < 0.3 < apply_mask(x, small, "linear").max()
    with pytest.raises(ConfigurationError, match="mask_space 'log'"):
        check_mask_space("log")


def test_saliency_is_taken_with_respect_to_the_masked_representation(classifier, mag):
    """d f / d log1p(x) = d f / d x * (1 + x): the log1p-space saliency is the chain rule applied
    to the linear-space gradient (before normalisation, so compare the raw attributions)."""
    linear = build_explainer("saliency", classifier, "stft")
    spaced = build_explainer("saliency", classifier, "stft").use_mask_space("log1p")
    target = torch.tensor([1, 3])
    grad_x = linear.attribute(mag, target)
    grad_z = spaced.attribute(to_space(mag, "log1p"), target)
    torch.testing.assert_close(grad_z, grad_x * (1 + mag), rtol=1e-4, atol=1e-6)
    assert spaced.mask_space == "log1p" and linear.mask_space == "linear"


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_decoder_saves_its_mask_space_and_the_explainer_reads_it(tmp_path, classifier, variant):
    decoder = build_decoder(classifier.embedding_model, classifier.frontend, "stft", width=8,
                            variant=variant, mask_space="log1p")
    assert decoder.mask_space == "log1p"
    torch.save(decoder.state_dict(), tmp_path / "decoder.ckpt")
    assert decoder_settings(decoder.state_dict())["mask_space"] == "log1p"
    explainer = LMACExplainer(classifier, "stft", source=str(tmp_path))
    assert explainer.mask_space == explainer.decoder.mask_space == "log1p"
    # A decoder saved before the space was recorded is a linear one.
    old = {k: v for k, v in decoder.state_dict().items() if k != "log1p_space"}
    torch.save(old, tmp_path / "decoder.ckpt")
    assert LMACExplainer(classifier, "stft", source=str(tmp_path)).mask_space == "linear"


def test_lmac_training_masks_in_the_decoders_space(tmp_path, classifier):
    decoder = build_decoder(classifier.embedding_model, classifier.frontend, "stft", width=8, mask_space="log1p")
    hparams = dict(classifier_model=classifier, domain="stft", output_folder=str(tmp_path))
    brain = LMACBase(modules={"decoder": decoder}, hparams=hparams, run_opts={"device": "cpu"})
    wavs = torch.randn(2, 8000)
    out = brain.interpret(wavs)
    masked_in, masked_out = masked_in_out(out["x"], out["mask"], "log1p")
    with torch.no_grad():
        torch.testing.assert_close(out["logits_in"], classifier.logits_of_input(masked_in, "stft"))
        torch.testing.assert_close(out["logits_out"], classifier.logits_of_input(masked_out, "stft"))
    assert out["mask_space"] == "log1p"


def test_guidance_compares_the_mask_applied_in_its_space():
    torch.manual_seed(0)
    x = torch.rand(1, 6, 4) * 20
    mask = torch.rand(1, 6, 4)
    target = binarized_target(x, 0.35).flatten(1)
    sim_linear = float(F.cosine_similarity(torch.log1p(mask * x).flatten(1), target))
    sim_log1p = float(F.cosine_similarity((mask * torch.log1p(x)).flatten(1), target))  # log1p(expm1(.))
    assert abs(sim_linear - sim_log1p) > 0.01
    cct = (sim_linear + sim_log1p) / 2  # one space's similarity passes it, the other's does not
    _, linear = guidance_loss(mask, x, x, crosscor_th=cct, bin_th=0.35, mask_space="linear")
    _, log1p = guidance_loss(mask, x, x, crosscor_th=cct, bin_th=0.35, mask_space="log1p")
    assert bool(linear) == (sim_linear >= cct) and bool(log1p) == (sim_log1p >= cct) and bool(linear) != bool(log1p)


def test_listenable_outputs_use_the_space(classifier):
    frontend = classifier.frontend
    wav = torch.randn(1, 8000)
    mag, phase = frontend.magnitude_phase(wav)
    mask = torch.full_like(mag, 0.5)
    lin, _ = listenable_pair(frontend, mag[0], phase[0], mask[0], 8000, "linear")
    log, _ = listenable_pair(frontend, mag[0], phase[0], mask[0], 8000, "log1p")
    torch.testing.assert_close(lin, frontend.invert(0.5 * mag[0], phase[0], 8000))
    torch.testing.assert_close(log, frontend.invert(torch.expm1(0.5 * torch.log1p(mag[0])), phase[0], 8000))
