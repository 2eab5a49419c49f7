"""Localization of a mask against the ideal binary mask of a synthetic twin (loc_auc, loc_iou)."""

import torch

from lmac_brain.metrics.shapes import as_maps


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

    Ours rather than ``sklearn.metrics.roc_auc_score``: batched on the device, and a one-class
    row is ``NaN`` (skipped and counted) instead of an exception.

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
    mask = as_maps(mask, "mask").detach()
    ibm = as_maps(ibm, "ibm").detach()
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
