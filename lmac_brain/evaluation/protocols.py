"""The two evaluation protocols, ``paper`` and ``reference``, and what tells them apart.

``paper`` follows the paper's text; ``reference`` reproduces what the authors' code (SpeechBrain's
``recipes/ESC50/interpret/``) did to produce the published numbers. One key of the evaluation
YAML, ``protocol``, selects one of them; every setting that differs between the two is written in
the YAML as a mapping with one value per protocol (``{paper: 10, reference: 50}``) and resolved
here, so a reader sees both values side by side and the command line can flip any single one
(``--smoothgrad_samples=50``). docs/protocols.md lists every switch and why.

How a mask is applied (``mask_space``: ``linear`` or ``log1p``) is shared by training, the
explainers and the metrics, so it lives in :mod:`lmac_brain.audio.masking`.
"""


from lmac_brain.errors import ConfigurationError
from lmac_brain.models.classifier import DOMAINS

PROTOCOLS = ("paper", "reference")
"""``paper``: the paper's text (our default); ``reference``: the authors' code."""

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
