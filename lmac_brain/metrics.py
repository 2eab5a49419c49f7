"""Every explanation metric of the paper (Sec. 3.1), implemented once.

The L-MAC Brain (valid/test logging), the evaluation harness and the sanity checks all import
their metrics from here, and metric names live only in :data:`METRIC_NAMES`.

Conventions (DESIGN.md, Sec. 8). ``c = argmax f(X)`` is the classifier's decision on the full
input, ``f`` the softmax probabilities; ``M * X`` is the masked-in input, ``(1 - M) * X`` the
masked-out one. Per-item values are returned already scaled as in the reported means:

============  =====================================================  =============
name          per-item value                                         better
============  =====================================================  =============
``AI``        ``100 * [f(M*X)_c > f(X)_c]``                          larger
``AD``        ``100 * max(0, f(X)_c - f(M*X)_c) / f(X)_c``           smaller
``AG``        ``100 * max(0, f(M*X)_c - f(X)_c) / (1 - f(X)_c)``     larger
``FF``        ``f(X)_c - f((1-M)*X)_c`` (probabilities)              larger
``FidIn``     ``[argmax f(X) == argmax f(M*X)]`` (0 or 1)            larger
``SPS``       Quantus ``Sparseness`` (Gini index of ``|map|``)       larger
``COMP``      Quantus ``Complexity`` (entropy of ``|map|``)          smaller
``MM``        mean mask value                                        --
``loc_auc``   ROC-AUC of the mask against the ideal binary mask      larger
``loc_iou``   IoU of ``mask >= 0.5`` with the ideal binary mask      larger
============  =====================================================  =============

Items a metric is undefined for are *skipped and counted*, never turned into a crash or a NaN
mean: all-zero, constant or non-finite maps for ``SPS``/``COMP`` (Quantus refuses them), items
whose ideal binary mask is all 0 or all 1 for ``loc_auc``, items whose predicted and true masks
are both empty for ``loc_iou``. Per-item tensors carry ``NaN`` for skipped items and
:class:`MetricAccumulator` turns every ``NaN`` into a skip count.

Maps and masks are ``[batch, time, freq]`` or ``[batch, 1, time, freq]``; CUDA tensors are fine
(everything stays on the tensor's device except the Quantus call, which copies to the CPU).
"""

import numpy as np
import torch

METRIC_NAMES = ("AI", "AD", "AG", "FF", "FidIn", "SPS", "COMP", "MM", "loc_auc", "loc_iou")
"""Every metric name, in the column order of the results tables."""

FAITHFULNESS_NAMES = ("AI", "AD", "AG", "FF", "FidIn")
QUANTUS_NAMES = ("SPS", "COMP")
LOCALIZATION_NAMES = ("loc_auc", "loc_iou")

AG_EPS = 1e-12
"""Guard of the ``AG`` denominator ``1 - f(X)_c``. When ``f(X)_c`` is exactly 1 the numerator
``max(0, f(M*X)_c - 1)`` is 0 too, so such items score 0 instead of 0/0."""


# --------------------------------------------------------------------------------------------
# Faithfulness (AI, AD, AG, FF, Fid-In) and mask mean
# --------------------------------------------------------------------------------------------
def _as_logits(logits, name):
    """Return ``[batch, classes]`` float64 logits (SpeechBrain heads give ``[batch, 1, classes]``)."""
    if logits.dim() == 3 and logits.shape[1] == 1:
        logits = logits.squeeze(1)
    if logits.dim() != 2:
        raise ValueError(
            f"{name} must be [batch, classes] or [batch, 1, classes], got {tuple(logits.shape)}"
        )
    return logits.detach().to(torch.float64)


