"""The L-MAC mask decoder: classifier representations -> mask of exactly the input's shape.

Four variants (``build_decoder(..., variant=...)``), all decoders of the frozen CNN14's hidden
representations (paper Fig. 5), so an ablation can compare them:

- ``"coarse"`` (``MaskDecoder``): the four deepest CNN14 blocks are projected to a common width
  and merged from the coarsest up; the mask logits are computed on the finest of them (1/8 of the
  input grid) and upsampled bilinearly to ``(time, n_mels)``; an STFT-domain mask then reads the
  mel grid through the fixed normalised filterbank. Cheap, but bilinear interpolation of one
  coarse logit map cannot create detail: its logits have a numerical rank of about ten and a
  time resolution of 8 frames.
- ``"fullres"`` (``FullResMaskDecoder``): the same merge, but with learned upsampling
  (transposed convolutions) at every step and three more stages (1/4, 1/2, full resolution)
  whose channels narrow as the resolution grows; for an STFT mask the full-resolution feature
  maps are spread over the linear-frequency bins by the (fixed) normalised filterbank and the
  last convolutions run on that grid, so the logits have no rank ceiling.
- ``"fullres_shallow"``: ``"fullres"`` with the outputs of CNN14's ``conv_block2`` and
  ``conv_block1`` (1/4 and 1/2 of the input grid) as two more skips, so detail finer than 1/8
  is read from the classifier instead of only being decoded. Those two blocks follow the
  input's energy whatever the classifier decides (the cascading randomization test shows it).
- ``"transposed_stack"`` (``TransposedStackMaskDecoder``): the authors' architecture (SpeechBrain's
  ``CNN14PSI_stft``): a stack of stride-2 transposed convolutions with ReLUs and no
  normalisation, each deep block entering through its own transposed convolution, up to the full
  grid; its width is a setting (the authors': the embedding size, 2048).

Every variant outputs EXACTLY ``n_fft // 2 + 1`` (or ``n_mels``) bins and as many frames as the
input, whatever the clip length, width or n_fft.
"""

import torch
import torch.nn.functional as F
from torch import nn

from lmac_brain.audio.masking import check_mask_space
from lmac_brain.audio.spectral import mel_to_linear_weights


class _MaskDecoderBase(nn.Module):
    """What every decoder shares: the mask is the sigmoid of :meth:`logits`; the space the mask
    is meant for (``lmac_brain.audio.masking``) and whether it covers the linear-frequency bins are
    saved in the state dict, so a saved decoder is always applied the way it was trained."""

    def _record_mask_space(self, mask_space):
        self.register_buffer("log1p_space", torch.tensor(check_mask_space(mask_space) == "log1p"))

    def _record_output_grid(self, mel_matrix):
        """The fixed mel-to-linear map of an STFT mask (``None``: a Mel-domain mask).

        Fixed, not learned: the classifier sees ``|X|`` only through the mel filterbank, so the
        loss says nothing about how a mask varies across the bins of one band except through
        ``|X|`` itself; free per-bin weights (each moved at the learning rate by Adam) drifted
        into clip-independent per-bin gains, i.e. horizontal stripes. Detail across bins comes
        from the layers after it.
        """
        if mel_matrix is None:
            self.to_linear = None
        else:
            self.register_buffer("to_linear", mel_to_linear_weights(mel_matrix), persistent=False)
        self.register_buffer("linear_output", torch.tensor(mel_matrix is not None))

    def forward(self, hidden, n_frames):
        """Mask ``[batch, n_frames, n_freq or n_mels]`` from ``hidden`` (deepest first)."""
        return torch.sigmoid(self.logits(hidden, n_frames))

    @property
    def mask_space(self):
        """``"linear"`` (the mask multiplies ``|X|``) or ``"log1p"`` (it multiplies ``log1p|X|``)."""
        return "log1p" if bool(self.log1p_space) else "linear"


def _conv_block(channels_in, channels_out):
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(),
    )


