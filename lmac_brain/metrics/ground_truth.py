"""What a mask is scored against on a synthetic twin, whose items carry their clean event."""

import torch

from lmac_brain.audio.listenable import interpretation_waveform
from lmac_brain.metrics.listenability import listenability_per_item
from lmac_brain.metrics.localization import ideal_binary_mask


@torch.no_grad()
def event_references(classifier, domain, mixture, mag, phase, mask, event, mask_space="linear"):
    """``(ibm, listenability)`` of ``mask`` on a batch whose clean events are known.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        Gives the front-end and the domain input.
    domain : str
        The mask's domain (``"stft"`` or ``"mel"``).
    mixture : torch.Tensor
        ``[batch, samples]``: what the classifier heard.
    mag, phase : torch.Tensor
        The STFT of ``mixture`` (``[batch, time, freq]``).
    mask : torch.Tensor
        The masks, on the domain grid.
    event : torch.Tensor
        ``[batch, samples]``: the clean event as it is in ``mixture``.
    mask_space : str
        How the mask is applied to make the interpretation waveform.

    Returns
    -------
    ibm : torch.Tensor
        The ideal binary mask of the event against the rest of the mixture, on the domain grid
        (for ``loc_auc``/``loc_iou``).
    listenability : dict of str to torch.Tensor
        ``SI-SDR`` and ``SDRi`` of the interpretation waveform against the event.
    """
    frontend = classifier.frontend
    event_mag, _ = frontend.magnitude_phase(event)
    rest_mag, _ = frontend.magnitude_phase(mixture - event)
    ibm = ideal_binary_mask(classifier.domain_input(event_mag, domain), classifier.domain_input(rest_mag, domain))
    interpretation = interpretation_waveform(frontend, mag, phase, mask, domain, mixture.shape[-1], mask_space)
    return ibm, listenability_per_item(interpretation, mixture, event)
