"""L2I, Listen to Interpret (Parekh et al., 2022), as adapted in SpeechBrain's ESC-50 recipe.

A decoder ``Psi`` maps the frozen classifier's hidden representations to the time activations
``H`` (``[batch, K, time]``, non-negative) of a fixed NMF dictionary ``W`` (:mod:`lmac_brain.models.nmf`),
and a linear head ``Theta`` on the time-pooled activations must reproduce the classifier's
decision. The interpretation for class ``c`` keeps the components that ``Theta`` finds relevant
for ``c``:

    relevance_k = theta_weight[c, k] * mean_t H[k, t],  normalised by its maximum over k
    mask = (W_rel H_rel) / (W H + eps), clipped to [0, 1]          (domain "stft")
    mask = mel(W_rel H_rel) / (mel(W H) + eps), clipped to [0, 1]  (domain "mel")

with ``rel`` the components whose relevance reaches the threshold ``RT`` (paper: 0.2 to 0.8).
The components kept by a higher ``RT`` are a subset of those kept by a lower one, so the mask
can only shrink as ``RT`` grows.
"""

import torch
import torch.nn.functional as F
from torch import nn

from lmac_brain.models.classifier import check_domain

MASK_EPS = 1e-8


class Psi(nn.Module):
    """Classifier representations -> non-negative NMF activations on the input's frame grid.

    Each representation (deepest first, ``[batch, C, t, f]``) is averaged over frequency and
    projected to ``width`` channels; they are merged from the coarsest up, each merge
    interpolated to the next one's time grid, then to exactly ``n_frames`` frames, refined by a
    temporal convolution and mapped to ``n_components`` activations through a softplus.

    Arguments
    ---------
    hidden_channels : list of int
        Channels of the representations, deepest first (``Cnn14.hidden_channels``).
    n_components : int
        NMF dictionary size ``K``.
    width : int
        Channels inside the decoder.

    Example
    -------
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> cnn = Cnn14(mel_bins=40, base_channels=4).eval()
    >>> _, hidden = cnn(torch.rand(2, 97, 40), return_hidden=True)
    >>> psi = Psi(cnn.hidden_channels, n_components=10, width=16)
    >>> H = psi(hidden, n_frames=97)
    >>> H.shape, bool((H >= 0).all())
    (torch.Size([2, 10, 97]), True)
    """

    def __init__(self, hidden_channels, n_components, width=128):
        super().__init__()
        self.project = nn.ModuleList(nn.Conv1d(c, width, 1) for c in hidden_channels)
        self.merge = nn.ModuleList(_block(width, width) for _ in hidden_channels[2:])
        self.refine = _block(width, width)
        self.out = nn.Conv1d(width, n_components, 1)

    def forward(self, hidden, n_frames):
        """``H`` ``[batch, K, n_frames]`` from ``hidden`` (deepest first)."""
        feats = [h.mean(dim=-1) for h in hidden]  # [batch, C, t]
        deepest, second, *finer = feats
        x = self.project[0](deepest) + _resize(self.project[1](second), deepest.shape[-1])
        for project, merge, h in zip(self.project[2:], self.merge, finer):
            x = merge(_resize(x, h.shape[-1]) + project(h))
        x = self.refine(_resize(x, n_frames))
        return F.softplus(self.out(x))


