"""The picture of one interpretation: input, masked-in and masked-out spectrograms, and the mask;
:func:`save_interpretation` writes it with the interpretation's wavs.

The three spectrograms share the input's dB scale (:mod:`lmac_brain.reporting.db_scale`) and
one colour bar; the mask is drawn on a fixed ``[0, 1]`` scale with its own. A silent input is
said to be silent (figure title and panels) rather than drawn as a flat field.

Example
-------
>>> mag = torch.rand(20, 9) + 0.1
>>> fig = draw_mask_figure(mag, torch.full((20, 9), 0.5), sample_rate=16000, hop_length=160)
>>> [ax.get_title() for ax in fig.axes[:4]]
['input |X|', 'masked in M·|X|', 'masked out (1−M)·|X|', 'mask M']
>>> fig.axes[0].images[0].get_clim() == fig.axes[1].images[0].get_clim()
True
>>> fig.axes[3].images[0].get_clim()
(0.0, 1.0)
>>> plt.close(fig)
"""

import os

import soundfile as sf
import torch

from lmac_brain.audio.listenable import listenable_pair
from lmac_brain.audio.masking import masked_in_out
from lmac_brain.reporting.db_scale import DYNAMIC_RANGE_DB, input_db_scale, to_db
from lmac_brain.reporting.plots import plt

SILENT_LABEL = "silent input"
"""Said in the title (and the spectrogram panels) of the picture of a silent input."""

DB_PANELS = ("input |X|", "masked in M·|X|", "masked out (1−M)·|X|")


def draw_mask_figure(mag, mask, sample_rate, hop_length, title="", mask_space="linear"):
    """The figure of ``[time, freq]`` magnitude ``mag`` and mask ``mask`` (not saved, not closed);
    the masked spectrograms are the mask applied in ``mask_space`` (``lmac_brain.audio.masking``)."""
    mag = mag.detach().float().cpu()
    mask = mask.detach().float().cpu()
    masked_in, masked_out = masked_in_out(mag, mask, mask_space)
    scale = input_db_scale(mag)
    duration = mag.shape[0] * hop_length / sample_rate
    extent = [0, duration, 0, sample_rate / 2000]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4), sharey=True, layout="constrained")
    drawn = None
    for ax, name, spectrum in zip(axes, DB_PANELS, (mag, masked_in, masked_out)):
        ax.set_title(name)
        if scale.silent:
            ax.text(0.5, 0.5, SILENT_LABEL, ha="center", va="center", transform=ax.transAxes)
        else:
            drawn = ax.imshow(to_db(spectrum, scale).T.numpy(), origin="lower", aspect="auto",
                              cmap="magma", extent=extent, vmin=scale.vmin, vmax=scale.vmax)
    if drawn is not None:
        bar = fig.colorbar(drawn, ax=list(axes[:3]), fraction=0.03, pad=0.01)
        bar.set_label(f"dB, input's scale ({DYNAMIC_RANGE_DB:g} dB range)")
    axes[3].set_title("mask M")
    shown = axes[3].imshow(mask.T.numpy(), origin="lower", aspect="auto", cmap="viridis",
                           extent=extent, vmin=0.0, vmax=1.0)
    fig.colorbar(shown, ax=axes[3], fraction=0.08, pad=0.02).set_label("mask [0, 1]")
    for ax in axes:
        ax.set_xlabel("time (s)")
        ax.set_xlim(0, duration)
    axes[0].set_ylabel("frequency (kHz)")
    if scale.silent:
        title = f"{title} — {SILENT_LABEL}" if title else SILENT_LABEL
    if title:
        fig.suptitle(title)
    return fig


def save_mask_figure(mag, mask, path, sample_rate, hop_length, title="", mask_space="linear"):
    """Write :func:`draw_mask_figure` of ``mag`` and ``mask`` (``[time, freq]``) to ``path`` (PNG)."""
    fig = draw_mask_figure(mag, mask, sample_rate, hop_length, title=title, mask_space=mask_space)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_interpretation(folder, item_id, wav, mag, phase, mask, frontend, title="", mask_space="linear"):
    """Write ``<id>_original.wav``, ``<id>_interpretation.wav``, ``<id>_residual.wav``, ``<id>.png``.

    ``wav`` is ``[samples]``, ``mag``/``phase``/``mask`` are ``[time, freq]`` on the STFT grid.
    The PNG draws the input, masked-in and masked-out spectrograms on the input's dB scale and
    the mask on ``[0, 1]`` (:func:`draw_mask_figure`).
    Returns the paths written, by kind.
    """
    os.makedirs(folder, exist_ok=True)
    with torch.no_grad():
        interpretation, residual = listenable_pair(frontend, mag, phase, mask, wav.shape[-1], mask_space)
    paths = {}
    rate = frontend.sample_rate
    for kind, signal in (("original", wav), ("interpretation", interpretation), ("residual", residual)):
        paths[kind] = os.path.join(folder, f"{item_id}_{kind}.wav")
        sf.write(paths[kind], signal.detach().cpu().numpy(), rate)
    paths["figure"] = os.path.join(folder, f"{item_id}.png")
    save_mask_figure(mag, mask, paths["figure"], rate, frontend.hop_length, title=title, mask_space=mask_space)
    return paths
