"""Evaluation conditions: how a clean test batch becomes the mixture the methods explain.

In-distribution: WHAM! noise, as in training. Out of distribution (paper Sec. 3.5): a mixture
with a test clip of another class, white noise, LJSpeech speech. Every condition is seeded *per
item* (``mixing.item_seed(item_id, seed)``), so an item gets the same mixture for every method,
every batch size and every batch order.
A condition returns the mixture and the part of it that is not the test clip (what it added),
so localization can score a mask against ``ideal_binary_mask(|E|, |mixture - E|)`` when the
item carries its clean event ``E``.

=================  ==================================================  ==================
kind               what is added to the test clip                      default SNR (dB)
=================  ==================================================  ==================
``clean``          nothing                                             --
``id``             WHAM! noise (tt split), as in training              uniform in [0, 15]
``ood_mix``        another test clip of *another* class                0
``white_noise``    white Gaussian noise                                3
``speech``         LJSpeech speech                                     3
=================  ==================================================  ==================

``snr_db`` is a number, or ``[low, high]`` for an SNR drawn per item (seeded) in that range.
Options that the reference protocol (the authors' code, docs/protocols.md) sets:

- ``normalize: max`` divides each mixture by its largest sample value, as the authors' code
  does (``mix / mix.max()``); ``added`` and the per-item ``gain`` are scaled with it.
- ``copies: N`` evaluates every item ``N`` times with independent draws (the authors mix each
  clip with 2 partners); copy ``k > 0`` is seeded as the item ``"<id>#k"``.
- ``ood_mix``: ``partners`` names the manifest split the partner clips come from (``test``;
  the authors mix fold-4 clips with fold-5 partners), ``other_class: False`` lets the partner
  be of any class (the authors draw it from the whole fold).
- ``id``: ``noise_split`` is the WHAM! split of the noise (``tt``; the authors use ``tr``).

The authors' levels, as SNRs: two unit-norm signals mixed as ``0.8 s + 0.2 n`` are at
``20 log10(4) = 12.04`` dB (OOD mixtures, LJSpeech); ``s/|s| + 0.5 n/|n|`` at
``20 log10(2) = 6.02`` dB (white noise); ``s/|s| + n/|n|`` at 0 dB (WHAM!). A peak
normalisation afterwards changes the level, not the ratio.

A condition whose data is missing raises :class:`MissingConditionData` when it is built.
"""

import abc
import collections
import json
import logging

import torch

from lmac_brain.audio.mixing import NoiseBank, item_seed, mix_at_snr
from lmac_brain.audio.reading import read_clip
from lmac_brain.errors import ConfigurationError, UserFacingError
from lmac_brain.evaluation.protocols import missing_choices, resolve

logger = logging.getLogger(__name__)

CONDITION_KINDS = ("clean", "id", "ood_mix", "white_noise", "speech")

DEFAULT_SNR_DB = {"id": (0.0, 15.0), "ood_mix": 0.0, "white_noise": 3.0, "speech": 3.0}
"""SNR of each contaminated condition when the configuration gives none (paper Sec. 3.5)."""

NORMALIZATIONS = (None, "max")
"""``None``: the mixture keeps the clip's level; ``"max"``: divided by its largest sample value."""

COMMON_OPTIONS = ("snr_db", "normalize", "copies")
KIND_OPTIONS = {"ood_mix": ("partners", "other_class"), "id": ("noise_split",)}

Mixture = collections.namedtuple("Mixture", ["mixture", "added", "gain"])
"""What a condition makes of a batch: ``mixture = gain * wavs + added`` (``gain`` ``[batch]``)."""


def copy_id(item_id, copy=0):
    """The id that seeds copy ``copy`` of an item (the item's own id for copy 0).

    Example
    -------
    >>> copy_id("5-1-A-3"), copy_id("5-1-A-3", 1)
    ('5-1-A-3', '5-1-A-3#1')
    """
    return str(item_id) if not copy else f"{item_id}#{int(copy)}"


