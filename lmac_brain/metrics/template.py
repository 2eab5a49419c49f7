"""``template_share``: how much of a set of masks is one mask shared by every clip.

A decoder can learn a clip-independent pattern (a frequency prior, stripes) that survives
whatever the clip or the classifier: faithfulness metrics do not see it, since a pattern that
keeps the event's band keeps the decision. ``template_share`` is the share of the masks'
variance (over the clips and bins) that their average mask explains::

    template_share = N * ||mean_i M_i - mu||^2 / sum_i ||M_i - mu||^2

with ``mu`` the grand mean: 1 when every clip gets the same mask, near 0 when the average mask
is flat (whatever varies, varies with the clip). It is a property of the evaluated set, not of
one item, so it is accumulated over batches (sums only, so batches of any size add up).
"""

import torch


class TemplateShare:
    """Accumulates ``[batch, time, freq]`` masks of one shape and gives their template share.

    Example
    -------
    >>> share = TemplateShare()
    >>> template = torch.rand(5, 7)
    >>> share.update(template.expand(4, 5, 7))
    >>> round(share.value(), 6)
    1.0
    >>> share = TemplateShare()
    >>> share.update(torch.stack([template, 1 - template]))  # their average is flat
    >>> share.value()
    0.0
    >>> share = TemplateShare()
    >>> share.update(torch.full((3, 5, 7), 0.37))  # one value everywhere: no variance to share
    >>> share.value()
    nan
    """

    def __init__(self):
        self.n = 0
        self.total = None  # per-bin sum of the masks
        self.squares = 0.0  # sum of the squared mask values

    def update(self, masks):
        """Add a batch of masks (``[batch, ...]``, every item of the same shape)."""
        masks = masks.detach().to(torch.float64).flatten(1)
        if self.total is not None and masks.shape[1] != self.total.numel():
            raise ValueError(f"template_share needs masks of one shape: {masks.shape[1]} bins after "
                             f"{self.total.numel()}")
        batch_total = masks.sum(dim=0).cpu()
        self.total = batch_total if self.total is None else self.total + batch_total
        self.squares += float(masks.pow(2).sum())
        self.n += masks.shape[0]

    def value(self):
        """The share in ``[0, 1]``; ``nan`` for fewer than two masks or masks all equal to one value."""
        if self.n < 2:
            return float("nan")
        n_bins = self.total.numel()
        grand_mean = float(self.total.sum()) / (self.n * n_bins)
        explained = self.n * float((self.total / self.n - grand_mean).pow(2).sum())
        total = self.squares - self.n * n_bins * grand_mean**2
        # Relative to the sum of squares: for masks of one value both sums cancel to rounding.
        return explained / total if total > 1e-9 * self.squares else float("nan")
