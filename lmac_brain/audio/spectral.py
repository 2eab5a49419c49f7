"""The spectral front-end shared by the classifier, the interpreters and the metrics.

One object owns every STFT setting, so the mask an interpreter writes, the features the
classifier reads and the waveform a listener hears always agree on the time-frequency grid.
Features follow SpeechBrain's CNN14 recipes: ``log1p(fbank(|STFT|))`` with a Hamming window,
centred frames and no log inside the filterbank, so weights trained there load here unchanged.
"""

import torch
from speechbrain.processing.features import Filterbank


class SpectralFrontEnd(torch.nn.Module):
    """STFT magnitude/phase, classifier features and the listenable inverse (paper Eq. 3).

    Arguments
    ---------
    sample_rate : int
        Rate of the waveforms, in Hz.
    n_fft : int
        FFT size; the magnitude has ``n_fft // 2 + 1`` frequency bins.
    hop_length_ms : float
        Frame shift in milliseconds (SpeechBrain's convention).
    win_length_ms : float
        Window length in milliseconds.
    n_mels : int
        Number of mel bands of the classifier features.

    Example
    -------
    >>> fe = SpectralFrontEnd(16000, n_fft=512, hop_length_ms=16, win_length_ms=32, n_mels=40)
    >>> wav = torch.randn(2, 16000)
    >>> mag, phase = fe.magnitude_phase(wav)
    >>> mag.shape
    torch.Size([2, 63, 257])
    >>> fe.features(mag).shape
    torch.Size([2, 63, 40])
    >>> torch.allclose(fe.invert(mag, phase, wav.shape[-1]), wav, atol=1e-4)
    True
    """

    def __init__(
        self,
        sample_rate=16000,
        n_fft=1024,
        hop_length_ms=11.6099,
        win_length_ms=23.2199,
        n_mels=80,
    ):
        super().__init__()
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.hop_length = int(round(sample_rate / 1000.0 * hop_length_ms))
        self.win_length = int(round(sample_rate / 1000.0 * win_length_ms))
        if self.win_length > n_fft:
            raise ValueError(
                f"win_length ({self.win_length} samples) exceeds n_fft ({n_fft})"
            )
        self.n_mels = n_mels
        self.register_buffer(
            "window", torch.hamming_window(self.win_length), persistent=False
        )
        fbank = Filterbank(
            n_mels=n_mels, n_fft=n_fft, sample_rate=sample_rate, log_mel=False
        )
        n_freq = n_fft // 2 + 1
        # SpeechBrain's Filterbank is linear once log_mel is off: reading it on the identity
        # gives its matrix, which we keep so the features are one matmul.
        with torch.no_grad():
            matrix = fbank(torch.eye(n_freq).unsqueeze(0)).squeeze(0)
        self.register_buffer("mel_matrix", matrix, persistent=False)

    @property
    def n_freq(self):
        """Number of STFT frequency bins."""
        return self.n_fft // 2 + 1

    def n_frames(self, n_samples):
        """Number of STFT frames for a waveform of ``n_samples`` (centred frames)."""
        return n_samples // self.hop_length + 1

    def stft(self, wav):
        """Complex STFT, time-major: ``[batch, time, freq]``."""
        spec = torch.stft(
            wav,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        return spec.transpose(-1, -2)

    def magnitude_phase(self, wav):
        """Return ``(|X|, angle(X))`` of a ``[batch, samples]`` waveform."""
        spec = self.stft(wav)
        return spec.abs(), spec.angle()

    def features(self, mag):
        """Classifier features of a magnitude: ``log1p(mel(|X|))``, ``[batch, time, n_mels]``."""
        return torch.log1p(torch.matmul(mag, self.mel_matrix))

    def mel(self, mag):
        """Mel magnitude (no log), for Mel-domain masking."""
        return torch.matmul(mag, self.mel_matrix)

    def mel_to_linear(self, mel_map):
        """Spread a ``[..., n_mels]`` map over the ``n_freq`` STFT bins.

        Each STFT bin takes the filterbank-weighted average of the mel bands that cover it
        (0 where no band does), so a mel-grid mask or saliency lands on the right frequencies
        instead of being stretched linearly over the linear axis.
        """
        return mel_to_linear(mel_map, self.mel_matrix)

    def invert(self, mag, phase, length):
        """Waveform of magnitude ``mag`` with phase ``phase`` (paper Eq. 3), ``length`` samples."""
        spec = torch.polar(mag, phase).transpose(-1, -2)
        return torch.istft(
            spec,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=True,
            length=length,
        )


def mel_to_linear(mel_map, mel_matrix):
    """Map a ``[..., n_mels]`` map to ``[..., n_freq]`` STFT bins through the filterbank.

    Each STFT bin takes the filterbank-weighted average of the mel bands covering it (rows of
    ``mel_matrix`` normalised to sum to 1); bins that no band covers get 0.

    Arguments
    ---------
    mel_map : torch.Tensor
        ``[..., n_mels]`` map (e.g. an upsampled CAM).
    mel_matrix : torch.Tensor
        ``[n_freq, n_mels]`` filterbank (``SpectralFrontEnd.mel_matrix``).

    Example
    -------
    >>> fb = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.0, 2.0]])
    >>> mel_to_linear(torch.tensor([[1.0, 0.0]]), fb)
    tensor([[0.0000, 1.0000, 0.5000, 0.0000]])
    """
    return torch.matmul(mel_map, mel_to_linear_weights(mel_matrix.to(mel_map)))


def mel_to_linear_weights(mel_matrix):
    """The ``[n_mels, n_freq]`` matrix of :func:`mel_to_linear`: ``mel_map @ weights``.

    Example
    -------
    >>> fb = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.0, 2.0]])
    >>> mel_to_linear_weights(fb)
    tensor([[0.0000, 1.0000, 0.5000, 0.0000],
            [0.0000, 0.0000, 0.5000, 1.0000]])
    """
    total = mel_matrix.sum(dim=1, keepdim=True)
    tiny = torch.finfo(mel_matrix.dtype).tiny
    return torch.where(total > 0, mel_matrix / total.clamp_min(tiny), 0.0).transpose(0, 1).contiguous()
