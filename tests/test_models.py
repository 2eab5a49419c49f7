"""Front-end, CNN14 and decoder: compatibility with SpeechBrain and exact shapes."""

import pytest
import torch
from speechbrain.lobes.models.Cnn14 import Cnn14 as SpeechBrainCnn14
from speechbrain.processing.features import STFT, Filterbank, spectral_magnitude

from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.models.cnn14 import Cnn14
from lmac_brain.models.decoder import MaskDecoder, build_decoder


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
    assert model.conv_block1.conv1.out_channels == 4


@pytest.mark.parametrize("seconds", [0.5, 1.03])
@pytest.mark.parametrize("base_channels", [4, 8])
@pytest.mark.parametrize("n_fft,n_mels", [(256, 32), (512, 64), (1024, 80)])
def test_decoder_mask_has_exact_input_shape(seconds, base_channels, n_fft, n_mels):
    fe = SpectralFrontEnd(16000, n_fft, 8.0, 16.0, n_mels)
    cnn = Cnn14(n_mels, base_channels=base_channels).eval()
    wav = torch.randn(2, int(16000 * seconds))
    mag, _ = fe.magnitude_phase(wav)
    with torch.no_grad():
        _, hidden = cnn(fe.features(mag), return_hidden=True)
        for domain, n_bins in (("stft", fe.n_freq), ("mel", n_mels)):
            mask = build_decoder(cnn, fe, domain, width=8)(hidden, mag.shape[1])
            assert mask.shape == (2, mag.shape[1], n_bins)
            assert mask.min() >= 0 and mask.max() <= 1


def test_decoder_is_small():
    cnn = Cnn14(80)
    decoder = build_decoder(cnn, SpectralFrontEnd(), "stft")
    n_params = sum(p.numel() for p in decoder.parameters())
    assert n_params < 1_000_000  # SpeechBrain's L-MAC decoder: 237 M


def test_stft_decoder_starts_as_mel_band_average():
    fe = SpectralFrontEnd(16000, 512, 16, 32, 40)
    decoder = MaskDecoder([8, 8, 8, 8], 40, mel_matrix=fe.mel_matrix)
    covered = fe.mel_matrix.sum(dim=1) > 0
    # Columns of the mel->linear map sum to one on every covered STFT bin.
    assert torch.allclose(decoder.to_linear.sum(dim=0)[covered], torch.ones(int(covered.sum())))
