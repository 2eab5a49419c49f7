"""CNN14 (Kong et al., 2020) with explicit ``nn.ReLU`` modules and a width setting.

The parameter names match ``speechbrain.lobes.models.Cnn14.Cnn14`` so its state dicts (e.g.
``embedding_model.ckpt`` of ``speechbrain/cnn14-esc50``) load unchanged. SpeechBrain's version
calls ``F.relu_``: Captum's GuidedBackprop and GuidedGradCam hook ``nn.ReLU`` modules only and
would silently fall back to plain gradients there, so the activations here are modules.
"""

import torch  # noqa: F401 (the doctests use it)
from torch import nn


class ConvBlock(nn.Module):
    """Two 3x3 conv + norm + ReLU layers followed by average pooling.

    Arguments
    ---------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels.
    norm_type : str
        ``"bn"`` (batch norm), ``"in"`` (instance norm) or ``"ln"`` (one-group norm).
    pool_size : tuple
        Average-pooling kernel over (time, frequency).

    Example
    -------
    >>> block = ConvBlock(1, 8, "bn", pool_size=(2, 2))
    >>> block(torch.rand(2, 1, 10, 6)).shape
    torch.Size([2, 8, 5, 3])
    """

    def __init__(self, in_channels, out_channels, norm_type="bn", pool_size=(2, 2)):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm1 = _norm(norm_type, out_channels)
        self.norm2 = _norm(norm_type, out_channels)
        self.act1 = nn.ReLU()
        self.act2 = nn.ReLU()
        self.pool = nn.AvgPool2d(pool_size)
        for conv in (self.conv1, self.conv2):
            nn.init.xavier_uniform_(conv.weight)

    def forward(self, x):
        """``[batch, in_channels, time, freq]`` -> ``[batch, out_channels, time', freq']``."""
        x = self.act1(self.norm1(self.conv1(x)))
        x = self.act2(self.norm2(self.conv2(x)))
        return self.pool(x)


def _norm(norm_type, channels):
    if norm_type == "bn":
        return nn.BatchNorm2d(channels)
    if norm_type == "in":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=True)
    if norm_type == "ln":
        return nn.GroupNorm(1, channels)
    raise ValueError(f"Unknown norm_type {norm_type!r}: use 'bn', 'in' or 'ln'")


class Cnn14(nn.Module):
    """CNN14 embedding model; ``base_channels=64`` is the paper's (and SpeechBrain's) size.

    Channels per block are ``base * (1, 2, 4, 8, 16)`` and ``emb_dim`` for the sixth block.

    Arguments
    ---------
    mel_bins : int
        Number of mel bands of the input features.
    emb_dim : int
        Embedding size (channels of the last block). Default ``32 * base_channels``.
    base_channels : int
        Width of the first block (64 = paper). Smaller values give a compact CPU model.
    norm_type : str
        ``"bn"``, ``"in"`` or ``"ln"``.
    dropout : float
        Dropout between blocks (training only).

    Example
    -------
    >>> model = Cnn14(mel_bins=40, base_channels=8)
    >>> emb, hidden = model(torch.rand(3, 101, 40), return_hidden=True)
    >>> emb.shape
    torch.Size([3, 1, 256])
    >>> [tuple(h.shape[1:]) for h in hidden]
    [(256, 3, 1), (128, 3, 1), (64, 6, 2), (32, 12, 5)]

    ``shallow=True`` appends the outputs of blocks 2 and 1 (a full-resolution decoder's skips):

    >>> _, hidden = model(torch.rand(3, 101, 40), return_hidden=True, shallow=True)
    >>> [tuple(h.shape[1:]) for h in hidden[4:]], model.shallow_channels
    ([(16, 25, 10), (8, 50, 20)], [16, 8])
    """

    def __init__(self, mel_bins, emb_dim=None, base_channels=64, norm_type="bn", dropout=0.2):
        super().__init__()
        widths = [base_channels * m for m in (1, 2, 4, 8, 16)]
        self.emb_dim = emb_dim or 32 * base_channels
        self.norm0 = _norm(norm_type, mel_bins)
        channels = [1] + widths + [self.emb_dim]
        for i in range(6):
            pool = (1, 1) if i == 5 else (2, 2)
            self.add_module(
                f"conv_block{i + 1}",
                ConvBlock(channels[i], channels[i + 1], norm_type, pool),
            )
        self.dropout = nn.Dropout(dropout)
        if norm_type != "ln":
            nn.init.ones_(self.norm0.weight)
            nn.init.zeros_(self.norm0.bias)

    @property
    def hidden_channels(self):
        """Channels of the hidden representations, deepest first (see ``forward``)."""
        return [
            self.emb_dim,
            self.conv_block5.conv1.out_channels,
            self.conv_block4.conv1.out_channels,
            self.conv_block3.conv1.out_channels,
        ]

    @property
    def shallow_channels(self):
        """Channels of blocks 2 and 1, the representations ``forward(..., shallow=True)`` adds."""
        return [self.conv_block2.conv1.out_channels, self.conv_block1.conv1.out_channels]

    def forward(self, x, return_hidden=False, shallow=False):
        """Embed ``[batch, time, mel]`` features.

        Returns the ``[batch, 1, emb_dim]`` embedding and, with ``return_hidden``, the outputs
        of blocks 6, 5, 4, 3 (deepest first, SpeechBrain's order), each ``[batch, C, t, f]``;
        ``shallow=True`` appends those of blocks 2 and 1 (1/4 and 1/2 of the input grid). It is
        opt-in: the four deepest are what L2I, GradCAM and the ``"old"`` decoder read, and the
        shallow maps are the largest ones to keep.
        """
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if min(x.shape[-2:]) < 32:
            raise ValueError(
                f"CNN14 pools time and frequency by 32: it needs at least 32 frames and 32 mel "
                f"bands, got {tuple(x.shape[-2:])}"
            )
        # Normalise each mel band: BatchNorm over the mel axis put in the channel position.
        x = self.norm0(x.transpose(1, 3)).transpose(1, 3)
        hidden = []
        for i in range(1, 7):
            x = getattr(self, f"conv_block{i}")(x)
            if i >= 3 or (shallow and return_hidden):
                hidden.append(x)
            x = self.dropout(x)
        x = x.mean(dim=3)
        emb = (x.amax(dim=2) + x.mean(dim=2)).unsqueeze(1)
        if return_hidden:
            return emb, hidden[::-1]
        return emb
