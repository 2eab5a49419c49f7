"""Explanation methods behind one interface (see :mod:`lmac_brain.explainers.base`).

Importing this package registers the built-in methods; build any of them by name::

    explainer = build_explainer("ig", classifier, "stft", n_steps=50, internal_batch_size=16)
    mask = explainer(x, target)  # [batch, time, freq] in [0, 1], the shape of x
"""

from lmac_brain.audio.spectral import mel_to_linear
from lmac_brain.explainers import (  # noqa: F401  (registers the methods)
    gradient,
    l2i,  # noqa: F401  (registers "l2i")
    lmac,
    trivial,
)
from lmac_brain.explainers.base import (
    MASK_PROTOCOLS,
    Explainer,
    attribution_to_mask,
    available_explainers,
    build_explainer,
    register,
)
from lmac_brain.explainers.gradient import AttributionExplainer, cam_to_input

__all__ = [
    "MASK_PROTOCOLS",
    "AttributionExplainer",
    "Explainer",
    "attribution_to_mask",
    "available_explainers",
    "build_explainer",
    "cam_to_input",
    "mel_to_linear",
    "register",
]
