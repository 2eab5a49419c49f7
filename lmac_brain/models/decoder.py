"""The L-MAC mask decoder: classifier representations -> mask of exactly the input's shape.

U-Net-like (paper Fig. 5): the four deepest CNN14 blocks are projected to a common width,
merged from the coarsest up, each merge upsampled to the next block's grid; the mask logits are
computed on the finest grid and upsampled to the classifier's feature grid ``(time, n_mels)``. An STFT-domain mask then reads the mel grid through
a learnable mel-to-linear map initialised with the normalised filterbank, so every STFT bin
starts as the average of the mel bands covering it and the output has EXACTLY ``n_fft // 2 + 1``
bins and as many frames as the input, whatever the clip length, width or n_fft.
"""

import torch
import torch.nn.functional as F
from torch import nn


def _conv_block(channels_in, channels_out):
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(),
    )


class MaskDecoder(nn.Module):
    """Decode CNN14 hidden representations into a mask in ``[0, 1]``.

    Arguments
    ---------
    hidden_channels : list of int
        Channels of the representations, deepest first (``Cnn14.hidden_channels``).
    n_mels : int
        Mel bands of the classifier features.
    mel_matrix : torch.Tensor or None
        ``[n_freq, n_mels]`` filterbank (``SpectralFrontEnd.mel_matrix``) for an STFT-domain
        mask; ``None`` gives a Mel-domain mask.
    width : int
        Channels inside the decoder.
    out_width : int, optional
        Channels of the last, full-resolution convolution (default ``width // 4``, at least 4).

    Example
    -------
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> cnn = Cnn14(mel_bins=40, base_channels=4).eval()
    >>> _, hidden = cnn(torch.rand(2, 97, 40), return_hidden=True)
    >>> decoder = MaskDecoder(cnn.hidden_channels, 40, mel_matrix=torch.rand(257, 40))
    >>> decoder(hidden, n_frames=97).shape
    torch.Size([2, 97, 257])
    >>> MaskDecoder(cnn.hidden_channels, 40)(hidden, n_frames=97).shape
    torch.Size([2, 97, 40])
    """

    def __init__(self, hidden_channels, n_mels, mel_matrix=None, width=64, out_width=None):
        super().__init__()
        # The full-resolution convolution dominates the decoder's cost: keep it narrow.
        out_width = out_width or max(width // 4, 4)
        self.n_mels = n_mels
        self.project = nn.ModuleList(nn.Conv2d(c, width, 1) for c in hidden_channels)
        self.merge = nn.ModuleList(_conv_block(width, width) for _ in hidden_channels[2:])
        # The finest representation is at 1/8 of the input grid, so convolutions at full
        # resolution would add cost (they dominated it) but no information: the logits are
        # computed on that grid and only they are upsampled.
        self.refine = nn.Sequential(_conv_block(width, out_width), nn.Conv2d(out_width, 1, 1))
        if mel_matrix is None:
            self.to_linear = None
        else:
            weights = mel_matrix.t().clone()  # [n_mels, n_freq]
            weights = weights / weights.sum(dim=0, keepdim=True).clamp_min(1e-8)
            self.to_linear = nn.Parameter(weights)
            self.linear_bias = nn.Parameter(torch.zeros(mel_matrix.shape[0]))

    def forward(self, hidden, n_frames):
        """Mask ``[batch, n_frames, n_freq or n_mels]`` from ``hidden`` (deepest first)."""
        deepest, second, *finer = hidden
        x = self.project[0](deepest) + _resize(self.project[1](second), deepest.shape[-2:])
        for project, merge, h in zip(self.project[2:], self.merge, finer):
            x = merge(_resize(x, h.shape[-2:]) + project(h))
        logits = _resize(self.refine(x), (n_frames, self.n_mels)).squeeze(1)
        if self.to_linear is not None:
            logits = torch.matmul(logits, self.to_linear) + self.linear_bias
        return torch.sigmoid(logits)


def _resize(x, size):
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def build_decoder(embedding_model, frontend, domain, width=64, out_width=None):
    """A ``MaskDecoder`` sized for ``embedding_model`` and masking ``domain`` ("stft" | "mel")."""
    from lmac_brain.models.classifier import check_domain

    mel_matrix = frontend.mel_matrix if check_domain(domain) == "stft" else None
    return MaskDecoder(
        embedding_model.hidden_channels,
        frontend.n_mels,
        mel_matrix=mel_matrix,
        width=width,
        out_width=out_width,
    )
