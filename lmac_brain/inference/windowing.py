"""Explaining a signal of any length with an explainer trained on fixed-length clips.

One STFT of the whole signal, the classifier and the explainer on windows of the classifier's
clip length (50% overlap), the window masks blended with a taper into one mask on the whole
STFT. No seams: the mask is a smooth blend and the signal is never cut (an all-ones mask gives
back the input).
"""

from dataclasses import dataclass, field

import torch

from lmac_brain.audio.listenable import stft_mask
from lmac_brain.audio.reading import fit_length


def window_starts(n_frames, window):
    """First frame of each window: 50% overlap, the last window ending on the last frame.

    Example
    -------
    >>> window_starts(10, 4)
    [0, 2, 4, 6]
    >>> window_starts(11, 4)
    [0, 2, 4, 6, 7]
    >>> window_starts(3, 4)
    [0]
    """
    if n_frames <= window:
        return [0]
    hop = max(1, window // 2)
    starts = list(range(0, n_frames - window + 1, hop))
    if starts[-1] != n_frames - window:
        starts.append(n_frames - window)
    return starts


def window_taper(window):
    """Blending weights over a window's frames: a Hann shape that is never 0.

    With 50% overlap consecutive tapers add up to 1; the stitched mask is divided by the sum of
    the weights anyway, so any overlap gives a weighted average of the window masks.

    Example
    -------
    >>> taper = window_taper(4)
    >>> bool((taper > 0).all()), torch.allclose(taper[:2] + taper[2:], torch.ones(2))
    (True, True)
    """
    return torch.sin(torch.pi * (torch.arange(window, dtype=torch.float32) + 0.5) / window) ** 2


@dataclass
class Explanation:
    """The explanation of one signal, on the STFT grid of the whole signal.

    ``wav`` is ``[samples]``; ``mag``, ``phase`` and ``mask`` are ``[frames, freq]``;
    ``probs`` is the mean of the windows' class probabilities and ``target`` its argmax.
    """

    wav: torch.Tensor
    mag: torch.Tensor
    phase: torch.Tensor
    mask: torch.Tensor
    probs: torch.Tensor
    target: int
    n_windows: int
    window_probs: torch.Tensor = field(repr=False, default=None)


def _device_of(module):
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


def _analyse(wav, classifier, clip_samples):
    """``(mag, phase, n_frames, window, starts)``: one STFT of the whole signal and its windows."""
    frontend = classifier.frontend
    length = int(wav.shape[-1])
    analysed = max(length, clip_samples)
    # Zeros past the end (what centred frames read anyway) give the frames the inverse STFT
    # needs to rebuild the last samples whatever the hop, window and n_fft.
    tail = frontend.win_length // 2 + frontend.hop_length
    padded = fit_length(wav.float(), analysed + tail).to(_device_of(classifier))
    with torch.no_grad():
        mag, phase = frontend.magnitude_phase(padded.unsqueeze(0))
    n_frames = frontend.n_frames(analysed)  # the frames training would see
    window = min(frontend.n_frames(clip_samples), n_frames)
    return mag[0], phase[0], n_frames, window, window_starts(n_frames, window)


def _window_probs(classifier, domain, domain_input, chunks):
    with torch.no_grad():
        return torch.cat([
            classifier.logits_of_input(domain_input(chunk), domain).softmax(dim=-1) for chunk in chunks
        ])


def classify_signal(wav, classifier, clip_samples, batch_size=8, domain="stft"):
    """The class probabilities :func:`explain_signal` decides on (the mean over the windows of
    the ``domain`` input), without explaining.

    Example
    -------
    >>> from lmac_brain.audio.spectral import SpectralFrontEnd
    >>> from lmac_brain.models.classifier import AudioClassifier
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> fe = SpectralFrontEnd(16000, 256, 16, 16, n_mels=32)
    >>> clf = AudioClassifier(fe, Cnn14(32, base_channels=4), torch.nn.Linear(128, 3)).eval()
    >>> probs = classify_signal(torch.randn(40000), clf, 16000)
    >>> probs.shape, bool(torch.isclose(probs.sum(), torch.tensor(1.0)))
    (torch.Size([3]), True)
    """
    mag, _, _, window, starts = _analyse(wav, classifier, clip_samples)
    chunks = [starts[i:i + batch_size] for i in range(0, len(starts), batch_size)]

    def domain_input(chunk):
        return classifier.domain_input(torch.stack([mag[s:s + window] for s in chunk]), domain)

    return _window_probs(classifier, domain, domain_input, chunks).mean(dim=0).cpu()


def explain_signal(wav, classifier, explainer, clip_samples, batch_size=8):
    """Explain ``wav`` (``[samples]``, at the classifier's rate, any length) with ``explainer``.

    A signal shorter than ``clip_samples`` is zero-padded to it, as in training, and the
    outputs are cropped back. A longer one is cut, on the frames of ONE STFT of the whole
    signal, into windows of the clip's frame count (:func:`window_starts`); the classifier
    gives each window's probabilities, their mean is the signal's decision ``c``, the explainer
    gives each window's mask (explaining ``c``; L-MAC explains each window's own decision) and
    the masks are blended with :func:`window_taper` weights.

    Arguments
    ---------
    wav : torch.Tensor
        ``[samples]`` mono signal.
    classifier : lmac_brain.models.classifier.AudioClassifier
        The frozen classifier (its device is used).
    explainer : lmac_brain.explainers.Explainer
        Any explainer built for ``classifier``.
    clip_samples : int
        The classifier's clip length in samples (the window length).
    batch_size : int
        Windows per classifier/explainer call.

    Returns
    -------
    Explanation
    """
    frontend = classifier.frontend
    device = _device_of(classifier)
    domain = explainer.domain
    length = int(wav.shape[-1])
    mag, phase, n_frames, window, starts = _analyse(wav, classifier, clip_samples)
    chunks = [starts[i:i + batch_size] for i in range(0, len(starts), batch_size)]

    def domain_input(chunk):
        return classifier.domain_input(torch.stack([mag[s:s + window] for s in chunk]), domain)

    window_probs = _window_probs(classifier, domain, domain_input, chunks)
    probs = window_probs.mean(dim=0)
    target = int(probs.argmax())

    taper = window_taper(window).to(device)
    total = torch.zeros_like(mag[:n_frames])
    weight = torch.zeros(n_frames, device=device)
    for chunk in chunks:
        x = domain_input(chunk)
        masks = explainer(x, target if explainer.uses_target else None)
        masks = stft_mask(frontend, masks, domain)
        for start, mask in zip(chunk, masks):
            total[start:start + window] += taper[:, None] * mask
            weight[start:start + window] += taper
    mask = (total / weight[:, None]).clamp(0.0, 1.0)
    # Frames whose window touches the signal; those past the analysed ones repeat the last mask.
    keep = min(mag.shape[0], frontend.n_frames(length + frontend.win_length // 2))
    if keep > n_frames:
        mask = torch.cat([mask, mask[-1:].expand(keep - n_frames, -1)])
    return Explanation(
        wav=wav.detach().float().cpu(),
        mag=mag[:keep],
        phase=phase[:keep],
        mask=mask[:keep],
        probs=probs.cpu(),
        target=target,
        n_windows=len(starts),
        window_probs=window_probs.cpu(),
    )