def faithfulness_per_item(logits_full, logits_in, logits_out):
    """Per-item AI, AD, AG, FF and Fid-In from the classifier's logits on three inputs.

    Probabilities are ``softmax`` of the logits, computed in float64 so that confident
    decisions keep a meaningful ``1 - f(X)_c``.

    Arguments
    ---------
    logits_full : torch.Tensor
        ``[batch, classes]`` (or ``[batch, 1, classes]``) logits on the full input ``X``;
        ``c`` is their argmax.
    logits_in : torch.Tensor
        Logits on the masked-in input ``M * X``.
    logits_out : torch.Tensor
        Logits on the masked-out input ``(1 - M) * X``.

    Returns
    -------
    dict of str to torch.Tensor
        Keys ``AI`` (0 or 100), ``AD`` (%), ``AG`` (%), ``FF`` (probability difference) and
        ``FidIn`` (0 or 1); float64 tensors of shape ``[batch]`` on the logits' device.
        Their means are the paper's numbers.

    Example
    -------
    >>> p_full = torch.tensor([[0.5, 0.3, 0.2]])
    >>> p_in = torch.tensor([[0.6, 0.2, 0.2]])
    >>> p_out = torch.tensor([[0.1, 0.5, 0.4]])
    >>> m = faithfulness_per_item(p_full.log(), p_in.log(), p_out.log())
    >>> [round(m[k].item(), 4) for k in ("AI", "AD", "AG", "FF", "FidIn")]
    [100.0, 0.0, 20.0, 0.4, 1.0]
    """
    full = _as_logits(logits_full, "logits_full")
    p_full = full.softmax(-1)
    p_in = _as_logits(logits_in, "logits_in").softmax(-1)
    p_out = _as_logits(logits_out, "logits_out").softmax(-1)
    if not p_full.shape == p_in.shape == p_out.shape:
        raise ValueError(
            f"logit shapes differ: {tuple(p_full.shape)}, {tuple(p_in.shape)}, {tuple(p_out.shape)}"
        )
    c = p_full.argmax(-1, keepdim=True)
    pf = p_full.gather(-1, c).squeeze(-1)
    pi = p_in.gather(-1, c).squeeze(-1)
    po = p_out.gather(-1, c).squeeze(-1)
    return {
        "AI": 100.0 * (pi > pf).to(torch.float64),
        "AD": 100.0 * (pf - pi).clamp_min(0.0) / pf,
        "AG": 100.0 * (pi - pf).clamp_min(0.0) / (1.0 - pf).clamp_min(AG_EPS),
        "FF": pf - po,
        "FidIn": (p_in.argmax(-1) == c.squeeze(-1)).to(torch.float64),
    }


def _as_maps(x, name):
    """Return ``[batch, time, freq]`` from ``[batch, time, freq]`` or ``[batch, 1, time, freq]``."""
    if x.dim() == 4 and x.shape[1] == 1:
        x = x.squeeze(1)
    if x.dim() != 3:
        raise ValueError(
            f"{name} must be [batch, time, freq] or [batch, 1, time, freq], got {tuple(x.shape)}"
        )
    return x


def mask_mean(mask):
    """Per-item mean mask value (``MM``).

    Arguments
    ---------
    mask : torch.Tensor
        ``[batch, time, freq]`` or ``[batch, 1, time, freq]``.

    Returns
    -------
    torch.Tensor
        ``[batch]`` float64 means.

    Example
    -------
    >>> mask_mean(torch.tensor([[[1.0, 0.0], [0.5, 0.5]], [[1.0, 1.0], [1.0, 1.0]]]))
    tensor([0.5000, 1.0000], dtype=torch.float64)
    """
    mask = _as_maps(mask, "mask")
    return mask.detach().to(torch.float64).flatten(1).mean(-1)


# --------------------------------------------------------------------------------------------
# Quantus Sparseness (SPS) and Complexity (COMP)
# --------------------------------------------------------------------------------------------
_QUANTUS_METRICS = {}


def _quantus_metric(name):
    """Build (once) the Quantus metric with the paper's settings and its warnings silenced.

    ``abs=True`` and Quantus' default max-normalisation, applied per item (``normalise_axes``
    excludes the batch axis), so an item's score never depends on the other items of its batch.
    ``disable_warnings=True`` matters: without it every construction prints a notice and
    sleeps for one second.
    """
    if name not in _QUANTUS_METRICS:
        import quantus  # slow import (~5 s): only when the metric is first used

        cls = {"SPS": quantus.Sparseness, "COMP": quantus.Complexity}[name]
        _QUANTUS_METRICS[name] = cls(
            abs=True,
            normalise=True,
            normalise_func_kwargs={"normalise_axes": (1, 2, 3)},
            disable_warnings=True,
            display_progressbar=False,
        )
    return _QUANTUS_METRICS[name]


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
    flat = _as_maps(maps, "maps").detach().flatten(1).abs()
    finite = torch.isfinite(flat).all(-1)
    flat = torch.where(torch.isfinite(flat), flat, torch.zeros_like(flat))
    constant = flat.amax(-1) == flat.amin(-1)  # all-zero maps are constant too
    return ~finite | constant


