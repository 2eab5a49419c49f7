"""L2I (Listen to Interpret) as an explainer: one classifier pass gives the hidden
representations, ``Psi`` their NMF activations, and the components ``Theta`` finds relevant for
the target class give the mask (see :mod:`lmac_brain.models.l2i`)."""

import os

import torch

from lmac_brain.checkpoints import (
    CHECKPOINT_KEY,
    CheckpointMismatchError,
    load_matching_state,
    read_checkpoint_file,
    resolve_checkpoint_dir,
)
from lmac_brain.errors import ConfigurationError
from lmac_brain.explainers.base import Explainer, register
from lmac_brain.models.l2i import Psi, Theta, l2i_mask
from lmac_brain.models.nmf import NMFDictionary

RELEVANCE_THRESHOLDS = (0.2, 0.4, 0.6, 0.8)
"""The paper's relevance thresholds (any value in ``[0, 1]`` is accepted)."""


def load_l2i(classifier, source):
    """``(psi, theta, nmf)`` with the weights of ``source``: an L2I recipe's save folder (best
    checkpoint by validation loss) or a folder holding ``psi.ckpt``, ``theta.ckpt`` and
    ``nmf.ckpt``. Sizes are read from the checkpoint, so any trained configuration loads."""
    hint = "Train one with recipes/<DATASET>/train_l2i.py."
    folder = resolve_checkpoint_dir(source, min_key=CHECKPOINT_KEY, hint=hint)
    states = {name: read_checkpoint_file(folder, name, hint) for name in ("psi", "theta", "nmf")}
    for name, key in (("psi", "out.weight"), ("theta", "linear.weight"), ("nmf", "W")):
        if not isinstance(states[name], dict) or key not in states[name]:
            raise CheckpointMismatchError(f"{os.path.join(folder, name + '.ckpt')} is not an L2I {name}. {hint}")
    n_components, width = states["psi"]["out.weight"].shape[:2]
    psi = Psi(classifier.embedding_model.hidden_channels, n_components, width=width)
    load_matching_state(psi, states["psi"], os.path.join(folder, "psi.ckpt"), "the Psi of this classifier")
    theta_state = states["theta"]
    pooling = {"pooling": "attention", "n_frames": theta_state["attention.weight"].shape[1]} \
        if "attention.weight" in theta_state else {}
    theta = Theta(n_components, theta_state["linear.weight"].shape[0], **pooling)
    load_matching_state(theta, theta_state, os.path.join(folder, "theta.ckpt"), "the Theta of this Psi")
    n_freq = states["nmf"]["W"].shape[0]
    if n_freq != classifier.frontend.n_freq:
        raise CheckpointMismatchError(
            f"{os.path.join(folder, 'nmf.ckpt')} has atoms of {n_freq} bins; this classifier's "
            f"STFT has {classifier.frontend.n_freq} (L2I trained on another front-end?)"
        )
    nmf = NMFDictionary.from_file(os.path.join(folder, "nmf.ckpt"))
    return psi, theta, nmf


@register("l2i")
class L2IExplainer(Explainer):
    """Mask from a trained L2I model (``Psi``, ``Theta`` and the NMF dictionary).

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The classifier L2I was trained on.
    domain : str
        ``"stft"`` or ``"mel"`` (the same trained model serves both).
    source : str, optional
        Where to load L2I from (see ``load_l2i``).
    relevance_threshold : float
        ``RT`` in ``[0, 1]``: components whose normalised relevance reaches it are kept.
    psi, theta, nmf : optional
        Already built modules (e.g. the ones being trained) instead of ``source``.
    """

    def __init__(self, classifier, domain, source=None, relevance_threshold=0.2,
                 psi=None, theta=None, nmf=None):
        super().__init__(classifier, domain)
        if (isinstance(relevance_threshold, bool) or not isinstance(relevance_threshold, (int, float))
                or not 0.0 <= relevance_threshold <= 1.0):
            raise ConfigurationError(f"relevance_threshold must be in [0, 1], got {relevance_threshold!r}")
        if psi is None or theta is None or nmf is None:
            if source is None:
                raise ConfigurationError("The l2i explainer needs a trained model: pass source=...")
            psi, theta, nmf = load_l2i(classifier, source)
        self.psi, self.theta, self.nmf = psi.eval(), theta.eval(), nmf
        self.relevance_threshold = relevance_threshold

    def explain(self, x, target):
        with torch.no_grad():
            _, hidden = self.classifier.logits_of_input(x, self.domain, return_hidden=True)
            H = self.psi(hidden, x.shape[1])
            relevance = self.theta.relevance(H, target)
            return l2i_mask(self.nmf, H, relevance, self.relevance_threshold, self.domain,
                            self.classifier.frontend)
