"""Shape checks shared by the metrics: logits ``[batch, classes]`` and maps ``[batch, time, freq]``."""

import torch


def as_logits(logits, name):
    """Return ``[batch, classes]`` float64 logits (SpeechBrain heads give ``[batch, 1, classes]``)."""
    if logits.dim() == 3 and logits.shape[1] == 1:
        logits = logits.squeeze(1)
    if logits.dim() != 2:
        raise ValueError(
            f"{name} must be [batch, classes] or [batch, 1, classes], got {tuple(logits.shape)}"
        )
    return logits.detach().to(torch.float64)



def as_maps(x, name):
    """Return ``[batch, time, freq]`` from ``[batch, time, freq]`` or ``[batch, 1, time, freq]``."""
    if x.dim() == 4 and x.shape[1] == 1:
        x = x.squeeze(1)
    if x.dim() != 3:
        raise ValueError(
            f"{name} must be [batch, time, freq] or [batch, 1, time, freq], got {tuple(x.shape)}"
        )
    return x