def _quantus_scores(name, maps, inputs, full_call=False):
    maps = _as_maps(maps, "maps")
    inputs = maps if inputs is None else _as_maps(inputs, "inputs")
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
    keep_dev = keep.to(maps.device)
    # float64 and |map| (identical scores with abs=True; avoids Quantus' all-negative assert).
    a = maps.detach().index_select(0, keep_dev).abs().unsqueeze(1).to("cpu", torch.float64).numpy()
    x = inputs.detach().index_select(0, keep_dev).unsqueeze(1).to("cpu", torch.float64).numpy()
    metric = _quantus_metric(name)
    if full_call:
        scores = metric(
            model=None,
            x_batch=x,
            y_batch=np.zeros(len(a), dtype=np.int64),
            a_batch=a,
            channel_first=True,
            batch_size=len(a),
        )
    else:
        # What Metric.__call__ does for these two metrics (no model, no custom preprocessing),
        # minus assert_attributions, whose Python set over every value costs ~1 s per 8
        # spectrogram-sized maps and whose checks degenerate_maps already made, per item.
        a = np.abs(metric.normalise_func(a)) if metric.normalise else a
        scores = metric.evaluate_batch(x_batch=x, a_batch=a)
    return np.asarray(scores, dtype=np.float64), n_skipped


def quantus_sparseness(maps, inputs=None, full_call=False):
    """Quantus Sparseness (``SPS``, Chalasani et al. 2020) of each scorable map.

    Uses ``quantus.Sparseness(abs=True)`` without a model (Sparseness never runs one), with
    Quantus' max-normalisation done per item. Degenerate maps (see :func:`degenerate_maps`) are
    skipped and counted. Maps are scored in float64 on the CPU.

    Arguments
    ---------
    maps : torch.Tensor
        Attribution maps or masks, ``[batch, time, freq]`` or ``[batch, 1, time, freq]``.
    inputs : torch.Tensor, optional
        The input each map explains, same shape (only its shape is used by Quantus);
        defaults to ``maps``.
    full_call : bool
        Run Quantus' complete ``__call__`` (input assertions included) instead of its
        normalisation and scoring code on the already validated maps. Same numbers (tested),
        about 15x slower on spectrogram-sized maps.

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
    return _quantus_scores("SPS", maps, inputs, full_call)


def quantus_complexity(maps, inputs=None, full_call=False):
    """Quantus Complexity (``COMP``, Bhatt et al. 2020) of each scorable map.

    Entropy of ``|map| / sum |map|`` via ``quantus.Complexity(abs=True)``; see
    :func:`quantus_sparseness` for the call and the skipping rule.

    Arguments
    ---------
    maps : torch.Tensor
        Attribution maps or masks, ``[batch, time, freq]`` or ``[batch, 1, time, freq]``.
    inputs : torch.Tensor, optional
        The input each map explains, same shape; defaults to ``maps``.
    full_call : bool
        See :func:`quantus_sparseness`.

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
    return _quantus_scores("COMP", maps, inputs, full_call)


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