class MaskDecoder(_MaskDecoderBase):
    """Decode CNN14 hidden representations into a mask in ``[0, 1]`` (variant ``"coarse"``).

    The logits are computed on the 1/8 grid and upsampled; an STFT mask reads them through the
    fixed normalised filterbank. (Its first version learned that map and a per-bin bias: both
    drifted into clip-independent per-bin gains, the same horizontal stripes on every mask.)

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

    variant = "coarse"
    uses_shallow = False  # reads the four deepest representations only

    def __init__(self, hidden_channels, n_mels, mel_matrix=None, width=64, out_width=None,
                 mask_space="linear"):
        super().__init__()
        self._record_mask_space(mask_space)
        # The full-resolution convolution dominates the decoder's cost: keep it narrow.
        out_width = out_width or max(width // 4, 4)
        self.n_mels = n_mels
        self.project = nn.ModuleList(nn.Conv2d(c, width, 1) for c in hidden_channels)
        self.merge = nn.ModuleList(_conv_block(width, width) for _ in hidden_channels[2:])
        # The finest representation is at 1/8 of the input grid, so convolutions at full
        # resolution would add cost (they dominated it) but no information: the logits are
        # computed on that grid and only they are upsampled.
        self.refine = nn.Sequential(_conv_block(width, out_width), nn.Conv2d(out_width, 1, 1))
        self._record_output_grid(mel_matrix)

    def logits(self, hidden, n_frames):
        """The mask before its sigmoid."""
        deepest, second, *finer = hidden
        x = self.project[0](deepest) + _resize(self.project[1](second), deepest.shape[-2:])
        for project, merge, h in zip(self.project[2:], self.merge, finer):
            x = merge(_resize(x, h.shape[-2:]) + project(h))
        logits = _resize(self.refine(x), (n_frames, self.n_mels)).squeeze(1)
        if self.to_linear is not None:
            logits = torch.matmul(logits, self.to_linear)
        return logits


def _resize(x, size):
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


class FullResMaskDecoder(_MaskDecoderBase):
    """Decode CNN14 hidden representations into a full-resolution mask in ``[0, 1]``.

    Variants ``"fullres"`` (``shallow_channels=None``) and ``"fullres_shallow"``. The four
    deepest representations (1/32, 1/32, 1/16, 1/8 of the input grid) are merged as in the
    ``"coarse"`` decoder, then three more stages bring the map to 1/4, 1/2 and the full
    ``(time, n_mels)`` grid. Each stage is a 2x2 stride-2 transposed convolution (learned
    upsampling: the coarse cell decides what its four children look like), the sum with the
    projected skip of that grid when there is one, and a 3x3 convolution block. Channels narrow
    from ``width`` at 1/8 to ``out_width`` at full resolution, so the stages on the big grids
    stay cheap.

    For an STFT-domain mask the full-resolution feature maps (``out_width`` channels, not one
    logit map) are carried to the ``n_fft // 2 + 1`` linear bins by the normalised filterbank
    (each bin: the average of the bands covering it; a fixed map, see ``__init__``), and the last
    convolution block (with its ReLU) and the 1x1 output convolution run on the linear grid:
    the logits are a nonlinear function of several maps, not a product through an
    ``n_mels``-wide bottleneck per frame, so their rank is not capped at ``n_mels``.

    Arguments
    ---------
    hidden_channels : list of int
        Channels of the four deepest representations, deepest first (``Cnn14.hidden_channels``).
    n_mels : int
        Mel bands of the classifier features.
    mel_matrix : torch.Tensor or None
        ``[n_freq, n_mels]`` filterbank (``SpectralFrontEnd.mel_matrix``) for an STFT-domain
        mask; ``None`` gives a Mel-domain mask.
    width : int
        Channels of the merged deep representations (grids 1/32 to 1/8).
    out_width : int, optional
        Channels at full resolution (default ``width // 8``, at least 4); the 1/4 and 1/2
        stages get ``width // 2`` and ``width // 4`` (at least ``out_width``).
    shallow_channels : list of int, optional
        Channels of ``conv_block2`` and ``conv_block1`` (``Cnn14.shallow_channels``): given,
        the decoder expects them as ``hidden[4:6]`` (``Cnn14(..., return_hidden=True,
        shallow=True)``) and adds them as skips at 1/4 and 1/2.

    Example
    -------
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> cnn = Cnn14(mel_bins=40, base_channels=4).eval()
    >>> _, hidden = cnn(torch.rand(2, 97, 40), return_hidden=True)
    >>> decoder = FullResMaskDecoder(cnn.hidden_channels, 40, mel_matrix=torch.rand(257, 40))
    >>> decoder(hidden, n_frames=97).shape
    torch.Size([2, 97, 257])
    >>> FullResMaskDecoder(cnn.hidden_channels, 40)(hidden, n_frames=97).shape
    torch.Size([2, 97, 40])

    With the shallow skips, the classifier is asked for its two shallowest blocks too:

    >>> decoder = FullResMaskDecoder(cnn.hidden_channels, 40, torch.rand(257, 40),
    ...                              shallow_channels=cnn.shallow_channels)
    >>> decoder.uses_shallow
    True
    >>> _, hidden = cnn(torch.rand(2, 97, 40), return_hidden=True, shallow=decoder.uses_shallow)
    >>> [tuple(h.shape[2:]) for h in hidden]
    [(3, 1), (3, 1), (6, 2), (12, 5), (24, 10), (48, 20)]
    >>> decoder(hidden, n_frames=97).shape
    torch.Size([2, 97, 257])
    """

    def __init__(self, hidden_channels, n_mels, mel_matrix=None, width=64, out_width=None,
                 shallow_channels=None, mask_space="linear"):
        super().__init__()
        self._record_mask_space(mask_space)
        if len(hidden_channels) != 4:
            raise ValueError(f"hidden_channels: the four deepest blocks, got {list(hidden_channels)}")
        out_width = out_width or max(width // 8, 4)
        self.n_mels = n_mels
        self.uses_shallow = shallow_channels is not None
        self.variant = "fullres_shallow" if self.uses_shallow else "fullres"
        skips = list(hidden_channels) + list(shallow_channels or [])
        # Channels on the grids 1/32 (two blocks), 1/16, 1/8, 1/4, 1/2, 1.
        grid_width = [width] * 4 + [max(width // 2, out_width), max(width // 4, out_width), out_width]
        self.project = nn.ModuleList(nn.Conv2d(c, w, 1) for c, w in zip(skips, grid_width))
        # up[i] takes grid_width[i + 1] channels to grid_width[i + 2] (the 1/32 -> 1/16 step first).
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
            for c_in, c_out in zip(grid_width[1:-1], grid_width[2:])
        )
        self.merge = nn.ModuleList(_conv_block(c, c) for c in grid_width[2:])
        # The last block runs on the output grid (the linear-frequency one for an STFT mask).
        self.head = _conv_block(out_width, out_width)
        self.out = nn.Conv2d(out_width, 1, 1)
        self._record_output_grid(mel_matrix)
        _he_init(self)

    def logits(self, hidden, n_frames):
        """The mask before its sigmoid."""
        n_skips = len(self.project)
        if len(hidden) < n_skips:
            raise ValueError(
                f"The {self.variant!r} decoder reads {n_skips} representations, got {len(hidden)}: "
                "call the classifier with shallow=decoder.uses_shallow"
            )
        x = self.project[0](hidden[0]) + self.project[1](hidden[1])
        # AvgPool2d floors, so the grid after k poolings is (n >> k): 1/16, 1/8, 1/4, 1/2, 1.
        for k, (up, merge) in enumerate(zip(self.up, self.merge)):
            level = 4 - k
            size = (n_frames >> level, self.n_mels >> level)
            x = _upsample_to(up(x), size)
            if k + 2 < n_skips:
                x = x + self.project[k + 2](hidden[k + 2])
            x = merge(x)
        if self.to_linear is not None:
            # Feature maps, not logits, cross to the linear grid: [B, C, T, n_mels] -> [.., n_freq].
            # Channels-last: the narrow 3x3 convolution on this, the largest grid, runs ~1.4x
            # faster (forward + backward, CPU) in that layout.
            x = torch.matmul(x, self.to_linear).contiguous(memory_format=torch.channels_last)
        x = self.head(x)
        # The 1x1 convolution to one channel as a weighted sum of the channels: on CPU the same
        # arithmetic runs ~3x faster than as a convolution on a grid this size.
        return torch.einsum("bctf,c->btf", x, self.out.weight.flatten()) + self.out.bias


def _he_init(module):
    """He initialisation with zero biases for every (transposed) convolution of ``module``.

    PyTorch's default shrinks the signal about 2.5x per conv + ReLU, so through six or seven
    stages an untrained decoder's logits would be its output bias plus a ~1e-3 ripple, i.e. a
    flat mask; with this they start with the spread of the classifier's representations.
    """
    for m in module.modules():
        if isinstance(m, nn.ConvTranspose2d):
            # Each output of a stride-s transposed convolution gets kernel/stride taps per channel.
            fan_in = m.in_channels * m.weight[0, 0].numel() / (m.stride[0] * m.stride[1])
        elif isinstance(m, nn.Conv2d):
            fan_in = m.weight[0].numel()
        else:
            continue
        nn.init.normal_(m.weight, std=(2.0 / fan_in) ** 0.5)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _double(channels_in, channels_out):
    """A 3x3 transposed convolution of stride 2 that exactly doubles both axes."""
    return nn.ConvTranspose2d(channels_in, channels_out, 3, stride=2, padding=1, output_padding=1)


class TransposedStackMaskDecoder(_MaskDecoderBase):
    """The authors' decoder architecture (variant ``"transposed_stack"``), width a setting.

    As SpeechBrain's ``CNN14PSI_stft``: every deep block enters through its own stride-2
    transposed convolution and ReLU and is added to the running map, which is doubled by a
    transposed convolution and ReLU at each step, with no normalisation anywhere::

        h = relu(T(block6)) + relu(T(block5))          # 1/32 -> 1/16
        h = relu(T(h)) + relu(T(block4))               # -> 1/8
        h = relu(T(h)) + relu(T(block3))               # -> 1/4
        h = T(relu(T(h)))                              # -> 1/2 -> 1 (no ReLU before the output)
        logits = T_out(h)                              # one channel, on the output grid

    Two differences from the authors', both because their layer sizes are fixed for one set-up
    (n_fft 1024, 80 mels, 5 s): the strides double the CNN14 grid exactly (any length, n_fft or
    n_mels; an odd size gets its last row repeated), and an STFT mask crosses from the mel grid
    to the linear-frequency bins through the fixed normalised filterbank before its output
    layer, where the authors' last transposed convolution stretches the mel axis linearly by 4
    (which puts each mel band over the wrong bins). Its 3x3 kernels keep the authors' size; at
    width 2048 (theirs) the decoder has hundreds of millions of parameters, hence the setting.

    Arguments
    ---------
    hidden_channels : list of int
        Channels of blocks 6, 5, 4, 3 (``Cnn14.hidden_channels``).
    n_mels : int
        Mel bands of the classifier features.
    mel_matrix : torch.Tensor or None
        ``[n_freq, n_mels]`` filterbank for an STFT-domain mask; ``None``: a Mel-domain mask.
    width : int
        Channels at 1/16 and 1/8; 1/4, 1/2 and full resolution get ``width // 2``, ``// 4``
        and ``out_width``.
    out_width : int, optional
        Channels at full resolution (default ``width // 8``, at least 4).

    Example
    -------
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> cnn = Cnn14(mel_bins=40, base_channels=4).eval()
    >>> _, hidden = cnn(torch.rand(2, 97, 40), return_hidden=True)
    >>> decoder = TransposedStackMaskDecoder(cnn.hidden_channels, 40, mel_matrix=torch.rand(257, 40))
    >>> decoder(hidden, n_frames=97).shape
    torch.Size([2, 97, 257])
    >>> TransposedStackMaskDecoder(cnn.hidden_channels, 40)(hidden, n_frames=97).shape
    torch.Size([2, 97, 40])
    """

    variant = "transposed_stack"
    uses_shallow = False

    def __init__(self, hidden_channels, n_mels, mel_matrix=None, width=64, out_width=None,
                 mask_space="linear"):
        super().__init__()
        self._record_mask_space(mask_space)
        if len(hidden_channels) != 4:
            raise ValueError(f"hidden_channels: the four deepest blocks, got {list(hidden_channels)}")
        out_width = out_width or max(width // 8, 4)
        c6, c5, c4, c3 = hidden_channels
        half, quarter = max(width // 2, out_width), max(width // 4, out_width)
        self.n_mels = n_mels
        self.from_block6 = _double(c6, width)
        self.from_block5 = _double(c5, width)
        self.up16 = _double(width, width)
        self.from_block4 = _double(c4, width)
        self.up8 = _double(width, half)
        self.from_block3 = _double(c3, half)
        self.up4 = _double(half, quarter)
        self.up2 = _double(quarter, out_width)
        self.out = nn.ConvTranspose2d(out_width, 1, 3, padding=1)
        self._record_output_grid(mel_matrix)
        _he_init(self)

    def logits(self, hidden, n_frames):
        """The mask before its sigmoid."""
        block6, block5, block4, block3 = hidden[:4]

        def grid(level):  # AvgPool2d floors: the grid after `level` poolings
            return (n_frames >> level, self.n_mels >> level)

        h = F.relu(self.from_block6(block6)) + F.relu(self.from_block5(block5))
        h = _upsample_to(h, grid(4))
        h = _upsample_to(F.relu(self.up16(h)), grid(3)) + _upsample_to(F.relu(self.from_block4(block4)), grid(3))
        h = _upsample_to(F.relu(self.up8(h)), grid(2)) + _upsample_to(F.relu(self.from_block3(block3)), grid(2))
        h = _upsample_to(F.relu(self.up4(h)), grid(1))
        h = _upsample_to(self.up2(h), grid(0))
        if self.to_linear is not None:
            h = torch.matmul(h, self.to_linear)
        return self.out(h).squeeze(1)


def _upsample_to(x, size):
    """Pad the (exactly doubled) output of a transposed convolution to ``size``.

    Pooling floored odd sizes, so the target is the doubled grid or one row/column more: the
    missing edge repeats its neighbour (the next 3x3 convolution smooths it in).
    """
    pad_t, pad_f = size[0] - x.shape[-2], size[1] - x.shape[-1]
    if pad_t or pad_f:
        x = F.pad(x, (0, pad_f, 0, pad_t), mode="replicate")
    return x


VARIANTS = ("coarse", "fullres", "fullres_shallow", "transposed_stack")


def build_decoder(embedding_model, frontend, domain, width=64, out_width=None, variant="fullres",
                  mask_space="linear"):
    """A decoder sized for ``embedding_model`` and masking ``domain`` ("stft" | "mel").

    ``variant`` is one of ``VARIANTS`` (see the module docstring); ``"fullres_shallow"`` needs
    an embedding model with ``shallow_channels`` (``Cnn14``). ``mask_space`` (``"linear"`` or
    ``"log1p"``, see ``lmac_brain.audio.masking``) is the space its masks are meant for; it is
    saved with the weights.

    Example
    -------
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> from lmac_brain.audio.spectral import SpectralFrontEnd
    >>> fe = SpectralFrontEnd(16000, 512, 16, 32, n_mels=40)
    >>> cnn = Cnn14(40, base_channels=4).eval()
    >>> decoder = build_decoder(cnn, fe, "stft", width=16, variant="fullres_shallow")
    >>> mag, _ = fe.magnitude_phase(torch.randn(2, 16000))
    >>> _, hidden = cnn(fe.features(mag), return_hidden=True, shallow=decoder.uses_shallow)
    >>> decoder(hidden, mag.shape[1]).shape == mag.shape
    True
    """
    from lmac_brain.models.classifier import check_domain

    mel_matrix = frontend.mel_matrix if check_domain(domain) == "stft" else None
    if variant in ("coarse", "transposed_stack"):
        decoder_class = MaskDecoder if variant == "coarse" else TransposedStackMaskDecoder
        return decoder_class(
            embedding_model.hidden_channels,
            frontend.n_mels,
            mel_matrix=mel_matrix,
            width=width,
            out_width=out_width,
            mask_space=mask_space,
        )
    if variant not in VARIANTS:
        raise ValueError(f"Unknown decoder variant {variant!r}: choose one of {VARIANTS}")
    shallow = embedding_model.shallow_channels if variant == "fullres_shallow" else None
    return FullResMaskDecoder(
        embedding_model.hidden_channels,
        frontend.n_mels,
        mel_matrix=mel_matrix,
        width=width,
        out_width=out_width,
        shallow_channels=shallow,
        mask_space=mask_space,
    )


def decoder_domain(state):
    """The domain ("stft" | "mel") a decoder state dict was trained to mask."""
    return "stft" if bool(state.get("linear_output", False)) else "mel"


def decoder_settings(state):
    """``build_decoder`` keyword arguments (width, out_width, variant, mask_space) of a decoder
    state dict (a state saved before the mask space was recorded is a ``linear`` one).

    Raises ``ValueError`` for a state dict of no decoder variant.
    """
    if not isinstance(state, dict):
        raise ValueError("not a state dict")
    space = {"mask_space": "log1p" if bool(state.get("log1p_space", False)) else "linear"}
    if "from_block6.weight" in state and "out.weight" in state:  # transposed convolutions: [in, out, kh, kw]
        return {"width": state["from_block6.weight"].shape[1], "out_width": state["out.weight"].shape[0],
                "variant": "transposed_stack", **space}
    if "project.0.weight" not in state:
        raise ValueError("no decoder variant has these weights")
    width = state["project.0.weight"].shape[0]
    if "refine.0.0.weight" in state:
        return {"width": width, "out_width": state["refine.0.0.weight"].shape[0], "variant": "coarse", **space}
    if "head.0.weight" not in state:
        raise ValueError("no decoder variant has these weights")
    return {
        "width": width,
        "out_width": state["head.0.weight"].shape[0],
        "variant": "fullres_shallow" if "project.4.weight" in state else "fullres",
        **space,
    }
