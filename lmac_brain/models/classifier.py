"""The audio classifier being explained: spectral front-end + embedding model + linear head.

Every interpreter, metric and sanity check talks to the classifier through this wrapper, and
through the two masking domains it defines:

- ``"stft"``: the mask multiplies the STFT magnitude ``|X|`` (the paper's "STFT-Mel" rows);
- ``"mel"``: the mask multiplies the mel magnitude before ``log1p`` (the "Mel" rows).
"""

import torch
from torch import nn

from lmac_brain.errors import ConfigurationError

DOMAINS = ("stft", "mel")


def check_domain(domain):
    """Raise a clear error for an unknown masking domain."""
    if domain not in DOMAINS:
        raise ConfigurationError(f"Unknown domain {domain!r}: choose one of {DOMAINS}")
    return domain


class AudioClassifier(nn.Module):
    """Wraps ``frontend``, ``embedding_model`` (CNN14) and ``head`` (``nn.Linear``).

    Arguments
    ---------
    frontend : lmac_brain.audio.spectral.SpectralFrontEnd
        Owns the STFT and feature settings.
    embedding_model : lmac_brain.models.cnn14.Cnn14
        Maps ``[batch, time, mel]`` features to ``[batch, 1, emb]``.
    head : nn.Module
        Maps the embedding to class logits.

    Example
    -------
    >>> from lmac_brain.audio.spectral import SpectralFrontEnd
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> fe = SpectralFrontEnd(16000, 512, 16, 32, n_mels=40)
    >>> clf = AudioClassifier(fe, Cnn14(40, base_channels=4), nn.Linear(128, 5)).eval()
    >>> wav = torch.randn(2, 8000)
    >>> clf(wav).shape
    torch.Size([2, 5])
    >>> mag, _ = fe.magnitude_phase(wav)
    >>> torch.allclose(clf.logits_of_input(mag, "stft"), clf(wav), atol=1e-5)
    True
    """

    def __init__(self, frontend, embedding_model, head):
        super().__init__()
        self.frontend = frontend
        self.embedding_model = embedding_model
        self.head = head

    def logits(self, feats, return_hidden=False, shallow=False):
        """Logits of ``[batch, time, mel]`` features, and the hidden representations if asked.

        ``shallow`` asks the embedding model for its shallow blocks too (see ``Cnn14.forward``);
        it is passed on only when set, so embedding models without it keep working.
        """
        if return_hidden:
            extra = {"shallow": True} if shallow else {}
            emb, hidden = self.embedding_model(feats, return_hidden=True, **extra)
            return self.head(emb.squeeze(1)), hidden
        return self.head(self.embedding_model(feats).squeeze(1))

    def forward(self, wav):
        """Logits of a ``[batch, samples]`` waveform."""
        mag, _ = self.frontend.magnitude_phase(wav)
        return self.logits(self.frontend.features(mag))

    def domain_input(self, mag, domain):
        """The representation a mask of ``domain`` multiplies, computed from ``|X|``."""
        if check_domain(domain) == "stft":
            return mag
        return self.frontend.mel(mag)

    def features_of_input(self, x, domain):
        """Classifier features of a (possibly masked) ``domain`` representation."""
        if check_domain(domain) == "stft":
            return self.frontend.features(x)
        return torch.log1p(x)

    def logits_of_input(self, x, domain, return_hidden=False, shallow=False):
        """Logits of a (possibly masked) ``domain`` representation."""
        return self.logits(self.features_of_input(x, domain), return_hidden, shallow)
