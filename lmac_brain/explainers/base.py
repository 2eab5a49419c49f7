"""One interface for every explanation method, a registry to build them by name, and the
attribution -> mask protocol of the gradient baselines.

Every method (L-MAC, L2I, the Captum baselines, the trivial reference masks) is an
:class:`Explainer`: it turns the domain input of a batch into a mask in ``[0, 1]`` of exactly
the same shape. Metrics, sanity checks and the interpret CLI see only this interface, and build
methods by name with :func:`build_explainer`; a new method joins with ``@register("name")``.
"""

import abc
import inspect

import torch
from torch import nn

from lmac_brain.audio.masking import check_mask_space
from lmac_brain.errors import ConfigurationError
from lmac_brain.models.classifier import check_domain

MASK_PROTOCOLS = ("normalize", "topk")

_REGISTRY = {}


class Explainer(nn.Module, metaclass=abc.ABCMeta):
    """Base class: maps the domain input of a batch to a mask of exactly the same shape.

    Subclasses implement :meth:`explain`; callers use ``explainer(x, target)``.

    The classifier is frozen: it is put in eval mode on construction and before every call,
    :meth:`train` never switches it to training mode, and explainers neither update its
    parameters nor change their ``requires_grad``. It is a submodule, so ``.to(device)`` moves
    it along (and ``state_dict`` includes it; checkpoint a trained part, such as a decoder, by
    itself).

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The frozen classifier being explained.
    domain : str
        ``"stft"`` (mask on ``|X|``) or ``"mel"`` (mask on the mel magnitude).

    Example
    -------
    >>> class Half(Explainer):
    ...     def explain(self, x, target):
    ...         return torch.full_like(x, 0.5)
    >>> from lmac_brain.models.classifier import AudioClassifier
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> from lmac_brain.audio.spectral import SpectralFrontEnd
    >>> fe = SpectralFrontEnd(16000, 256, 16, 16, n_mels=32)
    >>> clf = AudioClassifier(fe, Cnn14(32, base_channels=4), nn.Linear(128, 5))
    >>> x = clf.domain_input(fe.magnitude_phase(torch.randn(2, 8000))[0], "mel")
    >>> Half(clf, "mel")(x, torch.tensor([0, 3])).shape == x.shape
    True
    """

    # Methods that always explain the classifier's own decision (L-MAC) set this to False, so
    # no extra classifier pass is spent computing a target they would not use.
    uses_target = True

    #: The space the mask is meant for (``lmac_brain.audio.masking``); see :meth:`use_mask_space`.
    mask_space = "linear"

    def __init__(self, classifier, domain):
        super().__init__()
        self.classifier = classifier
        self.domain = check_domain(domain)
        self.classifier.eval()

    def train(self, mode=True):
        """Set the explainer's own modules' mode; the classifier always stays in eval mode."""
        super().train(mode)
        self.classifier.eval()
        return self

    def use_mask_space(self, space):
        """Explain for masks applied in ``space`` (``"linear"`` or ``"log1p"``); returns ``self``.

        Methods that depend on the space (gradients are taken with respect to the representation
        the mask multiplies) override this; for the others it only records the space.
        """
        self.mask_space = check_mask_space(space)
        return self

    def logits(self, x):
        """Classifier logits of a (possibly masked) domain representation ``x``."""
        return self.classifier.logits_of_input(x, self.domain)

    @torch.no_grad()
    def predict(self, x):
        """The classifier's decision ``argmax f(x)``, ``[batch]`` long."""
        self.classifier.eval()
        return self.logits(x).argmax(dim=-1)

    def forward(self, x, target=None):
        """Explain the decision ``target`` on the domain input ``x``.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, time, freq]`` domain representation (``AudioClassifier.domain_input``).
        target : torch.Tensor, optional
            ``[batch]`` long class indices (the classifier's own decision); ``None`` computes
            that decision. A single index applies to the whole batch.

        Returns
        -------
        torch.Tensor
            Detached float mask in ``[0, 1]``, same shape and device as ``x``.
        """
        if x.dim() != 3:
            raise ValueError(f"Expected x of shape [batch, time, freq], got {tuple(x.shape)}")
        self.classifier.eval()
        x = x.detach()
        if target is None:
            if not self.uses_target:
                return self._checked(self.explain(x, None), x)
            target = self.predict(x)
        target = torch.as_tensor(target, dtype=torch.long, device=x.device).reshape(-1)
        if target.numel() == 1:
            target = target.expand(x.shape[0])
        if target.shape[0] != x.shape[0]:
            raise ValueError(
                f"target has {target.shape[0]} entries for a batch of {x.shape[0]}"
            )
        return self._checked(self.explain(x, target), x)

    def _checked(self, mask, x):
        if mask.shape != x.shape:
            raise RuntimeError(
                f"{type(self).__name__} returned a mask of shape {tuple(mask.shape)} "
                f"for an input of shape {tuple(x.shape)}"
            )
        dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        return mask.detach().to(device=x.device, dtype=dtype)

    @abc.abstractmethod
    def explain(self, x, target):
        """Return the mask of ``x`` (detached input) for ``target`` (``[batch]`` long)."""


