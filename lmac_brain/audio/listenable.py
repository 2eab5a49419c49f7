"""Listenable interpretations (paper Eq. 3): the masked spectrograms back to waveforms.

The files a person inspects (the wavs and their picture) are written by
:func:`lmac_brain.reporting.mask_figure.save_interpretation`.
"""

from lmac_brain.audio.masking import apply_mask, masked_in_out


def stft_mask(frontend, mask, domain):
    """The STFT-grid version of a mask of ``domain`` (a Mel mask is spread over its bins)."""
    return mask if domain == "stft" else frontend.mel_to_linear(mask)


def listenable_pair(frontend, mag, phase, mask, length, mask_space="linear"):
    """``(interpretation, residual)`` waveforms: ISTFT of ``M*|X|`` and ``(1-M)*|X|``, the
    products taken in ``mask_space`` (:func:`~lmac_brain.audio.masking.apply_mask`).

    Both keep the input's phase and have ``length`` samples; in the linear space the two add up
    to the input. ``mag``, ``phase`` and ``mask`` are ``[time, freq]`` or ``[batch, time, freq]``
    on the STFT grid.
    """
    masked_in, masked_out = masked_in_out(mag, mask, mask_space)
    return frontend.invert(masked_in, phase, length), frontend.invert(masked_out, phase, length)


def interpretation_waveform(frontend, mag, phase, mask, domain, length, mask_space="linear"):
    """The interpretation alone (ISTFT of ``M*|X|`` in ``mask_space``, the input's phase), for a
    mask of ``domain`` (a Mel mask is spread over the STFT bins first)."""
    masked = apply_mask(mag, stft_mask(frontend, mask, domain), mask_space)
    return frontend.invert(masked, phase, length)
