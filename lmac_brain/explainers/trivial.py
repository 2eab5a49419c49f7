"""The reference rows of the results tables: the all-ones and the all-zeros masks.

The all-ones mask keeps the whole input (its FF is the mean confidence); the all-zeros mask
removes it. Neither looks at the classifier beyond the shape of the input.
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
