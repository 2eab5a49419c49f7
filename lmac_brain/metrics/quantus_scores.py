"""Quantus Sparseness (SPS) and Complexity (COMP) of maps, skipping the maps Quantus refuses.

The two scores are Quantus 0.6's arithmetic (Chalasani et al. 2020; Bhatt et al. 2020) on
``|map| / max|map|``; ``tests/test_metrics.py`` holds them equal to Quantus' own public call.
"""

import numpy as np
import torch

from lmac_brain.metrics.names import QUANTUS_NAMES
from lmac_brain.metrics.shapes import as_maps

def degenerate_maps(maps):
    """Per-item flag of the maps Quantus cannot score: all-zero, constant or non-finite.

    Quantus scores ``|map|``, so a map is constant when ``|map|`` is (e.g. all-ones masks, the
    all-ones reference row). Quantus asserts on such batches; on a single such item inside a
    larger batch it would silently return 0 (Sparseness) or NaN (Complexity) instead.

    Arguments
    ---------
    maps : torch.Tensor
        ``[batch, time, freq]`` or ``[batch, 1, time, freq]``.

    Returns
    -------
    torch.BoolTensor
        ``[batch]``, True where the item must be skipped.

    Example
    -------
    >>> maps = torch.stack([torch.zeros(2, 3), torch.full((2, 3), 0.7), torch.rand(2, 3) + 0.1])
    >>> maps[2, 0, 0] = 0.0
    >>> degenerate_maps(maps)
    tensor([ True,  True, False])
    """
    flat = as_maps(maps, "maps").detach().flatten(1).abs()
    finite = torch.isfinite(flat).all(-1)
    flat = torch.where(torch.isfinite(flat), flat, torch.zeros_like(flat))
    constant = flat.amax(-1) == flat.amin(-1)  # all-zero maps are constant too
    return ~finite | constant


def _quantus_scores(name, maps, inputs):
    maps = as_maps(maps, "maps")
    inputs = maps if inputs is None else as_maps(inputs, "inputs")
    if inputs.shape != maps.shape:
        raise ValueError(
            f"maps {tuple(maps.shape)} and inputs {tuple(inputs.shape)} must have the same shape: "
            "score a map against the input of its own domain"
        )
    bad = degenerate_maps(maps).cpu()
    n_skipped = int(bad.sum())
    keep = (~bad).nonzero().squeeze(-1)
    if keep.numel() == 0:
        return np.zeros(0, dtype=np.float64), n_skipped
    a = maps.detach().index_select(0, keep.to(maps.device)).flatten(1).abs().to("cpu", torch.float64)
    # Quantus 0.6's own arithmetic, written out: its public call spends ~0.8 s per 8
    # spectrogram-sized maps on input checks (a Python set over every value), 7x the metrics
    # themselves, and its internals (normalise_func, evaluate_batch) are not a stable API.
    # tests/test_metrics.py compares these numbers with Quantus' public call.
    a = a / a.amax(dim=1, keepdim=True)  # Quantus' per-item max-normalisation
    if name == "SPS":  # Gini index of the sorted values, with Quantus' 1e-7 offset
        a = (a + 1e-7).sort(dim=1).values
        rank = torch.arange(1, a.shape[1] + 1, dtype=a.dtype)
        scores = ((2 * rank - a.shape[1] - 1) * a).sum(dim=1) / (a.shape[1] * a.sum(dim=1))
    else:  # entropy of the map as a distribution, with Quantus' 1e-12 inside the log
        p = a / a.sum(dim=1, keepdim=True)
        scores = -(p * torch.log(p + 1e-12)).sum(dim=1)
    return scores.numpy(), n_skipped


def quantus_sparseness(maps, inputs=None):
    """Quantus Sparseness (``SPS``, Chalasani et al. 2020) of each scorable map.

    Quantus 0.6's ``Sparseness(abs=True)`` with its max-normalisation done per item, computed here
    (``tests/test_metrics.py`` checks it against Quantus' public call). Degenerate maps (see :func:`degenerate_maps`) are
    skipped and counted. Maps are scored in float64 on the CPU.

    Arguments
    ---------
    maps : torch.Tensor
        Attribution maps or masks, ``[batch, time, freq]`` or ``[batch, 1, time, freq]``.
    inputs : torch.Tensor, optional
        The input each map explains, same shape (only its shape is used by Quantus);
        defaults to ``maps``.

    Returns
    -------
    values : numpy.ndarray
        float64 scores of the non-degenerate items, in batch order.
    n_skipped : int
        Number of degenerate items.

    Example
    -------
    >>> maps = torch.zeros(3, 4, 5)
    >>> maps[1, 0, 0] = 1.0       # one active bin out of 20: very sparse
    >>> maps[2] = 1.0
    >>> maps[2, 0, 0] = 0.5       # almost uniform: not sparse
    >>> values, n_skipped = quantus_sparseness(maps)
    >>> values.round(3), n_skipped
    (array([0.95 , 0.024]), 1)
    """
    return _quantus_scores("SPS", maps, inputs)


def quantus_complexity(maps, inputs=None):
    """Quantus Complexity (``COMP``, Bhatt et al. 2020) of each scorable map.

    Entropy of ``|map| / sum |map|`` via ``quantus.Complexity(abs=True)``; see
    :func:`quantus_sparseness` for the call and the skipping rule.

    Arguments
    ---------
    maps : torch.Tensor
        Attribution maps or masks, ``[batch, time, freq]`` or ``[batch, 1, time, freq]``.
    inputs : torch.Tensor, optional
        The input each map explains, same shape; defaults to ``maps``.

    Returns
    -------
    values : numpy.ndarray
        float64 scores of the non-degenerate items, in batch order.
    n_skipped : int
        Number of degenerate items.

    Example
    -------
    >>> maps = torch.zeros(2, 4, 5)
    >>> maps[0, 0, :2] = 1.0      # two equal bins: entropy log(2)
    >>> values, n_skipped = quantus_complexity(maps)
    >>> bool(np.isclose(values[0], np.log(2))), n_skipped
    (True, 1)
    """
    return _quantus_scores("COMP", maps, inputs)


def quantus_per_item(maps, inputs=None):
    """``SPS`` and ``COMP`` as ``[batch]`` tensors with ``NaN`` for degenerate items.

    The form :class:`MetricAccumulator` takes (each ``NaN`` counts as one skipped item).

    Arguments
    ---------
    maps : torch.Tensor
        ``[batch, time, freq]`` or ``[batch, 1, time, freq]``.
    inputs : torch.Tensor, optional
        Same shape as ``maps``; defaults to ``maps``.

    Returns
    -------
    dict of str to torch.Tensor
        ``{"SPS": [batch], "COMP": [batch]}``, float64, on the CPU.

    Example
    -------
    >>> maps = torch.zeros(2, 4, 5)
    >>> maps[1, 0, :2] = 1.0
    >>> out = quantus_per_item(maps)
    >>> out["COMP"].isnan().tolist(), round(out["COMP"][1].item(), 4)
    ([True, False], 0.6931)
    """
    bad = degenerate_maps(maps).cpu()
    out = {}
    for name in QUANTUS_NAMES:
        values, _ = _quantus_scores(name, maps, inputs)
        full = torch.full((bad.numel(),), float("nan"), dtype=torch.float64)
        full[~bad] = torch.from_numpy(values)
        out[name] = full
    return out
