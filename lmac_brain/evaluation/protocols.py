"""The two evaluation protocols, ``paper`` and ``reference``, and what tells them apart.

``paper`` follows the paper's text; ``reference`` reproduces what the authors' code (SpeechBrain's
``recipes/ESC50/interpret/``) did to produce the published numbers. One key of the evaluation
YAML, ``protocol``, selects one of them; every setting that differs between the two is written in
the YAML as a mapping with one value per protocol (``{paper: 10, reference: 50}``) and resolved
here, so a reader sees both values side by side and the command line can flip any single one
(``--smoothgrad_samples=50``). docs/protocols.md lists every switch and why.

The other protocol-level operation lives here too: how a mask is applied when the metrics are
computed (:func:`apply_mask`). ``linear`` multiplies the magnitude (``M * |X|``, the paper's
Eq. 3); ``log1p`` multiplies its ``log1p`` (``M * log1p|X|``, then back with ``expm1``), as the
authors' code does for every method it scores.
"""

import torch

from lmac_brain.errors import ConfigurationError
from lmac_brain.models.classifier import DOMAINS

PROTOCOLS = ("paper", "reference")
"""``paper``: the paper's text (our default); ``reference``: the authors' code."""

MASK_SPACES = ("linear", "log1p")

PROTOCOL_TITLES = {
    "paper": "the paper's text",
    "reference": "the authors' code",
}


def check_protocol(protocol):
    """Raise a clear error for an unknown protocol."""
    if protocol not in PROTOCOLS:
        raise ConfigurationError(f"Unknown protocol {protocol!r}: choose one of {PROTOCOLS}")
    return protocol


def is_choice(value, keys):
    """Whether ``value`` is a non-empty mapping whose keys are all among ``keys``.

    Example
    -------
    >>> is_choice({"paper": 1, "reference": 2}, PROTOCOLS), is_choice({"snr_db": 3}, PROTOCOLS)
    (True, False)
    """
    return isinstance(value, dict) and bool(value) and set(value) <= set(keys)


def resolve(value, protocol=None, domain=None):
    """``value`` with every per-protocol and per-domain choice taken, at any depth.

    A mapping whose keys are protocol names takes the value of ``protocol``; one whose keys are
    domain names takes the value of ``domain`` (they may be nested either way). Other mappings
    and lists are resolved entry by entry. A choice whose selector is ``None`` (not known yet)
    is left as it is.

    Arguments
    ---------
    value : object
        A plain YAML value.
    protocol : str, optional
        One of :data:`PROTOCOLS`.
    domain : str, optional
        One of ``DOMAINS``.

    Example
    -------
    >>> spec = {"source": {"paper": {"stft": "a", "mel": "b"}, "reference": "r"}, "n": {"paper": 1, "reference": 5}}
    >>> resolve(spec, "paper", "mel"), resolve(spec, "reference", "stft")
    ({'source': 'b', 'n': 1}, {'source': 'r', 'n': 5})
    >>> resolve({"snr_db": {"paper": [0, 15], "reference": 0}}, "reference")
    {'snr_db': 0}
    """
    for keys, selector in ((PROTOCOLS, protocol), (DOMAINS, domain)):
        if is_choice(value, keys) and selector is not None:
            if selector not in value:
                raise KeyError(f"{value!r} gives no value for {selector!r}")
            return resolve(value[selector], protocol, domain)
    if isinstance(value, dict):
        return {k: resolve(v, protocol, domain) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(v, protocol, domain) for v in value)
    return value


def missing_choices(value, protocol=None, domain=None, path=""):
    """Where ``value`` has a per-protocol/per-domain choice without an entry for the selector.

    Returns a list of ``(path, selector)``; empty when :func:`resolve` will succeed.

    Example
    -------
    >>> missing_choices({"a": {"paper": 1}, "b": {"stft": 2}}, "reference", "mel")
    [('a', 'reference'), ('b', 'mel')]
    """
    for keys, selector in ((PROTOCOLS, protocol), (DOMAINS, domain)):
        if is_choice(value, keys) and selector is not None:
            if selector not in value:
                return [(path, selector)]
            return missing_choices(value[selector], protocol, domain, path)
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += missing_choices(v, protocol, domain, f"{path}.{k}" if path else str(k))
    return found


def check_mask_space(space):
    """Raise a clear error for an unknown mask space."""
    if space not in MASK_SPACES:
        raise ConfigurationError(f"Unknown mask_space {space!r}: choose one of {MASK_SPACES}")
    return space


def apply_mask(x, mask, space="linear"):
    """The masked domain input ``x`` (a non-negative magnitude), in ``space``.

    - ``linear``: ``mask * x``;
    - ``log1p``: ``expm1(mask * log1p(x))``, i.e. the mask multiplies ``log1p(x)`` (the authors'
      ``X_stft_logpower``, or the log-mel features in the Mel domain), returned as a magnitude so
      that the classifier's own front-end (``log1p(mel(.))``) reads it unchanged.

    A mask of ones gives ``x`` back in both spaces; a mask of zeros gives silence.

    Example
    -------
    >>> x, m = torch.tensor([[0.0, 1.0, 99.0]]), torch.tensor([[0.5, 0.5, 0.5]])
    >>> apply_mask(x, m, "linear")
    tensor([[ 0.0000,  0.5000, 49.5000]])
    >>> apply_mask(x, m, "log1p")  # sqrt(1 + x) - 1
    tensor([[0.0000, 0.4142, 9.0000]])
    """
    if check_mask_space(space) == "linear":
        return mask * x
    masked = torch.expm1(mask * torch.log1p(x.clamp_min(0.0)))
    # Where the mask is 1, x itself: expm1(log1p(x)) differs from x by rounding, which would
    # count as an "increase" in AI for an all-ones mask.
    return torch.where(mask == 1, x, masked)


def masked_in_out(x, mask, space="linear"):
    """``(masked-in, masked-out)`` inputs: :func:`apply_mask` of ``mask`` and of ``1 - mask``."""
    return apply_mask(x, mask, space), apply_mask(x, 1.0 - mask, space)


def protocol_choices(value, protocol, path=""):
    """Every per-protocol choice in ``value``: ``[(path, value taken for protocol), ...]``.

    Example
    -------
    >>> protocol_choices({"sg": {"nt_samples": {"paper": 10, "reference": 50}, "label": "SG"}}, "reference")
    [('sg.nt_samples', 50)]
    """
    if is_choice(value, PROTOCOLS):
        return [(path, resolve(value.get(protocol), protocol))]
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += protocol_choices(v, protocol, f"{path}.{k}" if path else str(k))
    return found
