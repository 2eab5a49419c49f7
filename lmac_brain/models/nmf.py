"""NMF dictionary learning for L2I (Parekh et al., 2022): ``V ~= W H`` with ``W, H >= 0``.

L2I explains a classifier through the time activations of a fixed non-negative dictionary of
spectral templates. The dictionary ``W`` (``[n_freq, n_components]``) is learned once on the
training set's spectra with Lee & Seung's multiplicative updates for the Euclidean cost,
full-batch but computed over chunks of frames, so memory stays bounded by ``batch_frames``
whatever the number of frames. As in SpeechBrain's L2I recipe, the spectra are compressed with
``log1p(|X|)`` by default (``compression="none"`` keeps ``|X|``).

Frames are stored time-major as everywhere in this project: a spectrum batch is
``[batch, time, freq]`` and activations are ``[batch, n_components, time]``.
"""

import logging

import torch
from torch import nn
from tqdm import tqdm

logger = logging.getLogger(__name__)

COMPRESSIONS = ("log1p", "none")
EPS = 1e-10


def compress(mag, compression="log1p"):
    """The spectrum NMF models: ``log1p(|X|)`` or ``|X|`` itself."""
    if compression not in COMPRESSIONS:
        raise ValueError(f"Unknown compression {compression!r}: choose one of {COMPRESSIONS}")
    return torch.log1p(mag) if compression == "log1p" else mag


class NMFDictionary(nn.Module):
    """A (frozen) non-negative dictionary ``W`` and the spectrum it models.

    ``W`` is a persistent buffer and the compression is kept in the state dict (extra state),
    so a SpeechBrain ``Checkpointer`` saves and restores both.

    Arguments
    ---------
    n_freq : int
        Frequency bins (``n_fft // 2 + 1``).
    n_components : int
        Dictionary size ``K``.
    compression : str
        ``"log1p"`` (SpeechBrain's choice) or ``"none"``.

    Example
    -------
    >>> d = NMFDictionary(5, 3)
    >>> d.W = torch.rand(5, 3)
    >>> H = torch.rand(2, 3, 7)
    >>> d.reconstruct(H).shape
    torch.Size([2, 7, 5])
    """

    def __init__(self, n_freq, n_components, compression="log1p"):
        super().__init__()
        compress(torch.zeros(1), compression)  # validates the name
        self.compression = compression
        self.register_buffer("W", torch.zeros(n_freq, n_components))

    @property
    def n_components(self):
        """Number of dictionary atoms ``K``."""
        return self.W.shape[1]

    @property
    def is_learned(self):
        """Whether ``W`` holds a learned dictionary (a fresh module holds zeros)."""
        return bool(self.W.abs().sum() > 0)

    def get_extra_state(self):
        return {"compression": self.compression}

    def set_extra_state(self, state):
        self.compression = state["compression"]

    def spectrum(self, mag):
        """The modelled spectrum of a ``[batch, time, freq]`` STFT magnitude."""
        return compress(mag, self.compression)

    def reconstruct(self, H, components=None):
        """``(W H)`` time-major: ``[batch, time, freq]`` from ``H`` ``[batch, K, time]``.

        ``components`` (``[batch, K]`` weights, e.g. a 0/1 selection) scales each atom.
        """
        if components is not None:
            H = H * components.unsqueeze(-1)
        return torch.einsum("fk,bkt->btf", self.W, H)

    @torch.no_grad()
    def activations(self, V, n_iter=100, seed=0):
        """Non-negative ``H`` (``[batch, K, time]``) with ``W H ~= V`` for ``W`` fixed.

        ``V`` is a ``[batch, time, freq]`` spectrum (already compressed).
        """
        frames = V.reshape(-1, V.shape[-1]).t()  # [F, N]
        generator = torch.Generator().manual_seed(seed)
        H = torch.rand(self.n_components, frames.shape[1], generator=generator).to(V)
        WtV, WtW = self.W.t() @ frames, self.W.t() @ self.W
        for _ in range(n_iter):
            H = H * WtV / (WtW @ H + EPS)
        return H.reshape(self.n_components, V.shape[0], V.shape[1]).transpose(0, 1)

    def save(self, path):
        """Write the dictionary (and its compression) to ``path``."""
        torch.save(self.state_dict(), path)

    def load(self, path):
        """Read a dictionary written by :meth:`save` (shapes must match)."""
        self.load_state_dict(torch.load(path, map_location="cpu"))
        return self

    @classmethod
    def from_file(cls, path):
        """A new dictionary read from ``path``, sized from the file."""
        state = torch.load(path, map_location="cpu")
        n_freq, n_components = state["W"].shape
        return cls(n_freq, n_components).load(path)


