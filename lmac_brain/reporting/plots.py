"""Matplotlib, headless, for every figure of the recipes; and the confusion matrix.

Spectrogram pictures are in :mod:`lmac_brain.reporting.mask_figure`, training curves in
:mod:`lmac_brain.reporting.training_curves`.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


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
