"""Figures written by the recipes (matplotlib, headless)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def save_confusion_matrix(matrix, class_names, path, accuracy=None):
    """Save a confusion matrix (rows: true class, columns: prediction) as a PNG."""
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * n, 1.0 + 0.45 * n))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=90, fontsize=7)
    ax.set_yticks(range(n), class_names, fontsize=7)
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if accuracy is not None:
        ax.set_title(f"accuracy {100 * accuracy:.1f}%")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_mask_figure(mag, mask, path, sample_rate, hop_length, title=""):
    """Input log-spectrogram, mask and masked spectrogram side by side (``[time, freq]`` inputs)."""
    mag = mag.detach().float().cpu()
    mask = mask.detach().float().cpu()
    log_in = torch_log_db(mag)
    log_masked = torch_log_db(mag * mask)
    duration = mag.shape[0] * hop_length / sample_rate
    extent = [0, duration, 0, sample_rate / 2000]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
    panels = (
        ("input |X| (dB)", log_in, "magma", None),
        ("mask M", mask, "viridis", (0, 1)),
        ("M * |X| (dB)", log_masked, "magma", (float(log_in.min()), float(log_in.max()))),
    )
    for ax, (name, image, cmap, limits) in zip(axes, panels):
        vmin, vmax = limits if limits else (None, None)
        im = ax.imshow(image.T.numpy(), origin="lower", aspect="auto", cmap=cmap, extent=extent, vmin=vmin, vmax=vmax)
        ax.set_title(name)
        ax.set_xlabel("time (s)")
        fig.colorbar(im, ax=ax, fraction=0.046)
    axes[0].set_ylabel("frequency (kHz)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def torch_log_db(mag, floor_db=-80.0):
    """``20 log10`` of a magnitude, floored ``floor_db`` below its maximum."""
    db = 20 * torch.log10(mag.clamp_min(1e-10))
    return db.clamp_min(float(db.max()) + floor_db)