# --------------------------------------------------------------------------------------------
# Localization against the ground truth of the synthetic twins
# --------------------------------------------------------------------------------------------
def ideal_binary_mask(event_mag, background_mag, threshold_db=0.0):
    """Ideal binary mask: bins where the event magnitude exceeds the background's by ``threshold_db``.

    ``IBM = 20 log10(|E| / |B|) > threshold_db``, computed as ``|E| > |B| * 10**(threshold_db/20)``
    so that silent bins need no log (``|E| = |B| = 0`` gives False, ``|E| > 0 = |B|`` True).
    Pass magnitudes in the domain of the mask being scored (STFT magnitude for STFT masks,
    mel magnitude for mel masks).

    Arguments
    ---------
    event_mag : torch.Tensor
        Magnitude of the clean target event, any shape.
    background_mag : torch.Tensor
        Magnitude of everything else in the mixture, same shape.
    threshold_db : float
        Local event-to-background ratio, in dB, a bin must exceed.

    Returns
    -------
    torch.BoolTensor
        Same shape as the inputs.

    Example
    -------
    >>> ideal_binary_mask(torch.tensor([1.0, 2.0, 0.0, 3.0]), torch.tensor([2.0, 1.0, 0.0, 0.0]))
    tensor([False,  True, False,  True])
    >>> ideal_binary_mask(torch.tensor([1.5, 2.5]), torch.tensor([1.0, 1.0]), threshold_db=6.0)
    tensor([False,  True])
    """
    if event_mag.shape != background_mag.shape:
        raise ValueError(f"shapes differ: {tuple(event_mag.shape)} vs {tuple(background_mag.shape)}")
    gain = 10.0 ** (threshold_db / 20.0)
    return event_mag.abs() > background_mag.abs() * gain


def roc_auc_per_item(scores, labels):
    """ROC-AUC of ``scores`` against binary ``labels``, row by row (Mann-Whitney U).

    ``AUC = (sum of the positives' ranks - P (P + 1) / 2) / (P N)`` with tied scores given
    their average rank, which equals ``sklearn.metrics.roc_auc_score``. Rows with no positive
    or no negative label are ``NaN``. Batched on the tensors' device.

    Arguments
    ---------
    scores : torch.Tensor
        ``[batch, n]`` finite scores.
    labels : torch.Tensor
        ``[batch, n]`` booleans (or 0/1).

    Returns
    -------
    torch.Tensor
        ``[batch]`` float64.

    Example
    -------
    >>> roc_auc_per_item(torch.tensor([[0.1, 0.4, 0.35, 0.8], [0.5, 0.5, 0.5, 0.5]]),
    ...                  torch.tensor([[0, 0, 1, 1], [0, 1, 0, 1]]))
    tensor([0.7500, 0.5000], dtype=torch.float64)
    """
    scores = scores.detach().to(torch.float64)
    labels = labels.detach().bool()
    if scores.dim() != 2 or scores.shape != labels.shape:
        raise ValueError(
            f"need [batch, n] scores and labels, got {tuple(scores.shape)}, {tuple(labels.shape)}"
        )
    n = scores.shape[-1]
    ordered, order = scores.sort(-1)
    pos = labels.gather(-1, order)
    # Tied runs of the sorted scores: each element gets the mean of its run's 1-based ranks.
    index = torch.arange(n, device=scores.device).expand_as(ordered)
    starts = torch.ones_like(pos)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = torch.ones_like(pos)
    ends[:, :-1] = starts[:, 1:]
    first = torch.where(starts, index, torch.zeros_like(index)).cummax(-1).values
    last = torch.where(ends, index, torch.full_like(index, n - 1)).flip(-1).cummin(-1).values.flip(-1)
    rank = (first + last + 2).to(torch.float64) / 2.0
    n_pos = labels.sum(-1).to(torch.float64)
    n_neg = n - n_pos
    u = (rank * pos).sum(-1) - n_pos * (n_pos + 1.0) / 2.0
    auc = u / (n_pos * n_neg)
    return torch.where((n_pos > 0) & (n_neg > 0), auc, torch.full_like(auc, float("nan")))


