"""Every applicable metric of one batch, in one call."""

from lmac_brain.metrics.faithfulness import faithfulness_per_item, mask_mean
from lmac_brain.metrics.localization import localization_per_item
from lmac_brain.metrics.names import METRIC_NAMES
from lmac_brain.metrics.quantus_scores import quantus_per_item


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
    >>> import torch
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