class MissingConditionData(ConfigurationError):
    """A condition needs data (a manifest) that the experiment does not have."""


def _generator(item_id, seed):
    return torch.Generator().manual_seed(item_seed(item_id, seed))


class Condition(abc.ABC):
    """Base class: ``condition(wavs, item_ids)`` returns ``(mixture, added)``.

    Arguments
    ---------
    seed : int
        Condition seed; with the item id it fixes everything random about an item.
    snr_db : float or sequence of two floats or None
        Target-to-added-signal ratio in dB, or a ``[low, high]`` range drawn per item.
    name : str, optional
        Label of the condition (defaults to its kind).

    Example
    -------
    >>> clean = build_condition("clean")
    >>> wavs = torch.randn(2, 100)
    >>> mixture, added = clean(wavs, ["a", "b"])
    >>> torch.equal(mixture, wavs), bool((added == 0).all())
    (True, True)
    """

    kind = None

    def __init__(self, seed=0, snr_db=None, name=None, normalize=None, copies=1):
        self.seed = int(seed)
        if snr_db is not None and not isinstance(snr_db, (int, float)):
            try:
                values = tuple(float(v) for v in snr_db)
            except (TypeError, ValueError):
                values = ()
            if len(values) != 2 or values[0] > values[1]:
                raise ConfigurationError(f"snr_db must be a number or [low, high], got {snr_db!r}")
            snr_db = values
        if normalize not in NORMALIZATIONS:
            raise ConfigurationError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
        if int(copies) < 1:
            raise ConfigurationError(f"copies must be at least 1, got {copies}")
        self.snr_db = snr_db
        self.name = name or self.kind
        self.normalize = normalize
        self.copies = int(copies)

    def item_snr(self, item_id):
        """The SNR (dB) of ``item_id``: fixed, or drawn from the item's own generator."""
        if self.snr_db is None or isinstance(self.snr_db, (int, float)):
            return None if self.snr_db is None else float(self.snr_db)
        low, high = self.snr_db
        # A generator of its own (seed + 1), so the SNR draw never shifts the signal draw.
        gen = _generator(item_id, self.seed + 1)
        return low + (high - low) * float(torch.rand(1, generator=gen))

    @abc.abstractmethod
    def interference(self, item_ids, n_samples):
        """``[batch, n_samples]`` signal to add, one row per item."""

    def mix(self, wavs, item_ids, copy=0):
        """Contaminate a batch (copy ``copy`` of every item).

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]`` clean test clips.
        item_ids : sequence of str
            The items' ids (manifest keys), in batch order.
        copy : int
            Which of the condition's ``copies`` draws (0 for conditions with one).

        Returns
        -------
        Mixture
            ``mixture`` (``[batch, samples]``, what the classifier hears), ``added`` (everything
            in it that is not the test clip) and ``gain`` (``[batch]``, the test clip's scale in
            the mixture: 1 unless the mixture is normalised), so ``mixture = gain * wavs + added``.
        """
        if wavs.dim() != 2 or wavs.shape[0] != len(item_ids):
            raise ValueError(
                f"need [batch, samples] wavs with one id per row, got {tuple(wavs.shape)} "
                f"and {len(item_ids)} ids"
            )
        if not 0 <= int(copy) < self.copies:
            raise ValueError(f"copy must be in [0, {self.copies}), got {copy}")
        ids = [copy_id(i, copy) for i in item_ids]
        gain = torch.ones(wavs.shape[0], dtype=wavs.dtype, device=wavs.device)
        if self.snr_db is None:
            added = torch.zeros_like(wavs)
        else:
            signal = self.interference(ids, wavs.shape[-1]).to(wavs.device, wavs.dtype)
            snr = torch.tensor([self.item_snr(i) for i in ids], dtype=wavs.dtype, device=wavs.device)
            added = mix_at_snr(wavs, signal, snr) - wavs
        if self.normalize == "max":
            # The authors' `mix / mix.max()`: the largest sample value (not the largest magnitude).
            peak = (wavs + added).amax(dim=-1)
            scale = torch.where(peak > 0, 1.0 / peak.clamp_min(torch.finfo(wavs.dtype).tiny), 1.0)
            gain, added = scale, added * scale.unsqueeze(-1)
        return Mixture(gain.unsqueeze(-1) * wavs + added, added, gain)

    def __call__(self, wavs, item_ids, copy=0):
        """``(mixture, added)`` of :meth:`mix`."""
        mixture, added, _ = self.mix(wavs, item_ids, copy)
        return mixture, added

    def __repr__(self):
        extra = "".join(
            f", {k}={v!r}" for k, v in (("normalize", self.normalize), ("copies", self.copies))
            if v not in (None, 1)
        )
        return f"{type(self).__name__}(name={self.name!r}, snr_db={self.snr_db}, seed={self.seed}{extra})"

    def describe(self):
        """A short human-readable account of the condition (for the result tables).

        Example
        -------
        >>> build_condition("white_noise", snr_db=6.02, normalize="max", copies=2).describe()
        'white_noise: white noise at 6.02 dB, peak-normalised (max), 2 draws per item'
        """
        what = {"clean": "clean clips", "id": "WHAM! noise", "ood_mix": "another clip",
                "white_noise": "white noise", "speech": "LJSpeech speech"}[self.kind]
        text = what
        if self.snr_db is not None:
            snr = (f"{self.snr_db:g}" if isinstance(self.snr_db, (int, float))
                   else "U[{:g}, {:g}]".format(*self.snr_db))
            text += f" at {snr} dB"
        text += self._details()
        if self.normalize:
            text += f", peak-normalised ({self.normalize})"
        if self.copies > 1:
            text += f", {self.copies} draws per item"
        return f"{self.name}: {text}"

    def _details(self):
        return ""