def _block(channels_in, channels_out):
    return nn.Sequential(
        nn.Conv1d(channels_in, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm1d(channels_out),
        nn.ReLU(),
    )


def _resize(x, length):
    if x.shape[-1] == length:
        return x
    return F.interpolate(x, size=length, mode="linear", align_corners=False)


class Theta(nn.Module):
    """Linear classifier on the time-pooled activations.

    Pooling: ``"mean"`` averages over time (any length); ``"attention"`` is the learned pooling
    of SpeechBrain's L2I (``Theta.hard_att``, the authors' code): a bias-free linear map from the
    ``n_frames`` frames of a clip to one value per component. Attention pooling reads exactly
    ``n_frames`` frames: longer activations are cropped, shorter ones zero-padded.

    Arguments
    ---------
    n_components : int
        NMF dictionary size ``K``.
    n_classes : int
        Classes of the classifier being explained.
    pooling : str
        ``"mean"`` or ``"attention"``.
    n_frames : int, optional
        Frames of a clip (needed by ``"attention"``).

    Example
    -------
    >>> theta = Theta(10, 3)
    >>> theta(torch.rand(2, 10, 50)).shape
    torch.Size([2, 3])
    >>> att = Theta(10, 3, pooling="attention", n_frames=50)
    >>> att(torch.rand(2, 10, 50)).shape, att.pool(torch.rand(2, 10, 40)).shape
    (torch.Size([2, 3]), torch.Size([2, 10]))
    """

    POOLINGS = ("mean", "attention")

    def __init__(self, n_components, n_classes, pooling="mean", n_frames=None):
        super().__init__()
        if pooling not in self.POOLINGS:
            raise ValueError(f"pooling must be one of {self.POOLINGS}, got {pooling!r}")
        if pooling == "attention":
            if not n_frames:
                raise ValueError("attention pooling needs n_frames (the frames of a clip)")
            self.attention = nn.Linear(int(n_frames), 1, bias=False)
        self.pooling = pooling
        self.linear = nn.Linear(n_components, n_classes)

    def pool(self, H):
        """Time-pooled activations ``[batch, K]``."""
        if self.pooling == "mean":
            return H.mean(dim=-1)
        n_frames = self.attention.in_features
        if H.shape[-1] != n_frames:
            H = F.pad(H, (0, max(0, n_frames - H.shape[-1])))[..., :n_frames]
        return self.attention(H).squeeze(-1)

    def forward(self, H):
        """Logits ``[batch, n_classes]`` of activations ``[batch, K, time]``."""
        return self.linear(self.pool(H))

    def relevance(self, H, target):
        """Relevance of each component for class ``target``, normalised by its maximum.

        ``relevance_k = weight[c, k] * pool(H)[k]`` divided by its maximum over ``k``; an item
        with no positive relevance gets all-zero (no component kept by any ``RT > 0``).

        Returns
        -------
        torch.Tensor
            ``[batch, K]``, at most 1.
        """
        raw = self.linear.weight[target] * self.pool(H)  # [batch, K]
        peak = raw.amax(dim=1, keepdim=True)
        return torch.where(peak > 0, raw / peak.clamp_min(torch.finfo(raw.dtype).tiny), 0.0)


def build_theta(n_components, n_classes, pooling="mean", frontend=None, signal_length_s=None):
    """A :class:`Theta`; attention pooling is sized for clips of ``signal_length_s`` under ``frontend``.

    Example
    -------
    >>> from lmac_brain.audio.spectral import SpectralFrontEnd
    >>> fe = SpectralFrontEnd(16000, 512, 16, 32, n_mels=40)
    >>> build_theta(8, 3, "attention", fe, 1.0).attention.in_features == fe.n_frames(16000)
    True
    """
    n_frames = None
    if pooling == "attention":
        if frontend is None or signal_length_s is None:
            raise ValueError("attention pooling needs the frontend and the clip length")
        n_frames = frontend.n_frames(round(frontend.sample_rate * signal_length_s))
    return Theta(n_components, n_classes, pooling=pooling, n_frames=n_frames)


def l2i_mask(dictionary, H, relevance, relevance_threshold, domain, frontend=None,
             eps=MASK_EPS):
    """The L2I mask on the grid of ``domain`` (see the module docstring).

    Arguments
    ---------
    dictionary : lmac_brain.models.nmf.NMFDictionary
        The NMF dictionary ``W``.
    H : torch.Tensor
        ``[batch, K, time]`` activations.
    relevance : torch.Tensor
        ``[batch, K]`` normalised relevance (``Theta.relevance``).
    relevance_threshold : float
        ``RT``: components with relevance ``>= RT`` are kept.
    domain : str
        ``"stft"`` (``[batch, time, n_freq]`` mask) or ``"mel"`` (``[batch, time, n_mels]``).
    frontend : lmac_brain.audio.spectral.SpectralFrontEnd, optional
        Needed for ``"mel"`` (its filterbank).
    eps : float
        Guard of the denominator.

    Returns
    -------
    torch.Tensor
        Mask in ``[0, 1]``.

    Example
    -------
    >>> from lmac_brain.models.nmf import NMFDictionary
    >>> d = NMFDictionary(6, 4)
    >>> d.W = torch.rand(6, 4)
    >>> H = torch.rand(2, 4, 5)
    >>> low = l2i_mask(d, H, torch.tensor([[1.0, 0.5, 0.3, -1.0]] * 2), 0.2, "stft")
    >>> high = l2i_mask(d, H, torch.tensor([[1.0, 0.5, 0.3, -1.0]] * 2), 0.6, "stft")
    >>> low.shape, bool((high <= low).all()), bool((low <= 1).all())
    (torch.Size([2, 5, 6]), True, True)
    """
    keep = (relevance >= relevance_threshold).to(H.dtype)
    kept = dictionary.reconstruct(H, keep)
    full = dictionary.reconstruct(H)
    if check_domain(domain) == "mel":
        if frontend is None:
            raise ValueError("A Mel-domain L2I mask needs the classifier's frontend")
        kept, full = frontend.mel(kept), frontend.mel(full)
    return (kept / (full + eps)).clamp(0.0, 1.0)


def build_psi(embedding_model, n_components, width=128):
    """A :class:`Psi` sized for ``embedding_model`` (a ``Cnn14``)."""
    return Psi(embedding_model.hidden_channels, n_components, width=width)
