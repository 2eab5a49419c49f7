"""The evaluation's method configuration: enabled entries, per-domain options, validation.

Methods are a mapping ``key -> {explainer: name, **options}``::

    methods:
        saliency: {explainer: saliency}
        ig: {explainer: ig, n_steps: 50, internal_batch_size: 16}
        lmac: {explainer: lmac, source: results/esc50/lmac_cnn14/1234/save}
        all_ones: {explainer: ones}

A method (or condition) set to ``null`` is disabled, so the command line can drop entries
(``--methods="{ig: null}"``). Two optional keys shape where a method runs: ``domains: [stft]``
restricts it to some domains, and any option may be given per domain as
``{stft: value, mel: value}`` (e.g. the ``source`` of an L-MAC trained in each domain) or per
protocol as ``{paper: value, reference: value}`` (:mod:`lmac_brain.evaluation.protocols`;
resolved by :func:`select_protocol` before anything else). ``optional: true`` marks a row that
is left out, with a warning, when its checkpoint is missing (:func:`drop_unavailable_optional`),
``mask_space`` overrides the protocol's mask space for one method, and ``mm_of: <key>`` (for the
``constant`` explainer) sets the mask's value to the ``MM`` the method ``<key>`` scored in the
same condition and domain (that method must come first).

The whole configuration is validated before any work (:func:`validate_configuration`): every
problem (unknown method, missing checkpoint, condition whose data is missing, ...) is listed
in one :class:`EvaluationConfigError`.
"""

import os

from lmac_brain.checkpoints import CHECKPOINT_KEY, resolve_checkpoint_dir
from lmac_brain.errors import ConfigurationError, UserFacingError
from lmac_brain.evaluation.conditions import build_conditions
from lmac_brain.evaluation.protocols import missing_choices, resolve
from lmac_brain.explainers import available_explainers, build_explainer
from lmac_brain.explainers.base import check_options
from lmac_brain.models.classifier import DOMAINS

TRAINED_EXPLAINERS = ("lmac", "l2i")
"""Explainers that load a trained model from their ``source`` option."""

HARNESS_KEYS = ("explainer", "domains", "label", "optional", "mask_space", "mm_of")
"""Keys of a method spec read by the harness, not passed to the explainer."""


class EvaluationConfigError(ConfigurationError):
    """The evaluation configuration cannot run; the message lists every problem."""


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
def enabled(mapping):
    """The entries of a method/condition mapping that are not disabled (set to ``None``).

    Example
    -------
    >>> enabled({"a": {"explainer": "ones"}, "b": None})
    {'a': {'explainer': 'ones'}}
    """
    return {k: v for k, v in (mapping or {}).items() if v is not None}


def method_options(spec, domain):
    """``(explainer name, options)`` of a method spec for ``domain`` (per-domain values resolved).

    Example
    -------
    >>> method_options({"explainer": "lmac", "source": {"stft": "a", "mel": "b"}}, "mel")
    ('lmac', {'source': 'b'})
    """
    options = dict(spec)
    name = options.pop("explainer")
    for key in HARNESS_KEYS:
        options.pop(key, None)
    for key, value in options.items():
        if isinstance(value, dict) and value and set(value) <= set(DOMAINS):
            options[key] = value[domain]
    return name, options


def select_protocol(methods, protocol):
    """``methods`` with every per-protocol option resolved for ``protocol``, and the problems.

    Example
    -------
    >>> select_protocol({"sg": {"explainer": "smoothgrad", "nt_samples": {"paper": 10, "reference": 50}},
    ...                  "off": None}, "reference")
    ({'sg': {'explainer': 'smoothgrad', 'nt_samples': 50}, 'off': None}, [])
    >>> select_protocol({"sg": {"explainer": "smoothgrad", "nt_samples": {"paper": 10}}}, "reference")[1]
    ["method 'sg': option(s) ['nt_samples'] give no value for protocol 'reference'"]
    """
    selected, problems = {}, []
    for key, spec in (methods or {}).items():
        missing = missing_choices(spec, protocol) if spec is not None else []
        if missing:
            problems.append(f"method {key!r}: option(s) {[p for p, _ in missing]} give no value "
                            f"for protocol {protocol!r}")
            selected[key] = None
            continue
        selected[key] = resolve(spec, protocol)
    return selected, problems