class CleanCondition(Condition):
    """The test clips unchanged."""

    kind = "clean"

    def __init__(self, seed=0, name=None):
        super().__init__(seed, None, name)

    def interference(self, item_ids, n_samples):
        """Nothing is added."""
        return torch.zeros(len(item_ids), n_samples)


class BankCondition(Condition):
    """Adds a segment of a noise bank chosen per item (``NoiseBank.for_items``).

    Arguments
    ---------
    bank : lmac_brain.audio.mixing.NoiseBank
        Where the added signal comes from.
    seed, snr_db, name
        See :class:`Condition`.
    """

    def __init__(self, bank, seed=0, snr_db=0.0, name=None, normalize=None, copies=1, split=None):
        super().__init__(seed, snr_db, name, normalize, copies)
        self.bank = bank
        self.split = split

    def _details(self):
        return f" ({self.split} split)" if self.split else ""

    def interference(self, item_ids, n_samples):
        return self.bank.for_items(item_ids, n_samples, self.seed)


class WhamCondition(BankCondition):
    """In-domain: WHAM! noise, as in training."""

    kind = "id"


class SpeechCondition(BankCondition):
    """Out-of-domain: LJSpeech speech."""

    kind = "speech"


class WhiteNoiseCondition(Condition):
    """Out-of-domain: white Gaussian noise drawn per item.

    Example
    -------
    >>> cond = build_condition("white_noise", snr_db=10.0, seed=3)
    >>> wavs = torch.randn(2, 16000)
    >>> mixture, added = cond(wavs, ["x", "y"])
    >>> ratio = 10 * torch.log10(wavs.pow(2).mean(-1) / added.pow(2).mean(-1))
    >>> [round(float(r), 3) for r in ratio]
    [10.0, 10.0]
    """

    kind = "white_noise"

    def interference(self, item_ids, n_samples):
        return torch.stack([torch.randn(n_samples, generator=_generator(i, self.seed)) for i in item_ids])


