"""How a mask is applied to a magnitude: the mask space, shared by training, explainers and metrics.

A mask ``M`` in ``[0, 1]`` on the grid of a non-negative magnitude ``X`` (``|STFT|`` or the mel
magnitude) can multiply

- ``linear``: the magnitude itself, ``M * X`` (the paper's Eq. 3);
- ``log1p``: its ``log1p``, ``expm1(M * log1p X)`` (what the authors' code trains and scores).

The space decides what a small mask value means: ``0.01 * X`` keeps the shape of a loud spectrum
at a lower level, which a classifier that reads ``log1p`` features still recognises, while
``expm1(0.01 * log1p X)`` is close to silence. A mask of ones gives ``X`` back and a mask of
zeros gives silence in both spaces.

Gradient explainers attribute with respect to the representation that is masked
(:func:`to_space`), so a gradient method and a trained decoder are compared on the same footing.
"""

import torch

from lmac_brain.errors import ConfigurationError

MASK_SPACES = ("linear", "log1p")


def check_mask_space(space):
    """``space`` itself, or a :class:`~lmac_brain.errors.ConfigurationError` naming the choices."""
    if space not in MASK_SPACES:
        raise ConfigurationError(f"Unknown mask_space {space!r}: choose one of {MASK_SPACES}")
    return space


def to_space(x, space):
    """The representation a mask multiplies: ``x`` (linear) or ``log1p(x)``.

    Example
    -------
    >>> to_space(torch.tensor([0.0, 1.0]), "log1p")
    tensor([0.0000, 0.6931])
    """
    return x if check_mask_space(space) == "linear" else torch.log1p(x.clamp_min(0.0))


def from_space(z, space):
    """The magnitude of a representation ``z`` of ``space`` (inverse of :func:`to_space`).

    Example
    -------
    >>> x = torch.tensor([0.0, 0.5, 30.0])
    >>> torch.allclose(from_space(to_space(x, "log1p"), "log1p"), x)
    True
    """
    return z if check_mask_space(space) == "linear" else torch.expm1(z)


def apply_mask(x, mask, space="linear"):
    """The masked magnitude: ``mask * x`` (linear) or ``expm1(mask * log1p(x))`` (log1p).

    Returned as a magnitude, so the classifier's own front-end reads it unchanged.

    Example
    -------
    >>> x, m = torch.tensor([[0.0, 1.0, 99.0]]), torch.tensor([[0.5, 0.5, 0.5]])
    >>> apply_mask(x, m, "linear")
    tensor([[ 0.0000,  0.5000, 49.5000]])
    >>> apply_mask(x, m, "log1p")  # sqrt(1 + x) - 1
    tensor([[0.0000, 0.4142, 9.0000]])
    """
    if check_mask_space(space) == "linear":
        return mask * x
    masked = torch.expm1(mask * torch.log1p(x.clamp_min(0.0)))
    # Where the mask is 1, x itself: expm1(log1p(x)) differs from x by rounding, which would
    # count as an "increase" in AI for an all-ones mask.
    return torch.where(mask == 1, x, masked)


def masked_in_out(x, mask, space="linear"):
    """``(masked-in, masked-out)`` magnitudes: :func:`apply_mask` of ``mask`` and of ``1 - mask``."""
    return apply_mask(x, mask, space), apply_mask(x, 1.0 - mask, space)