def register(name):
    """Class decorator adding an explainer class (or factory) to the registry under ``name``.

    Options given to :func:`build_explainer` are passed to it as keyword arguments, after
    ``classifier`` and ``domain``.

    Example
    -------
    >>> @register("doc_half")
    ... class Half(Explainer):
    ...     def __init__(self, classifier, domain, value=0.5):
    ...         super().__init__(classifier, domain)
    ...         self.value = value
    ...     def explain(self, x, target):
    ...         return torch.full_like(x, self.value)
    >>> "doc_half" in available_explainers()
    True
    >>> _ = _REGISTRY.pop("doc_half")
    """

    def decorator(cls):
        known = _REGISTRY.get(name)
        if known is not None and _qualname(known) != _qualname(cls):
            raise ValueError(
                f"Explainer name {name!r} is already registered by {_qualname(known)}"
            )
        _REGISTRY[name] = cls
        return cls

    return decorator


def _qualname(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def available_explainers():
    """Sorted names of the registered explainers."""
    return sorted(_REGISTRY)


def explainer_options(name):
    """The options the explainer ``name`` takes, ``{option: default}`` (``inspect.Parameter.empty``
    for a required one), or ``None`` when it takes any (``**kwargs``).

    Options are the keyword arguments after ``classifier`` and ``domain``.

    Example
    -------
    >>> explainer_options("ig")
    {'n_steps': 50, 'internal_batch_size': None, 'protocol': 'normalize', 'top_k': 0.2}
    """
    if name not in _REGISTRY:
        raise ConfigurationError(
            f"Unknown explainer {name!r}; known explainers: " + ", ".join(available_explainers())
        )
    parameters = list(inspect.signature(_REGISTRY[name]).parameters.values())[2:]
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name: p.default for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_options(name, options):
    """Raise :class:`~lmac_brain.errors.ConfigurationError` when ``options`` do not match what
    the explainer ``name`` takes (an unknown or a missing required option).

    Checking against the constructor's signature before calling it keeps the two kinds of
    failure apart: a misspelt option is the user's to fix, while a ``TypeError`` raised inside
    a constructor is a bug and keeps its traceback.

    Example
    -------
    >>> check_options("ig", {"n_step": 4})
    Traceback (most recent call last):
    ...
    lmac_brain.errors.ConfigurationError: explainer 'ig' has no option 'n_step' (its options: ...)
    """
    known = explainer_options(name)
    if known is None:
        return
    unknown = [key for key in options if key not in known]
    if unknown:
        raise ConfigurationError(
            f"explainer {name!r} has no option {', '.join(map(repr, unknown))} "
            f"(its options: {', '.join(known) or 'none'})"
        )
    required = [key for key, default in known.items() if default is inspect.Parameter.empty and key not in options]
    if required:
        raise ConfigurationError(f"explainer {name!r} needs the option(s) {', '.join(map(repr, required))}")


def build_explainer(name, classifier, domain, **options):
    """Build the explainer registered as ``name`` for ``classifier`` in ``domain``.

    Arguments
    ---------
    name : str
        A name from :func:`available_explainers`.
    classifier : lmac_brain.models.classifier.AudioClassifier
        The frozen classifier to explain.
    domain : str
        ``"stft"`` or ``"mel"``.
    **options
        Keyword arguments of that method (e.g. ``n_steps`` for ``"ig"``), checked against its
        constructor first (:func:`check_options`).

    Returns
    -------
    Explainer

    Raises
    ------
    lmac_brain.errors.ConfigurationError
        Unknown name or option, or an option value the method refuses; any other exception
        comes from the method itself.

    Example
    -------
    >>> build_explainer("no_such_method", None, "stft")
    Traceback (most recent call last):
    ...
    lmac_brain.errors.ConfigurationError: Unknown explainer 'no_such_method'; known explainers: ...
    """
    check_options(name, options)
    explainer = _REGISTRY[name](classifier, domain, **options)
    if not isinstance(explainer, Explainer):
        raise TypeError(f"{name!r} built a {type(explainer).__name__}, not an Explainer")
    return explainer


def attribution_to_mask(attr, protocol="normalize", top_k=0.2):
    """Turn an attribution map into a mask in ``[0, 1]``, independently for each example.

    Protocols:

    - ``"normalize"`` (the paper's): ``|attr| / max |attr|`` over each example; an example
      whose attribution is all zero gets an all-zero mask (never NaN).
    - ``"topk"``: binary mask, 1 on the ``round(top_k * n)`` entries of largest ``|attr|`` of
      each example of ``n`` entries, 0 elsewhere. Entries with zero attribution are never
      selected, so an all-zero attribution also gives an all-zero mask. Ties at the threshold
      are broken by ``torch.topk``.

    Arguments
    ---------
    attr : torch.Tensor
        ``[batch, ...]`` attribution.
    protocol : str
        ``"normalize"`` or ``"topk"``.
    top_k : float
        Fraction in ``[0, 1]`` of entries kept by ``"topk"``.

    Returns
    -------
    torch.Tensor
        Float mask of the shape of ``attr``.

    Example
    -------
    >>> attr = torch.tensor([[[-4.0, 2.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    >>> attribution_to_mask(attr)
    tensor([[[1.0000, 0.5000],
             [0.2500, 0.0000]],
    <BLANKLINE>
            [[0.0000, 0.0000],
             [0.0000, 0.0000]]])
    >>> attribution_to_mask(attr, "topk", top_k=0.5)
    tensor([[[1., 1.],
             [0., 0.]],
    <BLANKLINE>
            [[0., 0.],
             [0., 0.]]])
    """
    if protocol not in MASK_PROTOCOLS:
        raise ConfigurationError(f"Unknown mask protocol {protocol!r}: choose one of {MASK_PROTOCOLS}")
    magnitude = attr.detach().abs().float()
    flat = magnitude.reshape(magnitude.shape[0], -1)
    if protocol == "normalize":
        peak = flat.amax(dim=1, keepdim=True)
        mask = torch.where(peak > 0, flat / peak.clamp_min(torch.finfo(flat.dtype).tiny), 0.0)
        return mask.reshape(attr.shape)
    if isinstance(top_k, bool) or not isinstance(top_k, (int, float)) or not 0.0 <= top_k <= 1.0:
        raise ConfigurationError(f"top_k must be a fraction in [0, 1], got {top_k!r}")
    k = int(round(top_k * flat.shape[1]))
    mask = torch.zeros_like(flat)
    if k > 0:
        values, index = flat.topk(k, dim=1)
        mask.scatter_(1, index, (values > 0).to(mask.dtype))
    return mask.reshape(attr.shape)
