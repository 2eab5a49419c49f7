"""Cascading model randomization (Adebayo et al., 2020; paper Sec. 3.4, Figs. 3-4 right).

The classifier's blocks are re-initialized from the top (the logits) down, one more at each
step: ``head``, then ``conv_block6``, ``conv_block5``, ... (:data:`CASCADE`). At each step the
interpretation of the randomized model is compared with that of the original model on the same
items by SSIM (:func:`ssim`, maps in ``[0, 1]``, ``data_range=1``) and by the Spearman rank
correlation of their bins (:func:`spearman`), as Adebayo et al. report both. An interpretation
that stays the same while the model it explains is destroyed is an edge detector, not an
explanation. SSIM alone cannot tell for sparse masks: with ``data_range`` 1, an all-but-empty mask
and a sparse one are "similar" wherever both are near zero (0.72 measured for such a pair); the
rank correlation compares the order of the bins, whatever their scale.

Every method of :mod:`lmac_brain.explainers` is rebuilt on the randomized classifier at each
step; for L-MAC the decoder stays as trained and reads the randomized classifier's hidden
representations.

Results go to ``randomization.csv`` (:data:`CSV_COLUMNS`, one row per ``(method,
n_randomized)``, mean and standard deviation over the items of the SSIM and of the Spearman
correlation); a rerun skips the rows already there.
"""

import copy
import logging
import time

import numpy as np
import torch
from skimage.metrics import structural_similarity
from torch import nn
from tqdm import tqdm

from lmac_brain.explainers import build_explainer
from lmac_brain.reporting.results_csv import append_csv_row, read_csv_rows

logger = logging.getLogger(__name__)

CASCADE = ("head", "conv_block6", "conv_block5", "conv_block4", "conv_block3", "conv_block2", "conv_block1")
"""The classifier's blocks from the logits down: the order in which they are randomized."""

CSV_COLUMNS = ("method", "n_randomized", "block", "n", "ssim_mean", "ssim_std", "spearman_mean",
               "spearman_std", "sec")
"""Header of ``randomization.csv``. ``block`` is the block randomized last at that step."""


# --------------------------------------------------------------------------------------------
# Re-initialization
# --------------------------------------------------------------------------------------------
def block_module(classifier, name):
    """The submodule of an ``AudioClassifier`` called ``name`` in :data:`CASCADE` terms.

    ``"head"`` is ``classifier.head``; any other name is looked up on
    ``classifier.embedding_model`` (e.g. ``"conv_block6"``, ``"norm0"``), then on the
    classifier itself (a dotted path such as ``"embedding_model.conv_block1.conv1"`` works).
    """
    if name == "head":
        return classifier.head
    for root in (getattr(classifier, "embedding_model", None), classifier):
        if root is None:
            continue
        try:
            return root.get_submodule(name)
        except AttributeError:
            continue
    raise ValueError(f"The classifier has no block {name!r} (blocks: {', '.join(CASCADE)})")


def reinitialize(module):
    """Re-draw every parameter and reset every running statistic of ``module``, in place.

    Each submodule's own ``reset_parameters`` is used (normalization layers go back to unit
    scale, zero shift and fresh running statistics), except that 2-D convolutions get the
    Xavier-uniform weights CNN14's constructor gives them. Draws from torch's global generator:
    seed it (or use :func:`randomized_copy`) for a reproducible result.

    Example
    -------
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> layer = nn.Linear(3, 2)
    >>> before = layer.weight.clone()
    >>> _ = reinitialize(layer)
    >>> bool((layer.weight != before).all())
    True
    """
    for sub in module.modules():
        if hasattr(sub, "reset_parameters"):
            sub.reset_parameters()
        elif hasattr(sub, "reset_running_stats"):
            sub.reset_running_stats()
        if isinstance(sub, nn.Conv2d):
            nn.init.xavier_uniform_(sub.weight)
    return module


