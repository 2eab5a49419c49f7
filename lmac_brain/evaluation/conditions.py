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
A condition whose data is missing raises :class:`MissingConditionData` when it is built.
"""

import abc
import json
import logging

import torch

from lmac_brain.audio.mixing import NoiseBank, item_seed, mix_at_snr
from lmac_brain.audio.reading import read_clip
from lmac_brain.errors import ConfigurationError, UserFacingError

logger = logging.getLogger(__name__)

CONDITION_KINDS = ("clean", "id", "ood_mix", "white_noise", "speech")

DEFAULT_SNR_DB = {"id": (0.0, 15.0), "ood_mix": 0.0, "white_noise": 3.0, "speech": 3.0}
"""SNR of each contaminated condition when the configuration gives none (paper Sec. 3.5)."""


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

    def __init__(self, seed=0, snr_db=None, name=None):
        self.seed = int(seed)
        if snr_db is not None and not isinstance(snr_db, (int, float)):
            try:
                values = tuple(float(v) for v in snr_db)
            except (TypeError, ValueError):
                values = ()
            if len(values) != 2 or values[0] > values[1]:
                raise ConfigurationError(f"snr_db must be a number or [low, high], got {snr_db!r}")
            snr_db = values
        self.snr_db = snr_db
        self.name = name or self.kind

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

    def __call__(self, wavs, item_ids):
        """Contaminate a batch.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]`` clean test clips.
        item_ids : sequence of str
            The items' ids (manifest keys), in batch order.

        Returns
        -------
        mixture : torch.Tensor
            ``[batch, samples]`` what the classifier hears.
        added : torch.Tensor
            ``mixture - wavs``: everything that is not the test clip.
        """
        if wavs.dim() != 2 or wavs.shape[0] != len(item_ids):
            raise ValueError(
                f"need [batch, samples] wavs with one id per row, got {tuple(wavs.shape)} "
                f"and {len(item_ids)} ids"
            )
        if self.snr_db is None:
            return wavs, torch.zeros_like(wavs)
        signal = self.interference(list(item_ids), wavs.shape[-1]).to(wavs.device, wavs.dtype)
        snr = torch.tensor([self.item_snr(i) for i in item_ids], dtype=wavs.dtype, device=wavs.device)
        mixture = mix_at_snr(wavs, signal, snr)
        return mixture, mixture - wavs

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, snr_db={self.snr_db}, seed={self.seed})"


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

    def __init__(self, bank, seed=0, snr_db=0.0, name=None):
        super().__init__(seed, snr_db, name)
        self.bank = bank

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
    """Out-of-domain: a mixture with another test clip of another class.

    The partner of an item is drawn (per item, seeded) among the manifest's items of a
    different class, so it does not depend on the batch.

    Arguments
    ---------
    manifest : str or dict
        The test manifest (``{id: {"wav": path, "label": int, ...}}``).
    sample_rate : int
        Pipeline sample rate.
    clip_seconds : float
        Pipeline clip length.
    seed, snr_db, name
        See :class:`Condition`.
    """

    kind = "ood_mix"

    def __init__(self, manifest, sample_rate, clip_seconds, seed=0, snr_db=0.0, name=None):
        super().__init__(seed, snr_db, name)
        if not isinstance(manifest, dict):
            with open(manifest, encoding="utf-8") as f:
                manifest = json.load(f)
        self.entries = {k: manifest[k] for k in sorted(manifest)}
        labels = {int(e["label"]) for e in self.entries.values()}
        if len(labels) < 2:
            raise MissingConditionData(
                "Condition 'ood_mix' needs test items of at least two classes; "
                f"the test manifest has {len(self.entries)} item(s) of {len(labels)} class(es)"
            )
        self.sample_rate = sample_rate
        self.clip_seconds = clip_seconds

    def partner(self, item_id):
        """Id of the clip mixed into ``item_id`` (another class, same for every batch)."""
        if item_id not in self.entries:
            raise KeyError(f"ood_mix: item {item_id!r} is not in the test manifest")
        label = int(self.entries[item_id]["label"])
        candidates = [k for k, e in self.entries.items() if int(e["label"]) != label]
        index = int(torch.randint(len(candidates), (1,), generator=_generator(item_id, self.seed)))
        return candidates[index]

    def interference(self, item_ids, n_samples):
        clips = []
        for item_id in item_ids:
            wav = read_clip(self.entries[self.partner(item_id)]["wav"], self.sample_rate, self.clip_seconds)
            clips.append(torch.nn.functional.pad(wav, (0, max(0, n_samples - wav.numel())))[:n_samples])
        return torch.stack(clips)


def build_condition(kind, manifests=None, sample_rate=16000, clip_seconds=5.0, seed=0, name=None, **options):
    """Build the condition ``kind`` from the experiment's manifests.

    Arguments
    ---------
    kind : str
        One of :data:`CONDITION_KINDS`.
    manifests : dict, optional
        ``hparams["manifests"]``: ``test`` (for ``ood_mix``), ``wham`` (``{"tt": path}``, for
        ``id``), ``ljspeech`` (``{"all": path}``, for ``speech``).
    sample_rate : int
        Pipeline rate (Hz).
    clip_seconds : float
        Pipeline clip length.
    seed : int
        Condition seed.
    name : str, optional
        Label of the condition.
    **options
        ``snr_db`` (number or ``[low, high]``); defaults in :data:`DEFAULT_SNR_DB`.

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
    unknown = set(options) - {"snr_db"}
    if unknown:
        raise ConfigurationError(f"Condition {kind!r}: unknown option(s) {sorted(unknown)} (known: snr_db)")
    if kind == "clean":
        if options:
            raise ConfigurationError("Condition 'clean' takes no snr_db")
        return CleanCondition(seed, name)
    if kind not in CONDITION_KINDS:
        raise ConfigurationError(f"Unknown condition {kind!r}: choose one of {CONDITION_KINDS}")
    snr_db = options.get("snr_db", DEFAULT_SNR_DB[kind])
    if kind == "white_noise":
        return WhiteNoiseCondition(seed, snr_db, name)
    if kind == "ood_mix":
        if not manifests.get("test"):
            raise MissingConditionData("Condition 'ood_mix' needs the test manifest")
        return OODMixCondition(manifests["test"], sample_rate, clip_seconds, seed, snr_db, name)
    if kind == "id":
        path = (manifests.get("wham") or {}).get("tt")
        if not path:
            raise MissingConditionData(
                "Condition 'id' needs WHAM! noise (its tt split): set --wham_folder=... "
                "(the folder containing wham_noise/), or drop 'id' from the conditions"
            )
        return WhamCondition(NoiseBank(path, sample_rate), seed, snr_db, name)
    path = (manifests.get("ljspeech") or {}).get("all")
    if not path:
        raise MissingConditionData(
            "Condition 'speech' needs LJSpeech: set --ljspeech_folder=... "
            "(the folder containing LJSpeech-1.1/), or drop 'speech' from the conditions"
        )
    return SpeechCondition(NoiseBank(path, sample_rate), seed, snr_db, name)


def build_conditions(config, manifests, sample_rate, clip_seconds, seed=0):
    """Build every condition of ``config`` (``label -> {kind: ..., snr_db: ...}``).

    The kind defaults to the label (``white_noise: {snr_db: 3.0}``); ``{}`` means no options and
    ``None`` disables the condition (so an extending YAML can drop one). Returns ``(conditions, problems)``: the conditions that could be built and one
    message per condition that could not, so the caller can report every problem at once.
    """
    conditions, problems = {}, []
    for label, options in (config or {}).items():
        if options is None:
            continue
        options = dict(options)
        kind = options.pop("kind", label)
        try:
            conditions[label] = build_condition(
                kind, manifests, sample_rate, clip_seconds, seed, name=label, **options
            )
        except UserFacingError as err:
            problems.append(f"condition {label!r}: {err}")
    return conditions, problems
