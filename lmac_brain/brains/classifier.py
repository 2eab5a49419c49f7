"""What the classifier recipe (``recipes/ESC50/train_classifier.py``) writes at test time."""

import logging
import os

import numpy as np

from lmac_brain.reporting.plots import save_confusion_matrix

logger = logging.getLogger(__name__)


def confusion_matrix(stats, class_names):
    """``[K, K]`` counts of a summarized ``ClassificationStats``, rows = true class, columns = prediction.

    Example
    -------
    >>> from speechbrain.utils.metric_stats import ClassificationStats
    >>> stats = ClassificationStats()
    >>> stats.append(["a", "b", "c"], predictions=["dog", "dog", "rain"], targets=["dog", "rain", "rain"])
    >>> confusion_matrix(stats, ["dog", "rain"]).tolist()
    [[1, 0], [1, 1]]
    """
    summary = stats.summarize()
    index = {name: i for i, name in enumerate(class_names)}
    rows = [index[key] for key in summary["keys"]]  # only the classes seen, in their order
    columns = [index[prediction] for prediction in summary["predictions"]]
    matrix = np.zeros((len(class_names), len(class_names)), dtype=int)
    matrix[np.ix_(rows, columns)] = summary["confusion_matrix"].round().int().numpy()
    return matrix


def write_test_results(stats, class_names, folder):
    """Write ``test_accuracy.txt``, ``classification_stats.txt`` (SpeechBrain's class-wise
    report), ``confusion_matrix.csv`` and ``confusion_matrix.png`` into ``folder``."""
    accuracy = stats.summarize("accuracy")
    matrix = confusion_matrix(stats, class_names)
    with open(os.path.join(folder, "test_accuracy.txt"), "w") as f:
        f.write(f"{accuracy:.4f}\n")
    with open(os.path.join(folder, "classification_stats.txt"), "w") as f:
        stats.write_stats(f)
    header = "true\\pred," + ",".join(class_names)
    rows = [f"{name}," + ",".join(map(str, row)) for name, row in zip(class_names, matrix)]
    with open(os.path.join(folder, "confusion_matrix.csv"), "w") as f:
        f.write("\n".join([header, *rows]) + "\n")
    save_confusion_matrix(matrix, class_names, os.path.join(folder, "confusion_matrix.png"), accuracy)
    logger.info("Test accuracy %.2f%% (confusion matrix in %s)", 100 * accuracy, folder)
