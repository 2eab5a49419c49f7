"""Spectrogram pictures: one dB scale from the input, the mask on [0, 1], silent inputs flagged."""

import warnings

import matplotlib.image
import numpy as np
import pytest
import torch

from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.reporting.db_scale import DYNAMIC_RANGE_DB, SILENT_PEAK, input_db_scale, to_db
from lmac_brain.reporting.mask_figure import SILENT_LABEL, draw_mask_figure, save_interpretation, save_mask_figure
from lmac_brain.reporting.plots import plt
from lmac_brain.sanity.plots import save_cascade_figure


def _images(fig):
    """``{panel title: AxesImage}`` of the panels that drew an image."""
    return {ax.get_title(): ax.images[0] for ax in fig.axes if ax.images}


def _tiny_input(seed=0):
    gen = torch.Generator().manual_seed(seed)
    mag = torch.rand(12, 7, generator=gen) * 3.0
    mag[0, 0] = 0.0  # a zero bin: drawn at the floor, never log(0)
    mask = torch.rand(12, 7, generator=gen)
    return mag, mask


def test_scale_spans_the_input_dynamic_range_below_its_peak():
    mag = torch.tensor([[100.0, 0.0], [1e-9, 3.0]])
    scale = input_db_scale(mag)
    assert scale.vmax == pytest.approx(40.0) and scale.vmin == pytest.approx(40.0 - DYNAMIC_RANGE_DB)
    assert not scale.silent
    db = to_db(mag, scale)
    assert torch.isfinite(db).all()
    assert db.min().item() == pytest.approx(scale.vmin, abs=1e-4)  # zeros sit at the floor
    assert db.max().item() == pytest.approx(scale.vmax, abs=1e-4)


def test_masked_and_residual_share_the_input_colour_limits_and_are_darker():
    mag, mask = _tiny_input()
    fig = draw_mask_figure(mag, mask, sample_rate=16000, hop_length=160, title="item")
    try:
        images = _images(fig)
        scale = input_db_scale(mag)
        drawn_in, masked, residual = (images[t] for t in ("input |X|", "masked in M·|X|", "masked out (1−M)·|X|"))
        assert drawn_in.get_clim() == pytest.approx((scale.vmin, scale.vmax))
        assert masked.get_clim() == drawn_in.get_clim() == residual.get_clim()
        assert images["mask M"].get_clim() == (0.0, 1.0)
        # A mask colour bar and one shared dB colour bar.
        assert sum(1 for ax in fig.axes if ax.get_label() == "<colorbar>") == 2
        full = np.asarray(drawn_in.get_array())
        for part in (masked, residual):
            values = np.asarray(part.get_array())
            assert (values <= full + 1e-5).all()
            assert (values < full - 1e-3).any()
        # Where the mask halves the magnitude, the masked picture is 6 dB darker.
        half = draw_mask_figure(mag, torch.full_like(mag, 0.5), 16000, 160)
        above = full > scale.vmin + 10
        lowered = np.asarray(_images(half)["masked in M·|X|"].get_array())
        assert np.allclose(full[above] - lowered[above], 20 * np.log10(2), atol=1e-3)
        plt.close(half)
        assert SILENT_LABEL not in fig.get_suptitle()
    finally:
        plt.close(fig)


@pytest.mark.parametrize("peak", [0.0, SILENT_PEAK / 10])
def test_silent_input_is_flagged_without_warnings(peak, tmp_path):
    mag = torch.full((12, 7), peak)
    mask = torch.rand(12, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert input_db_scale(mag).silent
        fig = draw_mask_figure(mag, mask, 16000, 160, title="item 3")
        assert fig.get_suptitle() == f"item 3 — {SILENT_LABEL}"
        images = _images(fig)
        assert list(images) == ["mask M"]  # no flat dB field drawn, the mask still is
        assert any(t.get_text() == SILENT_LABEL for t in fig.axes[0].texts)
        plt.close(fig)
        save_mask_figure(mag, mask, tmp_path / "silent.png", 16000, 160)
        save_cascade_figure(mag, {"L-MAC": mask.unsqueeze(0).repeat(2, 1, 1)}, ["conv6"],
                            tmp_path / "cascade.png", title="item 3")
    assert matplotlib.image.imread(tmp_path / "silent.png").shape[0] > 100
    assert (tmp_path / "cascade.png").stat().st_size > 0


def test_listenable_item_of_an_all_zeros_input_is_flagged(tmp_path):
    frontend = SpectralFrontEnd(16000, n_fft=256, hop_length_ms=16.0, win_length_ms=16.0, n_mels=32)
    wav = torch.zeros(16 * 256)  # whole hops: the ISTFT needs no padding (and says nothing)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mag, phase = frontend.magnitude_phase(wav.unsqueeze(0))
        paths = save_interpretation(tmp_path, "zeros", wav, mag[0], phase[0], torch.rand_like(mag[0]), frontend,
                                    title="zeros: predicted dog (0.30)")
    assert matplotlib.image.imread(paths["figure"]).shape[1] > 300


def test_cascade_figure_draws_the_input_on_its_scale_and_masks_on_unit_scale(tmp_path, monkeypatch):
    mag, mask = _tiny_input()
    captured, real_close = {}, plt.close
    monkeypatch.setattr(plt, "close", lambda fig: captured.setdefault("fig", fig))
    save_cascade_figure(mag, {"A": torch.stack([mask, 1 - mask])}, ["conv6"], tmp_path / "c.png")
    fig = captured["fig"]
    images = [ax.images[0] for ax in fig.axes if ax.images]
    scale = input_db_scale(mag)
    assert images[0].get_clim() == pytest.approx((scale.vmin, scale.vmax))
    assert all(im.get_clim() == (0.0, 1.0) for im in images[1:])
    real_close(fig)