class OODMixCondition(Condition):
    """Out-of-domain: a mixture with another clip (by default a test clip of another class).

    The partner of an item is drawn (per item, seeded) among the partner manifest's items, of
    a different class unless ``other_class`` is False, so it does not depend on the batch.

    Arguments
    ---------
    manifest : str or dict
        The partners' manifest (``{id: {"wav": path, "label": int, ...}}``), the test split by
        default.
    sample_rate : int
        Pipeline sample rate.
    signal_length_s : float
        Pipeline clip length.
    seed, snr_db, name, normalize, copies
        See :class:`Condition`.
    other_class : bool
        Draw the partner among the items of another class (True) or among all items but the
        item itself (False, the authors' draw).
    partners : str
        Name of the partners' split (for the tables).
    item_manifest : str or dict, optional
        Manifest of the evaluated items, for their classes (default: the partners' manifest).
    """

    kind = "ood_mix"

    def __init__(self, manifest, sample_rate, signal_length_s, seed=0, snr_db=0.0, name=None,
                 normalize=None, copies=1, other_class=True, partners="test", item_manifest=None):
        super().__init__(seed, snr_db, name, normalize, copies)
        manifest = _load_manifest(manifest)
        self.entries = {k: manifest[k] for k in sorted(manifest)}
        items = self.entries if item_manifest is None else _load_manifest(item_manifest)
        self.item_labels = {k: int(e["label"]) for k, e in items.items()}
        labels = {int(e["label"]) for e in self.entries.values()}
        if other_class and len(labels) < 2:
            raise MissingConditionData(
                f"Condition 'ood_mix' needs {partners} items of at least two classes; "
                f"the {partners} manifest has {len(self.entries)} item(s) of {len(labels)} class(es)"
            )
        if len(self.entries) < 2:
            raise MissingConditionData(f"Condition 'ood_mix' needs at least two {partners} items")
        self.sample_rate = sample_rate
        self.signal_length_s = signal_length_s
        self.other_class = bool(other_class)
        self.partners = partners

    def _details(self):
        return f" from the {self.partners} split" + (" (another class)" if self.other_class else "")

    def partner(self, item_id):
        """Id of the clip mixed into ``item_id`` (a copy id ``"<id>#k"`` too; same for every batch)."""
        base_id = str(item_id).split("#")[0]
        if base_id not in self.item_labels:
            raise KeyError(f"ood_mix: item {base_id!r} is not among the evaluated items")
        label = self.item_labels[base_id]
        candidates = [
            k for k, e in self.entries.items()
            if k != base_id and not (self.other_class and int(e["label"]) == int(label))
        ]
        index = int(torch.randint(len(candidates), (1,), generator=_generator(item_id, self.seed)))
        return candidates[index]

    def interference(self, item_ids, n_samples):
        clips = []
        for item_id in item_ids:
            partner = self.entries[self.partner(item_id)]["wav"]
            wav = read_clip(partner, self.sample_rate, self.signal_length_s)
            clips.append(torch.nn.functional.pad(wav, (0, max(0, n_samples - wav.numel())))[:n_samples])
        return torch.stack(clips)



def _load_manifest(manifest):
    if isinstance(manifest, dict):
        return manifest
    with open(manifest, encoding="utf-8") as f:
        return json.load(f)


