"""Figures of the sanity checks (paper Figs. 3 and 4), from their CSV rows."""

from collections import defaultdict

import numpy as np

from lmac_brain.reporting.db_scale import DYNAMIC_RANGE_DB, input_db_scale, to_db
from lmac_brain.reporting.mask_figure import SILENT_LABEL
from lmac_brain.reporting.plots import plt


def _mean_std(rows, x_key, y_key, scale=1.0):
    """``{method: (xs, means, stds)}`` of ``y_key`` grouped by method and ``x_key``."""
    groups = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row[y_key] in ("", None):
            continue
        groups[row["method"]][float(row[x_key])].append(scale * float(row[y_key]))
    out = {}
    for method, by_x in groups.items():
        xs = sorted(by_x)
        out[method] = (
            np.array(xs),
            np.array([np.mean(by_x[x]) for x in xs]),
            np.array([np.std(by_x[x]) for x in xs]),
        )
    return out


def roar_summary(rows):
    """``{method: (k values, mean test accuracy, std over seeds)}`` of ``roar.csv`` rows (%)."""
    return _mean_std(rows, "k", "test_accuracy", scale=100.0)


def save_roar_figure(rows, path, random_label="Random", title="ROAR"):
    """Test accuracy (%) against the percentage of bins removed; the random baseline dashed.

    Mean over the seeds, with a band of one standard deviation (paper Fig. 4, left).
    """
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    for method, (xs, mean, std) in roar_summary(rows).items():
        style = "--" if method == random_label else "-"
        color = "0.3" if method == random_label else None
        line, = ax.plot(xs, mean, style, marker="o", ms=3, label=method, color=color)
        ax.fill_between(xs, mean - std, mean + std, alpha=0.15, color=line.get_color())
    ax.set_xlabel("bins removed (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_ssim_figure(rows, path, blocks, title="Cascading randomization"):
    """SSIM and Spearman rank correlation to the original interpretation against the number of
    randomized blocks, one panel each.

    Mean over the items with a band of one standard deviation (paper Fig. 4, right); the
    x ticks name the block randomized last.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    groups = defaultdict(list)
    for row in rows:
        groups[row["method"]].append(row)
    labels = ["none", *blocks]
    for ax, (column, name) in zip(axes, (("ssim", "SSIM"), ("spearman", "Spearman correlation"))):
        for method, method_rows in groups.items():
            method_rows = sorted(method_rows, key=lambda r: int(r["n_randomized"]))
            xs = np.array([int(r["n_randomized"]) for r in method_rows])
            mean = np.array([float(r[f"{column}_mean"] or "nan") for r in method_rows])
            std = np.array([float(r[f"{column}_std"] or "nan") for r in method_rows])
            line, = ax.plot(xs, mean, marker="o", ms=3, label=method)
            ax.fill_between(xs, mean - std, mean + std, alpha=0.15, color=line.get_color())
        ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right", fontsize=8)
        ax.set_xlabel("randomized down to")
        ax.set_ylabel(f"{name} to original")
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.05)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_cascade_figure(spectrogram, masks, blocks, path, title=""):
    """A row per method: input spectrogram (dB), original interpretation, randomized ones.

    The input is on its own dB scale (:mod:`lmac_brain.reporting.db_scale`), the masks on a
    fixed ``[0, 1]`` scale; each scale has a colour bar. A silent input is said to be silent.

    Arguments
    ---------
    spectrogram : torch.Tensor
        ``[time, freq]`` domain input of the item (shown in dB).
    masks : dict
        ``method -> [n_steps + 1, time, freq]`` masks; step 0 is the original model.
    blocks : sequence of str
        Block randomized last at steps ``1 ..``.
    path : str
        PNG to write.
    title : str
        Figure title (e.g. the item id).
    """
    methods = list(masks)
    n_cols = 1 + max(m.shape[0] for m in masks.values())
    fig, axes = plt.subplots(
        len(methods), n_cols, figsize=(1.6 * n_cols + 0.8, 1.5 * len(methods) + 0.9), squeeze=False,
        layout="constrained",
    )
    spectrogram = spectrogram.detach().float().cpu()
    scale = input_db_scale(spectrogram)
    spec = None if scale.silent else to_db(spectrogram, scale).T.numpy()
    shown = {}
    for r, method in enumerate(methods):
        panels = [("input (dB)", spec, "magma", scale.vmin, scale.vmax)]
        for j, mask in enumerate(masks[method]):
            name = "interpretation" if j == 0 else f"rand. {blocks[j - 1]}"
            panels.append((name, mask.detach().float().cpu().T.numpy(), "viridis", 0.0, 1.0))
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(panels):
                ax.axis("off")
                continue
            name, image, cmap, vmin, vmax = panels[c]
            if image is None:
                ax.text(0.5, 0.5, SILENT_LABEL, ha="center", va="center", fontsize=7, transform=ax.transAxes)
            else:
                shown[c == 0] = ax.imshow(image, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
            if r == 0:
                ax.set_title(name, fontsize=7)
        axes[r][0].set_ylabel(method, fontsize=8)
    if shown.get(True) is not None:
        bar = fig.colorbar(shown[True], ax=axes[:, 0], location="bottom", aspect=10)
        bar.set_label(f"dB, input's scale ({DYNAMIC_RANGE_DB:g} dB range)", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    if shown.get(False) is not None:
        bar = fig.colorbar(shown[False], ax=axes[:, 1:], aspect=30)
        bar.set_label("mask [0, 1]", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    if scale.silent:
        title = f"{title} — {SILENT_LABEL}" if title else SILENT_LABEL
    if title:
        fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=100)
    plt.close(fig)