def randomize_blocks(classifier, blocks, seed=0):
    """Re-initialize ``blocks`` (names, see :func:`block_module`) of ``classifier`` in place.

    Draws from a generator seeded by ``seed`` (torch's global state is left as it was).
    Returns the classifier.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in blocks:
            reinitialize(block_module(classifier, name))
    return classifier


def randomized_copy(classifier, blocks, seed=0):
    """A deep copy of ``classifier`` with ``blocks`` re-initialized; the original is untouched.

    Example
    -------
    >>> from lmac_brain.models.classifier import AudioClassifier
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> from lmac_brain.audio.spectral import SpectralFrontEnd
    >>> clf = AudioClassifier(SpectralFrontEnd(16000, 256, 16, 16, n_mels=32),
    ...                       Cnn14(32, base_channels=4), nn.Linear(128, 5))
    >>> rnd = randomized_copy(clf, ["head", "conv_block6"], seed=1)
    >>> torch.equal(rnd.head.weight, clf.head.weight)
    False
    >>> torch.equal(rnd.embedding_model.conv_block5.conv1.weight,
    ...             clf.embedding_model.conv_block5.conv1.weight)
    True
    """
    return randomize_blocks(copy.deepcopy(classifier), blocks, seed)


def cascade(classifier, blocks=CASCADE, seed=0):
    """Yield ``(n_randomized, block, model)`` for ``n_randomized = 0 .. len(blocks)``.

    Step 0 is a copy of the original model (``block`` is ``None``); step ``j`` has the first
    ``j`` of ``blocks`` re-initialized. The randomization is cumulative: the blocks drawn at
    earlier steps keep their random values. Every step re-initializes its block from a
    generator seeded by ``(seed, j)``, so a step's model does not depend on which steps ran
    before it in this process. The same model object is updated in place and yielded at
    every step; the original ``classifier`` is never modified.
    """
    model = copy.deepcopy(classifier)
    yield 0, None, model
    for j, name in enumerate(blocks, start=1):
        randomize_blocks(model, [name], seed=seed * 1000 + j)
        yield j, name, model


# --------------------------------------------------------------------------------------------
# Similarity
# --------------------------------------------------------------------------------------------
def ssim(a, b, data_range=1.0):
    """Structural similarity of two ``[time, freq]`` maps (skimage, ``data_range`` 1).

    Example
    -------
    >>> m = torch.rand(20, 30)
    >>> round(ssim(m, m), 6)
    1.0
    >>> ssim(m, torch.rand(20, 30)) < 0.5
    True
    """
    a = _numpy(a)
    b = _numpy(b)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim needs two 2-D maps of one shape, got {a.shape} and {b.shape}")
    win = min(7, *a.shape)
    win -= 1 - win % 2  # skimage needs an odd window no larger than the map
    return float(structural_similarity(a, b, data_range=data_range, win_size=win))


def ssim_per_item(masks_a, masks_b):
    """SSIM of each pair of ``[batch, time, freq]`` maps, as a list of floats."""
    return [ssim(a, b) for a, b in zip(masks_a, masks_b)]


def spearman(a, b):
    """Spearman rank correlation of the bins of two maps of one shape (ties: average ranks).

    ``NaN`` when either map is constant (its bins have no order).

    Example
    -------
    >>> m = torch.rand(20, 30)
    >>> round(spearman(m, m ** 3), 6), round(spearman(m, -m), 6)
    (1.0, -1.0)
    """
    a, b = _numpy(a).ravel(), _numpy(b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"spearman needs two maps of one shape, got {a.shape} and {b.shape}")
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else float("nan")


def _ranks(x):
    """Average ranks (ties share the mean of their positions)."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_x)) + 1]
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends - 1) / 2.0, ends - starts)
    return ranks


def spearman_per_item(masks_a, masks_b):
    """Spearman correlation of each pair of ``[batch, time, freq]`` maps, as a list of floats."""
    return [spearman(a, b) for a, b in zip(masks_a, masks_b)]


def _numpy(x):
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------
def explain_all(explainer, inputs, batch_size):
    """Masks of ``inputs`` (``[n, time, freq]`` domain inputs) in batches, on their device."""
    return torch.cat([explainer(chunk) for chunk in inputs.split(batch_size)])


def run_randomization(
    classifier,
    methods,
    inputs,
    csv_path,
    domain="stft",
    blocks=CASCADE,
    seed=0,
    batch_size=8,
    figure_items=0,
):
    """The cascading randomization test of every method; rows appended to ``csv_path``.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The trained classifier (never modified).
    methods : dict
        ``label -> (explainer name, options)`` (options as for ``build_explainer``).
    inputs : torch.Tensor
        ``[n_items, time, freq]`` domain inputs of the items (on the classifier's device).
    csv_path : str
        ``randomization.csv``; rows of ``(method, n_randomized)`` already there are skipped.
    domain : str
        ``"stft"`` or ``"mel"``.
    blocks : sequence of str
        The blocks, top first, randomized one more at each step.
    seed : int
        Seed of the re-initializations (same random model for every method).
    batch_size : int
        Items per explainer call.
    figure_items : int
        Keep the masks of the first ``figure_items`` items at every step (finished steps
        included) for the figure.

    Returns
    -------
    dict
        ``label -> [figure_items, n_steps + 1, time, freq]`` masks (CPU), step 0 = original.
    """
    done = {(r["method"], int(r["n_randomized"])) for r in read_csv_rows(csv_path, CSV_COLUMNS)}
    figure_inputs = inputs[:figure_items]
    figures = {label: [] for label in methods}
    originals = {}
    progress = tqdm(total=len(methods) * (len(blocks) + 1), desc="randomization", unit="step")
    for n_randomized, block, model in cascade(classifier, blocks, seed):
        for label, (name, options) in methods.items():
            key = (label, n_randomized)
            if key in done and not figure_items:
                progress.update()
                continue
            explainer = build_explainer(name, model, domain, **options)
            if figure_items:
                figures[label].append(explain_all(explainer, figure_inputs, batch_size).cpu())
            if key in done:
                progress.update()
                continue
            start = time.perf_counter()
            masks = explain_all(explainer, inputs, batch_size)
            if n_randomized == 0:
                originals[label] = masks
            elif label not in originals:
                # Resumed after step 0: the original interpretations are needed again.
                originals[label] = explain_all(
                    build_explainer(name, classifier, domain, **options), inputs, batch_size
                )
            values = ssim_per_item(originals[label], masks)
            # Constant maps have no rank order: left out of the mean (nan if all are).
            ranks = np.array(spearman_per_item(originals[label], masks))
            ranks = ranks[np.isfinite(ranks)]
            row = {
                "method": label,
                "n_randomized": n_randomized,
                "block": block or "",
                "n": len(values),
                "ssim_mean": float(np.mean(values)),
                "ssim_std": float(np.std(values)),
                "spearman_mean": float(np.mean(ranks)) if len(ranks) else float("nan"),
                "spearman_std": float(np.std(ranks)) if len(ranks) else float("nan"),
                "sec": time.perf_counter() - start,
            }
            append_csv_row(csv_path, CSV_COLUMNS, row)
            done.add(key)
            logger.info(
                "Randomization %s, %d block(s) randomized (%s): SSIM %.3f +- %.3f, Spearman %.3f",
                label, n_randomized, block or "none", row["ssim_mean"], row["ssim_std"], row["spearman_mean"],
            )
            progress.update()
    progress.close()
    return {label: torch.stack(m, dim=1) for label, m in figures.items() if m}
