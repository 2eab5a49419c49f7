"""Front-end, CNN14 and decoder: compatibility with SpeechBrain and exact shapes."""

import os
import re

import pytest
import torch
from speechbrain.lobes.models.Cnn14 import Cnn14 as SpeechBrainCnn14
from speechbrain.processing.features import STFT, Filterbank, spectral_magnitude

from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.models.cnn14 import Cnn14
from lmac_brain.models.decoder import (
    VARIANTS,
    FullResMaskDecoder,
    MaskDecoder,
    TransposedStackMaskDecoder,
    build_decoder,
    decoder_domain,
    decoder_settings,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_features_match_speechbrain_pipeline():
    torch.manual_seed(0)
    wav = torch.randn(2, 8000)
    fe = SpectralFrontEnd(16000, 1024, 11.6099, 23.2199, 80)
    sb_stft = STFT(sample_rate=16000, n_fft=1024, hop_length=11.6099, win_length=23.2199)
    sb_fbank = Filterbank(n_mels=80, n_fft=1024, sample_rate=16000, log_mel=False)
    expected = torch.log1p(sb_fbank(spectral_magnitude(sb_stft(wav), power=0.5)))
    mag, _ = fe.magnitude_phase(wav)
    assert torch.allclose(fe.features(mag), expected, atol=1e-5)


@pytest.mark.parametrize("n_fft,hop,win", [(1024, 11.6099, 23.2199), (512, 16, 32), (256, 8, 16)])
def test_all_ones_mask_inverts_to_input(n_fft, hop, win):
    torch.manual_seed(0)
    wav = torch.randn(3, 12345)
    fe = SpectralFrontEnd(16000, n_fft, hop, win, 40)
    mag, phase = fe.magnitude_phase(wav)
    out = fe.invert(torch.ones_like(mag) * mag, phase, wav.shape[-1])
    assert out.shape == wav.shape
    assert torch.allclose(out, wav, atol=1e-4)


@pytest.mark.slow  # builds the paper-size Cnn14 twice
def test_cnn14_loads_speechbrain_state_dict_and_matches_outputs():
    torch.manual_seed(0)
    reference = SpeechBrainCnn14(mel_bins=80, emb_dim=2048, return_reps=True).eval()
    ours = Cnn14(mel_bins=80).eval()
    ours.load_state_dict(reference.state_dict())  # strict: same names, same shapes
    x = torch.randn(2, 101, 80)
    with torch.no_grad():
        ref_emb, ref_hidden = reference(x)
        emb, hidden = ours(x, return_hidden=True)
    assert torch.allclose(emb, ref_emb, atol=1e-5)
    for h, ref in zip(hidden, ref_hidden):
        assert torch.allclose(h, ref, atol=1e-5)


def test_cnn14_uses_relu_modules_and_width():
    model = Cnn14(mel_bins=32, base_channels=4)
    relus = [m for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == 12  # two per conv block: what Captum's guided methods hook
    assert model.hidden_channels == [128, 64, 32, 16]
    assert model.shallow_channels == [8, 4]
    assert model.conv_block1.conv1.out_channels == 4


def test_cnn14_shallow_blocks_are_opt_in():
    torch.manual_seed(0)
    model = Cnn14(mel_bins=32, base_channels=4).eval()
    x = torch.randn(2, 67, 32)
    with torch.no_grad():
        emb, hidden = model(x, return_hidden=True)
        emb_all, hidden_all = model(x, return_hidden=True, shallow=True)
        assert torch.equal(model(x, shallow=True), emb)  # without return_hidden: the embedding only
    assert torch.equal(emb, emb_all)
    assert len(hidden) == 4 and len(hidden_all) == 6
    for h, h_all in zip(hidden, hidden_all):
        assert torch.equal(h, h_all)  # what L2I, GradCAM and the old decoder read is unchanged
    # Blocks 2 and 1, at 1/4 and 1/2 of the (floored) input grid.
    assert [tuple(h.shape[1:]) for h in hidden_all[4:]] == [(8, 16, 8), (4, 33, 16)]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("seconds", [0.5, 1.03])
@pytest.mark.parametrize("base_channels,width", [(4, 8), (8, 16)])
@pytest.mark.parametrize("n_fft,n_mels", [(256, 32), (512, 64), (1024, 80), (400, 45)])
def test_decoder_mask_has_exact_input_shape(seconds, base_channels, width, n_fft, n_mels, variant):
    fe = SpectralFrontEnd(16000, n_fft, 8.0, 16.0, n_mels)
    cnn = Cnn14(n_mels, base_channels=base_channels).eval()
    wav = torch.randn(2, int(16000 * seconds))
    mag, _ = fe.magnitude_phase(wav)
    assert mag.shape[1] % 2 == 1  # 0.5 s and 1.03 s both give odd frame counts (63, 129)
    with torch.no_grad():
        _, hidden = cnn(fe.features(mag), return_hidden=True, shallow=variant == "fullres_shallow")
        for domain, n_bins in (("stft", fe.n_freq), ("mel", n_mels)):
            decoder = build_decoder(cnn, fe, domain, width=width, variant=variant).eval()
            assert decoder.variant == variant
            mask = decoder(hidden, mag.shape[1])
            assert mask.shape == (2, mag.shape[1], n_bins)
            assert mask.min() >= 0 and mask.max() <= 1


def test_shallow_decoder_asks_for_the_shallow_blocks():
    fe = SpectralFrontEnd(16000, 256, 8.0, 16.0, 32)
    cnn = Cnn14(32, base_channels=4).eval()
    decoder = build_decoder(cnn, fe, "stft", width=8, variant="fullres_shallow")
    mag, _ = fe.magnitude_phase(torch.randn(1, 8000))
    with torch.no_grad():
        _, hidden = cnn(fe.features(mag), return_hidden=True)
        with pytest.raises(ValueError, match="shallow=decoder.uses_shallow"):
            decoder(hidden, mag.shape[1])
    with pytest.raises(ValueError, match="Unknown decoder variant"):
        build_decoder(cnn, fe, "stft", variant="bilinear")


def test_default_decoder_is_the_yaml_default():
    # One default: a decoder built without a variant is the one the L-MAC recipes train.
    with open(os.path.join(ROOT, "hparams", "lmac_cnn14.yaml"), encoding="utf-8") as f:
        yaml_default = re.search(r"^decoder_variant: (\w+)", f.read(), re.M).group(1)
    cnn = Cnn14(32, base_channels=4)
    decoder = build_decoder(cnn, SpectralFrontEnd(16000, 256, 8.0, 16.0, 32), "stft", width=8)
    assert decoder.variant == yaml_default


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_decoder_has_a_per_bin_parameter(variant):
    # A parameter indexed by frequency bin (a learned mel->linear map, a per-bin bias) adds the
    # same pattern to every clip's mask: the horizontal stripes of the first decoder.
    fe = SpectralFrontEnd(16000, 256, 8.0, 16.0, 40)  # 129 bins, 40 bands: no channel count
    decoder = build_decoder(Cnn14(40, base_channels=4), fe, "stft", width=16, variant=variant)
    per_bin = [name for name, p in decoder.named_parameters() if {129, 40} & set(p.shape)]
    assert not per_bin


@pytest.mark.parametrize("space", ["linear", "log1p"])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("domain", ["stft", "mel"])
def test_decoder_settings_round_trip(variant, domain, space):
    fe = SpectralFrontEnd(16000, 256, 8.0, 16.0, 32)
    cnn = Cnn14(32, base_channels=4)
    decoder = build_decoder(cnn, fe, domain, width=16, out_width=4, variant=variant, mask_space=space)
    settings = decoder_settings(decoder.state_dict())
    assert settings == {"width": 16, "out_width": 4, "variant": variant, "mask_space": space}
    assert decoder_domain(decoder.state_dict()) == domain
    build_decoder(cnn, fe, domain, **settings).load_state_dict(decoder.state_dict())  # strict


def _logits_rank(variant, n_fft=512, n_mels=64):
    torch.manual_seed(0)
    fe = SpectralFrontEnd(16000, n_fft, 16.0, 32.0, n_mels)
    cnn = Cnn14(n_mels, base_channels=8).eval()
    decoder = build_decoder(cnn, fe, "stft", width=16, variant=variant).eval()
    mag, _ = fe.magnitude_phase(torch.randn(1, 32000) * 0.1)
    with torch.no_grad():
        _, hidden = cnn(fe.features(mag), return_hidden=True, shallow=decoder.uses_shallow)
        logits = decoder.logits(hidden, mag.shape[1])[0]
    assert torch.equal(torch.sigmoid(logits), decoder(hidden, mag.shape[1])[0])
    return int(torch.linalg.matrix_rank(logits)), logits.shape


def test_full_resolution_logits_are_not_capped_by_the_coarse_grid():
    # The coarse decoder upsamples one logit map from the 1/8 grid (8 mel cells here): its rank
    # is at most 8. The others decode every frame and bin.
    rank_coarse, shape = _logits_rank("coarse")
    assert min(shape) > 64
    assert rank_coarse <= 64 // 8
    for variant in ("fullres", "fullres_shallow", "transposed_stack"):
        rank, _ = _logits_rank(variant)
        # Above n_mels too: no per-frame product through the mel bands.
        assert rank > 64, (variant, rank, shape)


@pytest.mark.parametrize("variant", VARIANTS)
def test_decoder_is_small(variant):
    cnn = Cnn14(80)
    decoder = build_decoder(cnn, SpectralFrontEnd(), "stft", variant=variant)
    n_params = sum(p.numel() for p in decoder.parameters())
    assert n_params < 5_000_000  # SpeechBrain's L-MAC decoder: 237 M


@pytest.mark.parametrize("decoder_class", [MaskDecoder, FullResMaskDecoder, TransposedStackMaskDecoder])
def test_stft_decoder_starts_as_mel_band_average(decoder_class):
    fe = SpectralFrontEnd(16000, 512, 16, 32, 40)
    decoder = decoder_class([8, 8, 8, 8], 40, mel_matrix=fe.mel_matrix)
    covered = fe.mel_matrix.sum(dim=1) > 0
    # Columns of the mel->linear map sum to one on every covered STFT bin.
    assert torch.allclose(decoder.to_linear.sum(dim=0)[covered], torch.ones(int(covered.sum())))
    # Fixed: learned per-bin weights drift into clip-independent stripes (see the classes).
    assert "to_linear" not in dict(decoder.named_parameters())
    assert "to_linear" not in decoder.state_dict()
