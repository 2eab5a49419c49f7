"""Faithfulness of a mask to the classifier (AI, AD, AG, FF, Fid-In) and the mask mean (MM).

``c = argmax f(X)`` is the classifier's decision on the full input, ``f`` the softmax
probabilities; ``M * X`` is the masked-in input, ``(1 - M) * X`` the masked-out one.
"""

import torch

from lmac_brain.metrics.shapes import as_logits, as_maps

AG_EPS = 1e-12
"""Guard of the ``AG`` denominator ``1 - f(X)_c``. When ``f(X)_c`` is exactly 1 the numerator
``max(0, f(M*X)_c - 1)`` is 0 too, so such items score 0 instead of 0/0."""



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
    full = as_logits(logits_full, "logits_full")
    p_full = full.softmax(-1)
    p_in = as_logits(logits_in, "logits_in").softmax(-1)
    p_out = as_logits(logits_out, "logits_out").softmax(-1)
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


def ad_reference_per_item(logits_full, logits_in):
    """Per-item ``AD_ref``: Average Drop as the authors' code computes it (reference protocol).

    The authors' ``compute_AD`` (SpeechBrain, ``recipes/ESC50/interpret/interpreter_brain.py``)
    applies ``softmax`` to its arguments, but is handed probabilities already
    (``predictions.softmax(1)``): the probabilities go through softmax twice. With ``q = softmax(p)``
    of the probabilities ``p`` and ``c = argmax p(X)``::

        AD_ref = 100 * max(0, q(X)_c - q(M*X)_c) / q(X)_c

    The second softmax squeezes a probability vector towards uniform: with many classes the two
    normalisers are about equal and ``q(M*X)_c / q(X)_c ~ exp(p(M*X)_c - p(X)_c)``, so
    ``AD_ref ~ 100 * (1 - exp(-(p(X)_c - p(M*X)_c)))``: close to the *absolute* drop of the
    probability in percentage points, not the relative one, and never above
    ``100 * (1 - 1/e) = 63.2`` (a certain decision whose probability the mask sends to 0; see
    the example). A mask that destroys every prediction scores about ``100 * mean p(X)_c`` instead
    of 100.
    :func:`faithfulness_per_item`'s ``AD`` is the paper's definition and stays the one we report;
    ``AD_ref`` is only there to compare with the published tables.

    Arguments
    ---------
    logits_full : torch.Tensor
        ``[batch, classes]`` logits on the full input.
    logits_in : torch.Tensor
        Logits on the masked-in input.

    Returns
    -------
    torch.Tensor
        ``[batch]`` float64, in percent.

    Example
    -------
    >>> full = torch.tensor([[50.0] + [0.0] * 49])      # p(X)_c = 1
    >>> moved = torch.tensor([[0.0, 50.0] + [0.0] * 48]) # the mask moves all mass to another class
    >>> round(faithfulness_per_item(full, moved, moved)["AD"].item(), 2)
    100.0
    >>> round(ad_reference_per_item(full, moved).item(), 2)
    63.21
    >>> round(ad_reference_per_item(full, full).item(), 2)
    0.0
    """
    p_full = as_logits(logits_full, "logits_full").softmax(-1)
    p_in = as_logits(logits_in, "logits_in").softmax(-1)
    if p_full.shape != p_in.shape:
        raise ValueError(f"logit shapes differ: {tuple(p_full.shape)}, {tuple(p_in.shape)}")
    q_full, q_in = p_full.softmax(-1), p_in.softmax(-1)
    c = p_full.argmax(-1, keepdim=True)
    qf = q_full.gather(-1, c).squeeze(-1)
    qi = q_in.gather(-1, c).squeeze(-1)
    return 100.0 * (qf - qi).clamp_min(0.0) / qf


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
    mask = as_maps(mask, "mask")
    return mask.detach().to(torch.float64).flatten(1).mean(-1)