def build_condition(kind, manifests=None, sample_rate=16000, signal_length_s=5.0, seed=0, name=None,
                    eval_split="test", **options):
    """Build the condition ``kind`` from the experiment's manifests.

    Arguments
    ---------
    kind : str
        One of :data:`CONDITION_KINDS`.
    manifests : dict, optional
        ``hparams["manifests"]``: the splits (``test``, ``valid``: evaluated items and ``ood_mix``
        partners), ``wham`` (``{"tt": path, "tr": path}``, for ``id``), ``ljspeech``
        (``{"all": path}``, for ``speech``).
    sample_rate : int
        Pipeline rate (Hz).
    signal_length_s : float
        Pipeline clip length.
    seed : int
        Condition seed.
    name : str, optional
        Label of the condition.
    eval_split : str
        The split whose items are evaluated (their classes matter to ``ood_mix``).
    **options
        ``snr_db`` (number or ``[low, high]``; defaults in :data:`DEFAULT_SNR_DB`), ``normalize``,
        ``copies``; ``partners``, ``other_class`` (``ood_mix``); ``noise_split`` (``id``). See
        the module docstring.

    Returns
    -------
    Condition

    Example
    -------
    >>> build_condition("id", manifests={})
    Traceback (most recent call last):
    ...
    lmac_brain.evaluation.conditions.MissingConditionData: Condition 'id' needs WHAM! noise ...
    """
    manifests = manifests or {}
    if kind not in CONDITION_KINDS:
        raise ConfigurationError(f"Unknown condition {kind!r}: choose one of {CONDITION_KINDS}")
    known = COMMON_OPTIONS + KIND_OPTIONS.get(kind, ())
    unknown = set(options) - set(known)
    if unknown:
        raise ConfigurationError(f"Condition {kind!r}: unknown option(s) {sorted(unknown)} (known: {', '.join(known)})")
    if kind == "clean":
        if options.get("snr_db") is not None:
            raise ConfigurationError("Condition 'clean' takes no snr_db")
        return CleanCondition(seed, name)
    common = {
        "snr_db": options.get("snr_db", DEFAULT_SNR_DB[kind]),
        "name": name,
        "normalize": options.get("normalize"),
        "copies": options.get("copies", 1),
    }
    if kind == "white_noise":
        return WhiteNoiseCondition(seed, **common)
    if kind == "ood_mix":
        partners = options.get("partners", "test")
        if not manifests.get(partners):
            raise MissingConditionData(f"Condition 'ood_mix' needs the {partners} manifest (its partners)")
        return OODMixCondition(
            manifests[partners], sample_rate, signal_length_s, seed,
            other_class=options.get("other_class", True), partners=partners,
            item_manifest=manifests.get(eval_split), **common,
        )
    if kind == "id":
        split = options.get("noise_split", "tt")
        path = (manifests.get("wham") or {}).get(split)
        if not path:
            raise MissingConditionData(
                f"Condition 'id' needs WHAM! noise (its {split} split): set --wham_folder=... "
                "(the folder containing wham_noise/), or drop 'id' from the conditions"
            )
        return WhamCondition(NoiseBank(path, sample_rate), seed, split=split, **common)
    path = (manifests.get("ljspeech") or {}).get("all")
    if not path:
        raise MissingConditionData(
            "Condition 'speech' needs LJSpeech: set --ljspeech_folder=... "
            "(the folder containing LJSpeech-1.1/), or drop 'speech' from the conditions"
        )
    return SpeechCondition(NoiseBank(path, sample_rate), seed, **common)


def build_conditions(config, manifests, sample_rate, signal_length_s, seed=0, protocol=None,
                     eval_split="test"):
    """Build every condition of ``config`` (``label -> {kind: ..., snr_db: ...}``).

    The kind defaults to the label (``white_noise: {snr_db: 3.0}``); ``{}`` means no options and
    ``None`` disables the condition (so an extending YAML can drop one). An option given per
    protocol (``snr_db: {paper: 3.0, reference: 6.02}``) takes the value of ``protocol``.
    Returns ``(conditions, problems)``: the conditions that could be built and one message per
    condition that could not, so the caller can report every problem at once.
    """
    conditions, problems = {}, []
    for label, options in (config or {}).items():
        if options is None:
            continue
        options = dict(options)
        missing = missing_choices(options, protocol)
        if missing:
            problems.append(f"condition {label!r}: option(s) {[p for p, _ in missing]} give no value "
                            f"for protocol {protocol!r}")
            continue
        options = resolve(options, protocol)
        kind = options.pop("kind", label)
        try:
            conditions[label] = build_condition(
                kind, manifests, sample_rate, signal_length_s, seed, name=label, eval_split=eval_split,
                **options
            )
        except UserFacingError as err:
            problems.append(f"condition {label!r}: {err}")
    return conditions, problems