def localization_per_item(mask, ibm, threshold=0.5):
    """Localization of a mask against the ideal binary mask (synthetic twins only).

    Arguments
    ---------
    mask : torch.Tensor
        ``[batch, time, freq]`` or ``[batch, 1, time, freq]`` mask values.
    ibm : torch.Tensor
        Ground truth (see :func:`ideal_binary_mask`) of the same shape, in the same domain.
    threshold : float
        A bin is predicted relevant when ``mask >= threshold`` (IoU only).

    Returns
    -------
    dict of str to torch.Tensor
        ``loc_auc``: ROC-AUC of the mask values against the IBM, ``NaN`` for items whose IBM is
        all 0 or all 1 (or whose mask is not finite). ``loc_iou``: ``|P & G| / |P | G|`` with
        ``P = mask >= threshold``, ``NaN`` when ``P`` and ``G`` are both empty (0/0).
        float64 ``[batch]`` tensors on the mask's device.

    Example
    -------
    >>> mask = torch.tensor([[[0.9, 0.6], [0.2, 0.1]]])
    >>> ibm = torch.tensor([[[True, False], [True, False]]])
    >>> out = localization_per_item(mask, ibm)
    >>> round(out["loc_auc"].item(), 4), round(out["loc_iou"].item(), 4)
    (0.75, 0.3333)
    """
    mask = _as_maps(mask, "mask").detach()
    ibm = _as_maps(ibm, "ibm").detach()
    if mask.shape != ibm.shape:
        raise ValueError(f"mask {tuple(mask.shape)} and ibm {tuple(ibm.shape)} must have the same shape")
    scores = mask.flatten(1).to(torch.float64)
    truth = ibm.flatten(1).to(mask.device).bool()
    finite = torch.isfinite(scores).all(-1)
    auc = roc_auc_per_item(torch.where(torch.isfinite(scores), scores, torch.zeros_like(scores)), truth)
    auc = torch.where(finite, auc, torch.full_like(auc, float("nan")))
    pred = scores >= threshold
    inter = (pred & truth).sum(-1).to(torch.float64)
    union = (pred | truth).sum(-1).to(torch.float64)
    iou = torch.where(union > 0, inter / union.clamp_min(1.0), torch.full_like(inter, float("nan")))
    return {"loc_auc": auc, "loc_iou": iou}


def metrics_per_item(logits_full, logits_in, logits_out, mask, inputs=None, ibm=None, quantus=True):
    """Every applicable metric of one batch, as ``[batch]`` tensors ready for the accumulator.

    Arguments
    ---------
    logits_full, logits_in, logits_out : torch.Tensor
        See :func:`faithfulness_per_item`.
    mask : torch.Tensor
        The mask (or attribution map) ``[batch, time, freq]`` (``[batch, 1, time, freq]`` too).
    inputs : torch.Tensor, optional
        The input the mask applies to, for ``SPS``/``COMP``; defaults to ``mask``.
    ibm : torch.Tensor, optional
        Ideal binary mask; ``loc_auc``/``loc_iou`` only when given.
    quantus : bool
        Whether to compute ``SPS``/``COMP`` (they copy the maps to the CPU).

    Returns
    -------
    dict of str to torch.Tensor
        Keys in :data:`METRIC_NAMES` order; ``NaN`` marks skipped items.

    Example
    -------
    >>> logits = torch.randn(2, 4)
    >>> out = metrics_per_item(logits, logits, logits, torch.full((2, 3, 5), 0.5), quantus=False)
    >>> list(out), out["FidIn"].tolist(), out["MM"].tolist()
    (['AI', 'AD', 'AG', 'FF', 'FidIn', 'MM'], [1.0, 1.0], [0.5, 0.5])
    """
    out = faithfulness_per_item(logits_full, logits_in, logits_out)
    if quantus:
        out.update(quantus_per_item(mask, inputs))
    out["MM"] = mask_mean(mask)
    if ibm is not None:
        out.update(localization_per_item(mask, ibm))
    return {k: out[k] for k in METRIC_NAMES if k in out}


# --------------------------------------------------------------------------------------------
# Accumulation over batches (and DDP processes)
# --------------------------------------------------------------------------------------------
def _to_float64_cpu(values):
    if isinstance(values, torch.Tensor):
        return values.detach().to("cpu", torch.float64).reshape(-1)
    return torch.as_tensor(np.asarray(values, dtype=np.float64)).reshape(-1)