def drop_unavailable_optional(methods, domains):
    """``methods`` without what the ``optional`` ones cannot run (e.g. a checkpoint not trained).

    An optional method keeps the domains it can run in (its ``domains`` restricted to them) and
    is disabled (``None``) when it can run in none. Returns ``(methods, dropped)`` with
    ``dropped`` a list of ``(key, reason)``, one per domain left out.

    Example
    -------
    >>> methods = {"a": {"explainer": "lmac", "optional": True, "source": {"stft": "/no", "mel": "/no"}},
    ...            "b": {"explainer": "ones"}}
    >>> kept, dropped = drop_unavailable_optional(methods, ["stft", "mel"])
    >>> kept["a"], [key for key, _ in dropped]
    (None, ['a', 'a'])
    """
    kept, dropped = dict(methods or {}), []
    for key, spec in enabled(methods).items():
        if not (isinstance(spec, dict) and spec.get("optional")):
            continue
        available = []
        for domain in method_domains(spec, domains):
            problems = validate_methods({key: spec}, [domain])
            if problems:
                dropped.append((key, f"{domain}: {problems[0]}"))
            else:
                available.append(domain)
        kept[key] = {**spec, "domains": available} if available else None
    return kept, dropped


def without_trained_explainers(methods):
    """``methods`` with those that load a trained model disabled (``None``), and their keys.

    Example
    -------
    >>> without_trained_explainers({"ig": {"explainer": "ig"}, "lmac": {"explainer": "lmac"}, "off": None})
    ({'ig': {'explainer': 'ig'}, 'lmac': None, 'off': None}, ['lmac'])
    """
    dropped = [k for k, spec in enabled(methods).items()
               if isinstance(spec, dict) and spec.get("explainer") in TRAINED_EXPLAINERS]
    return {k: (None if k in dropped else spec) for k, spec in (methods or {}).items()}, dropped


def method_label(key, spec):
    """The row label of a method in the tables: its ``label``, else its key.

    Example
    -------
    >>> method_label("l2i_rt02", {"explainer": "l2i", "label": "L2I, RT=0.2"}), method_label("ig", {})
    ('L2I, RT=0.2', 'ig')
    """
    return str(spec.get("label") or key)


def method_domains(spec, domains):
    """The domains (among ``domains``) a method spec runs in."""
    allowed = spec.get("domains")
    return [d for d in domains if allowed is None or d in allowed]


def validate_methods(methods, domains):
    """Problems of a method mapping that need no model: names, keys, checkpoint folders.

    Arguments
    ---------
    methods : dict
        ``key -> {explainer: name, label: row label, **options}``.
    domains : list of str
        The masking domains evaluated.

    Returns
    -------
    list of str
        One message per problem (empty when the methods can be built).

    Example
    -------
    >>> validate_methods({"x": {"explainer": "nope"}, "ok": {"explainer": "ones"}}, ["stft"])
    ["method 'x': unknown explainer 'nope' (known: ...)"]
    """
    problems = []
    methods = enabled(methods)
    known = available_explainers()
    for domain in domains:
        if domain not in DOMAINS:
            problems.append(f"unknown domain {domain!r} (choose among {DOMAINS})")
    if not methods:
        problems.append("no methods to evaluate")
    for key, spec in (methods or {}).items():
        where = f"method {key!r}"
        if not isinstance(spec, dict) or "explainer" not in spec:
            problems.append(f"{where}: needs a mapping with an 'explainer' key, got {spec!r}")
            continue
        name = spec["explainer"]
        if name not in known:
            problems.append(f"{where}: unknown explainer {name!r} (known: {', '.join(known)})")
            continue
        bad_domains = [d for d in spec.get("domains") or [] if d not in DOMAINS]
        if bad_domains:
            problems.append(f"{where}: unknown domain(s) {bad_domains} in 'domains'")
        for domain in method_domains(spec, domains):
            for key, value in spec.items():
                if isinstance(value, dict) and value and set(value) <= set(DOMAINS) and domain not in value:
                    problems.append(f"{where}: option {key!r} gives no value for domain {domain!r}")
        try:
            check_options(name, {k: v for k, v in spec.items() if k not in HARNESS_KEYS})
        except ConfigurationError as err:
            problems.append(f"{where}: {err}")
        if name not in TRAINED_EXPLAINERS:
            continue
        if spec.get("source") is None:
            problems.append(f"{where}: the {name} explainer needs 'source' (its recipe's save folder)")
            continue
        sources = {method_options(spec, d)[1].get("source") for d in method_domains(spec, domains)}
        for source in sorted(str(s) for s in sources if s is not None):
            problems.extend(_checkpoint_problems(where, name, source))
    return problems


