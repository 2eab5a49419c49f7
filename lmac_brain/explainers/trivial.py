"""The reference rows of the results tables: masks that look at no decision.

The all-ones mask keeps the whole input (its FF is the mean confidence); the all-zeros mask
removes it. Two more rows expose metrics that degenerate masks can game: a constant mask (in the
linear space a near-uniform mask keeps the decision, since the classifier's log compresses a
level change away) and the energy mask ``|X| / max|X|`` (it keeps the loud bins, whatever the
classifier decided). None of them looks at the classifier.
"""

import torch

from lmac_brain.explainers.base import Explainer, register


@register("ones")
class OnesExplainer(Explainer):
    """All-ones mask: the masked-in input is the input itself.

    Example
    -------
    >>> OnesExplainer(torch.nn.Identity(), "stft").explain(torch.rand(1, 2, 3), None)
    tensor([[[1., 1., 1.],
             [1., 1., 1.]]])
    """

    def explain(self, x, target):
        """Ones of the shape of ``x``."""
        return torch.ones_like(x)


@register("zeros")
class ZerosExplainer(Explainer):
    """All-zeros mask: the masked-in input is silence.

    Example
    -------
    >>> ZerosExplainer(torch.nn.Identity(), "mel").explain(torch.rand(1, 1, 2), None)
    tensor([[[0., 0.]]])
    """

    def explain(self, x, target):
        """Zeros of the shape of ``x``."""
        return torch.zeros_like(x)


@register("constant")
class ConstantExplainer(Explainer):
    """The same value in every bin of every clip.

    The evaluation sets ``value`` to the mean mask of another method (``mm_of: lmac`` in a
    method spec), so the row says what a mask of L-MAC's size, spread evenly, would score.

    Example
    -------
    >>> ConstantExplainer(torch.nn.Identity(), "stft", value=0.25).explain(torch.rand(1, 1, 3), None)
    tensor([[[0.2500, 0.2500, 0.2500]]])
    """

    def __init__(self, classifier, domain, value=0.5):
        super().__init__(classifier, domain)
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"constant mask value must be in [0, 1], got {value}")
        self.value = float(value)

    def explain(self, x, target):
        """``value`` in the shape of ``x``."""
        return torch.full_like(x, self.value)


@register("energy")
class EnergyExplainer(Explainer):
    """The input's own magnitude, ``|X| / max|X|`` per item: loud bins kept, whatever the decision.

    Example
    -------
    >>> EnergyExplainer(torch.nn.Identity(), "stft").explain(torch.tensor([[[1.0, 4.0], [2.0, 0.0]]]), None)
    tensor([[[0.2500, 1.0000],
             [0.5000, 0.0000]]])
    """

    def explain(self, x, target):
        """``x`` divided by its per-item maximum (zeros for a silent item)."""
        peak = x.flatten(1).amax(dim=1).clamp_min(torch.finfo(x.dtype).tiny)
        return x / peak.view(-1, *([1] * (x.dim() - 1)))