class MetricAccumulator:
    """Accumulates per-item metric values over batches and summarises them to means.

    Each metric keeps a float64 sum, a count of valid items and a count of skipped items.
    ``NaN`` (and infinite) values are never added: they count as skipped, so a mean is never
    NaN. A metric whose items were all skipped has no mean: it is absent from
    :meth:`summarize` and visible in :meth:`skipped` (and :meth:`counts`).

    With DDP, call :meth:`all_reduce` on every process before summarising: it sums the
    totals of all processes (names seen by any of them included) with ``torch.distributed``
    when it is initialised, and does nothing otherwise. It never alters the local totals, so
    calling it twice does not double-count; a later :meth:`update` discards the reduced view.

    Example
    -------
    >>> acc = MetricAccumulator()
    >>> acc.update({"AI": torch.tensor([100.0, 0.0]), "SPS": torch.tensor([0.5, float("nan")])})
    >>> acc.update("AI", [100.0])
    >>> acc.update("COMP", np.array([]), n_skipped=2)
    >>> {k: round(v, 3) for k, v in acc.summarize().items()}
    {'AI': 66.667, 'SPS': 0.5}
    >>> acc.skipped()
    {'AI': 0, 'SPS': 1, 'COMP': 2}
    """

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget every value."""
        self._totals = {}  # name -> [sum, count, skipped]
        self._reduced = None

    def update(self, name_or_dict, values=None, n_skipped=0):
        """Add the per-item values of one batch.

        Arguments
        ---------
        name_or_dict : str or dict
            A metric name with ``values``, or a ``{name: values}`` dict (e.g. the output of
            :func:`metrics_per_item`).
        values : torch.Tensor, numpy.ndarray, sequence or float
            Per-item values of ``name`` (any device); non-finite entries count as skipped.
        n_skipped : int
            Items skipped before the values were computed (e.g. the count returned by
            :func:`quantus_sparseness`); only with a single name.
        """
        if isinstance(name_or_dict, dict):
            if values is not None or n_skipped:
                raise ValueError("pass either a dict, or a name with its values")
            for name, vals in name_or_dict.items():
                self.update(name, vals)
            return
        if values is None:
            raise ValueError(f"no values given for {name_or_dict!r}")
        vals = _to_float64_cpu(values)
        finite = torch.isfinite(vals)
        tot = self._totals.setdefault(name_or_dict, [0.0, 0, 0])
        tot[0] += float(vals[finite].sum())
        tot[1] += int(finite.sum())
        tot[2] += int((~finite).sum()) + int(n_skipped)
        self._reduced = None

    def _view(self):
        return self._reduced if self._reduced is not None else self._totals

    def _names(self, names):
        ordered = [n for n in METRIC_NAMES if n in names]
        return ordered + [n for n in names if n not in METRIC_NAMES]

    def all_reduce(self):
        """Sum the totals over the DDP processes (collective: call it on every process).

        Returns
        -------
        bool
            Whether a reduction took place (False when ``torch.distributed`` is not initialised).
        """
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return False
        gathered = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, sorted(self._totals))
        names = sorted(set().union(*gathered))
        device = torch.device("cpu")
        if dist.get_backend() == "nccl":
            device = torch.device("cuda", torch.cuda.current_device())
        table = torch.tensor(
            [self._totals.get(n, [0.0, 0, 0]) for n in names], dtype=torch.float64, device=device
        ).reshape(len(names), 3)
        dist.all_reduce(table, op=dist.ReduceOp.SUM)
        table = table.cpu()
        self._reduced = {
            n: [float(row[0]), int(round(float(row[1]))), int(round(float(row[2])))]
            for n, row in zip(names, table)
        }
        return True

    def summarize(self):
        """Means of the metrics that have at least one valid item.

        Returns
        -------
        dict of str to float
            ``{name: mean}`` in :data:`METRIC_NAMES` order (other names after); never NaN.
        """
        view = self._view()
        return {n: view[n][0] / view[n][1] for n in self._names(view) if view[n][1] > 0}

    def skipped(self):
        """Number of skipped items per metric (every metric seen, zeros included)."""
        view = self._view()
        return {n: view[n][2] for n in self._names(view)}

    def counts(self):
        """Number of valid (averaged) items per metric."""
        view = self._view()
        return {n: view[n][1] for n in self._names(view)}

    def missing(self):
        """Metrics seen but with no valid item (hence absent from :meth:`summarize`)."""
        view = self._view()
        return [n for n in self._names(view) if view[n][1] == 0]