def _checkpoint_problems(where, name, source):
    recipe = {"lmac": "train_lmac.py", "l2i": "train_l2i.py"}.get(name, "its training recipe")
    if not os.path.isdir(str(source)):
        return [f"{where}: checkpoint folder not found: {source} (train it with recipes/<DATASET>/{recipe})"]
    try:
        resolve_checkpoint_dir(str(source), min_key=CHECKPOINT_KEY)
    except UserFacingError as err:
        return [f"{where}: {err}"]
    return []


def build_explainers(methods, classifier, domains):
    """Build every ``(domain, key)`` explainer; returns ``(explainers, problems)``.

    Building loads the trained models, so wrong options or option values, a checkpoint of
    another domain or a corrupt file show up here, before any evaluation, as problems
    (:class:`~lmac_brain.errors.UserFacingError`). Any other exception is a bug in the method and
    propagates with its traceback.
    """
    explainers, problems = {}, []
    for key, spec in enabled(methods).items():
        for domain in method_domains(spec, domains):
            name, options = method_options(spec, domain)
            try:
                explainers[(domain, key)] = build_explainer(name, classifier, domain, **options)
            except UserFacingError as err:
                problems.append(f"method {key!r} ({domain}): cannot build {name!r}: {err}")
    return explainers, problems


def validate_configuration(methods, domains, conditions, manifests, sample_rate, signal_length_s, seed=0,
                           protocol=None, eval_split="test"):
    """Check the whole configuration before any work; return the built conditions.

    Arguments
    ---------
    methods : dict
        ``key -> {explainer: name, label: row label, **options}``.
    domains : list of str
        Masking domains.
    conditions : dict
        ``label -> {kind: ..., snr_db: ...}`` (see :func:`lmac_brain.evaluation.conditions.build_conditions`).
    manifests : dict
        ``hparams["manifests"]``.
    sample_rate : int
        Pipeline rate.
    signal_length_s : float
        Pipeline clip length.
    seed : int
        Seed of the conditions.
    protocol : str, optional
        Resolves the conditions' per-protocol options.
    eval_split : str
        The evaluated split.

    Returns
    -------
    dict
        ``label -> Condition``.

    Raises
    ------
    EvaluationConfigError
        Listing every problem found (methods, checkpoints, domains, conditions).
    """
    built, problems = build_conditions(conditions, manifests, sample_rate, signal_length_s, seed, protocol, eval_split)
    if eval_split not in manifests:
        problems.append(f"eval_split {eval_split!r} is not a prepared split (choose among train, valid, test)")
    if not built and not problems:
        problems.append("no conditions to evaluate")
    if not domains:
        problems.append("no domains to evaluate")
    raise_problems(validate_methods(methods, domains) + problems)
    return built


def raise_problems(problems):
    """Raise one :class:`EvaluationConfigError` listing ``problems`` (if any)."""
    if problems:
        raise EvaluationConfigError(
            "The evaluation configuration has %d problem(s); nothing was evaluated:\n  - %s"
            % (len(problems), "\n  - ".join(problems))
        )


# --------------------------------------------------------------------------------------------
# Results files
# --------------------------------------------------------------------------------------------
