"""Every explanation metric of the paper (Sec. 3.1), implemented once.

The L-MAC Brain (valid/test logging), the evaluation harness and the sanity checks all take
their metrics from this package, and metric names live only in :data:`METRIC_NAMES`
(:mod:`lmac_brain.metrics.names`). One module per family: :mod:`~lmac_brain.metrics.faithfulness`,
:mod:`~lmac_brain.metrics.quantus_scores`, :mod:`~lmac_brain.metrics.localization`,
:mod:`~lmac_brain.metrics.listenability` (:mod:`~lmac_brain.metrics.ground_truth` scores a mask
against a twin's clean event), :mod:`~lmac_brain.metrics.accumulator`;
:func:`metrics_per_item` computes all but the listenability ones (they need waveforms).

Conventions. ``c = argmax f(X)`` is the classifier's decision on the full
input, ``f`` the softmax probabilities; ``M * X`` is the masked-in input, ``(1 - M) * X`` the
masked-out one. Per-item values are returned already scaled as in the reported means:

============  =====================================================  =============
name          per-item value                                         better
============  =====================================================  =============
``AI``        ``100 * [f(M*X)_c > f(X)_c]``                          larger
``AD``        ``100 * max(0, f(X)_c - f(M*X)_c) / f(X)_c``           smaller
``AD_ref``    ``AD`` of ``softmax(f)`` (authors' code, evaluation)   smaller
``AG``        ``100 * max(0, f(M*X)_c - f(X)_c) / (1 - f(X)_c)``     larger
``FF``        ``f(X)_c - f((1-M)*X)_c`` (probabilities)              larger
``FidIn``     ``[argmax f(X) == argmax f(M*X)]`` (0 or 1)            larger
``SPS``       Quantus ``Sparseness`` (Gini index of ``|map|``)       larger
``COMP``      Quantus ``Complexity`` (entropy of ``|map|``)          smaller
``MM``        mean mask value                                        --
``loc_auc``   ROC-AUC of the mask against the ideal binary mask      larger
``loc_iou``   IoU of ``mask >= 0.5`` with the ideal binary mask      larger
``SI-SDR``    SI-SDR (dB) of the interpretation vs the clean event   larger
``SDRi``      ``SI-SDR`` minus that of the input itself (dB)         larger
============  =====================================================  =============

Items a metric is undefined for are *skipped and counted*, never turned into a crash or a NaN
mean: all-zero, constant or non-finite maps for ``SPS``/``COMP`` (Quantus refuses them), items
whose ideal binary mask is all 0 or all 1 for ``loc_auc``, items whose predicted and true masks
are both empty for ``loc_iou``. Per-item tensors carry ``NaN`` for skipped items and
:class:`MetricAccumulator` turns every ``NaN`` into a skip count.

Maps and masks are ``[batch, time, freq]`` or ``[batch, 1, time, freq]``; CUDA tensors are fine
(everything stays on the tensor's device except the Quantus call, which copies to the CPU).
"""

from lmac_brain.metrics.accumulator import MetricAccumulator
from lmac_brain.metrics.faithfulness import AG_EPS, ad_reference_per_item, faithfulness_per_item, mask_mean
from lmac_brain.metrics.listenability import listenability_per_item, si_sdr
from lmac_brain.metrics.localization import ideal_binary_mask, localization_per_item, roc_auc_per_item
from lmac_brain.metrics.names import (
    FAITHFULNESS_NAMES,
    LISTENABILITY_NAMES,
    LOCALIZATION_NAMES,
    METRIC_NAMES,
    QUANTUS_NAMES,
)
from lmac_brain.metrics.per_item import metrics_per_item
from lmac_brain.metrics.quantus_scores import (
    degenerate_maps,
    quantus_complexity,
    quantus_per_item,
    quantus_sparseness,
)

__all__ = [
    "AG_EPS", "FAITHFULNESS_NAMES", "LISTENABILITY_NAMES", "LOCALIZATION_NAMES", "METRIC_NAMES", "QUANTUS_NAMES",
    "MetricAccumulator", "ad_reference_per_item", "degenerate_maps", "faithfulness_per_item", "ideal_binary_mask",
    "listenability_per_item", "localization_per_item", "mask_mean", "metrics_per_item", "quantus_complexity",
    "quantus_per_item", "quantus_sparseness", "roc_auc_per_item", "si_sdr",
]