@torch.no_grad()
def learn_nmf(V, n_components, n_iter=50, seed=0, batch_frames=65536, progress=True):
    """Learn ``W`` (``[F, K]``) and ``H`` (``[K, N]``) with ``V ~= W H`` (Euclidean cost).

    Multiplicative updates (Lee & Seung, 2001), alternating H then W; the updates of both are
    computed over chunks of ``batch_frames`` frames, which gives exactly the full-batch result.
    After each iteration the atoms are scaled to unit L2 norm (``H`` absorbs the scale). The
    result depends only on the data and ``seed``.

    Arguments
    ---------
    V : torch.Tensor
        ``[n_frames, n_freq]`` non-negative frames (compressed spectra).
    n_components : int
        Dictionary size ``K``.
    n_iter : int
        Number of multiplicative-update iterations.
    seed : int
        Seed of the random initialisation.
    batch_frames : int
        Frames per chunk (bounds the memory of one update).
    progress : bool
        Show a progress bar.

    Returns
    -------
    W : torch.Tensor
        ``[n_freq, K]`` dictionary with unit-norm columns.
    H : torch.Tensor
        ``[K, n_frames]`` activations.
    errors : list of float
        Relative reconstruction error ``||V - WH|| / ||V||`` after each iteration.

    Example
    -------
    >>> V = torch.rand(200, 12) @ torch.rand(12, 9)
    >>> W, H, errors = learn_nmf(V, 4, n_iter=30, progress=False)
    >>> W.shape, H.shape, errors[-1] < errors[0]
    (torch.Size([9, 4]), torch.Size([4, 200]), True)
    """
    if V.dim() != 2 or bool((V < 0).any()):
        raise ValueError("learn_nmf needs non-negative [n_frames, n_freq] frames")
    V = V.t().contiguous()  # [F, N]
    n_freq, n_frames = V.shape
    generator = torch.Generator().manual_seed(seed)
    scale = V.mean().clamp_min(EPS).sqrt().item()
    W = (torch.rand(n_freq, n_components, generator=generator) * scale).to(V)
    H = (torch.rand(n_components, n_frames, generator=generator) * scale).to(V)
    norm_v = V.norm().clamp_min(EPS)
    chunks = [slice(i, i + batch_frames) for i in range(0, n_frames, batch_frames)]
    errors = []
    bar = tqdm(range(n_iter), desc="NMF", disable=not progress)
    for _ in bar:
        WtW = W.t() @ W
        numerator = torch.zeros_like(W)
        HHt = torch.zeros(n_components, n_components, dtype=V.dtype, device=V.device)
        for chunk in chunks:
            Vc, Hc = V[:, chunk], H[:, chunk]
            Hc = Hc * (W.t() @ Vc) / (WtW @ Hc + EPS)
            H[:, chunk] = Hc
            numerator += Vc @ Hc.t()
            HHt += Hc @ Hc.t()
        W = W * numerator / (W @ HHt + EPS)
        norms = W.norm(dim=0).clamp_min(EPS)
        W = W / norms
        H = H * norms.unsqueeze(1)
        sq_error = sum(((V[:, c] - W @ H[:, c]) ** 2).sum() for c in chunks)
        errors.append(float(sq_error.sqrt() / norm_v))
        bar.set_postfix(rel_error=f"{errors[-1]:.4f}")
    logger.info("NMF (K=%d, %d frames, %d iterations): relative error %.4f",
                n_components, n_frames, n_iter, errors[-1] if errors else float("nan"))
    return W, H, errors


@torch.no_grad()
def collect_frames(dataset, frontend, compression="log1p", max_frames=None, seed=0,
                   batch_size=16, device="cpu", progress=True):
    """Compressed STFT frames of every clip of ``dataset`` (items with a ``sig`` waveform).

    Arguments
    ---------
    dataset : speechbrain.dataio.dataset.DynamicItemDataset
        Yields ``sig`` (e.g. ``lmac_brain.data.pipelines.classification_dataset``).
    frontend : lmac_brain.audio.spectral.SpectralFrontEnd
        The classifier's STFT settings.
    compression : str
        See :func:`compress`.
    max_frames : int, optional
        Keep a seeded random subset of at most this many frames (bounds memory).
    seed : int
        Seed of that subset.
    batch_size : int
        Clips per STFT batch.
    device : str
        Where to compute the STFT; the frames come back on the CPU.
    progress : bool
        Show a progress bar.

    Returns
    -------
    torch.Tensor
        ``[n_frames, n_freq]`` frames.
    """
    from speechbrain.dataio.dataloader import make_dataloader

    loader = make_dataloader(dataset, batch_size=batch_size, shuffle=False)
    frontend = frontend.to(device)
    frames = []
    for batch in tqdm(loader, desc="NMF frames", disable=not progress):
        wavs = batch.sig[0].to(device)
        mag, _ = frontend.magnitude_phase(wavs)
        frames.append(compress(mag, compression).reshape(-1, mag.shape[-1]).cpu())
    frames = torch.cat(frames)
    if max_frames is not None and frames.shape[0] > max_frames:
        generator = torch.Generator().manual_seed(seed)
        keep = torch.randperm(frames.shape[0], generator=generator)[:max_frames]
        frames = frames[keep.sort().values]
    return frames
