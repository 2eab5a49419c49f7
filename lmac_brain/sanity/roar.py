"""RemOve And Retrain (ROAR, Hooker et al., 2019; paper Sec. 3.4, Fig. 4 left).

For each fraction ``k`` (percent) the ``k`` % of time-frequency bins that an interpreter ranks
most salient are zeroed in every item of every split, a fresh classifier is trained on the
masked training set and its test accuracy is measured on the equally masked test set. The
baseline zeroes ``k`` % of the bins at random. A faithful interpreter removes the evidence the
task needs, so accuracy falls faster than with random removal.

How it runs, cheaply:

- The interpreter's masks are computed ONCE per method and split, with the ORIGINAL classifier
  (the one being explained), and cached as removal ranks (:func:`removal_ranks`: one byte per
  bin, the percentile of the bin in the item's saliency order). Every ``k`` is then a
  threshold on the cached ranks (:func:`keep_mask`).
- The retrained classifier is a re-initialized copy of the original (same architecture and
  front-end) that reads the masked domain input (``|X|`` or the mel magnitude) through the
  classifier's own features (``AudioClassifier.logits_of_input``). A small loop trains it
  (Adam, fixed epochs); the epoch with the best validation accuracy gives the test accuracy.
- Points are appended to ``roar.csv`` (:data:`CSV_COLUMNS`) as soon as they finish; a rerun
  skips the ``(method, k, seed)`` points already there.
"""

import copy
import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm import tqdm

from lmac_brain.explainers import build_explainer
from lmac_brain.reporting.results_csv import append_csv_row, read_csv_rows
from lmac_brain.sanity.randomization import reinitialize

logger = logging.getLogger(__name__)

CSV_COLUMNS = ("method", "k", "seed", "n_train", "n_test", "valid_accuracy", "test_accuracy", "best_epoch", "sec")
"""Header of ``roar.csv``: one row per ``(method, k, seed)``; ``k`` in percent."""

RANDOM_LABEL = "Random"
"""Label of the random-removal baseline (drawn dashed in the figure)."""

N_BUCKETS = 100
"""Removal ranks are percentiles: ``k`` in whole percent selects exactly ``ceil(k n / 100)`` bins."""


# --------------------------------------------------------------------------------------------
# Removal ranks and masks
# --------------------------------------------------------------------------------------------
def removal_ranks(saliency, generator=None):
    """Percentile of each bin in its item's order of decreasing saliency, as ``uint8``.

    Rank 0 holds the most salient 1 % of an item's bins, rank 99 the least salient; ties are
    broken at random (``generator``), so a mask with large flat regions (GradCAM's zeros, a
    saturated L-MAC mask) removes a random subset of the tied bins rather than a block.

    Arguments
    ---------
    saliency : torch.Tensor
        ``[batch, ...]`` mask or attribution (larger = more salient).
    generator : torch.Generator, optional
        Generator of the tie-breaking permutation.

    Returns
    -------
    torch.Tensor
        ``uint8`` ranks in ``[0, 99]``, shape of ``saliency``, on the CPU.

    Example
    -------
    >>> removal_ranks(torch.tensor([[0.1, 0.9, 0.5, 0.2]]))
    tensor([[75,  0, 25, 50]], dtype=torch.uint8)
    """
    flat = saliency.detach().float().cpu().reshape(saliency.shape[0], -1)
    n = flat.shape[1]
    ranks = torch.empty(flat.shape, dtype=torch.uint8)
    for i, row in enumerate(flat):
        shuffle = torch.randperm(n, generator=generator)
        order = shuffle[torch.argsort(row[shuffle], descending=True, stable=True)]
        position = torch.empty(n, dtype=torch.long)
        position[order] = torch.arange(n)
        ranks[i] = (position * N_BUCKETS // n).to(torch.uint8)
    return ranks.reshape(saliency.shape)


def random_ranks(shape, generator=None):
    """Removal ranks of a random ordering (the baseline): ``removal_ranks`` of uniform noise."""
    return removal_ranks(torch.rand(shape, generator=generator), generator)


def keep_mask(ranks, k):
    """Binary mask keeping the bins outside the top ``k`` percent (float, ranks' shape).

    Example
    -------
    >>> ranks = removal_ranks(torch.arange(10.0).reshape(1, 10))
    >>> keep_mask(ranks, 30)
    tensor([[1., 1., 1., 1., 1., 1., 1., 0., 0., 0.]])
    """
    if not 0 <= k <= 100:
        raise ValueError(f"k is a percentage in [0, 100], got {k}")
    return (ranks >= k).float()


# --------------------------------------------------------------------------------------------
# Data held in memory
# --------------------------------------------------------------------------------------------
@dataclass
class Split:
    """The waveforms, labels and ids of one split, held in memory for the retraining loops."""

    ids: list
    wavs: torch.Tensor  # [n, samples]
    labels: torch.Tensor  # [n] long

    def __len__(self):
        return len(self.ids)

    @classmethod
    def from_dataset(cls, dataset, name="split"):
        """Read every item (``id``, ``sig``, ``class_index``) of a SpeechBrain dataset once."""
        ids, wavs, labels = [], [], []
        for item in tqdm(dataset, desc=f"reading {name}", unit="clip", leave=False):
            ids.append(item["id"])
            wavs.append(item["sig"])
            labels.append(int(item["class_index"]))
        return cls(ids, torch.stack(wavs), torch.tensor(labels, dtype=torch.long))


def domain_inputs(classifier, wavs, domain):
    """Domain representation (``|X|`` or mel magnitude) of a ``[batch, samples]`` waveform."""
    mag, _ = classifier.frontend.magnitude_phase(wavs)
    return classifier.domain_input(mag, domain)


def method_ranks(classifier, explainer, split, domain, batch_size=8, seed=0, device="cpu"):
    """Removal ranks of every item of ``split``: from ``explainer``'s masks, or random if None.

    The explainer explains the classifier's own decision on each (unmasked) item.
    """
    generator = torch.Generator().manual_seed(seed)
    out = []
    batches = torch.arange(len(split)).split(batch_size)
    for index in tqdm(batches, desc="masks", unit="batch", leave=False):
        with torch.no_grad():
            x = domain_inputs(classifier, split.wavs[index].to(device), domain)
        if explainer is None:
            out.append(random_ranks(x.shape, generator))
        else:
            out.append(removal_ranks(explainer(x), generator))
    return torch.cat(out)


def method_key(label, name, options, domain, seed):
    """File-name-safe key of a method's cached ranks (label + hash of its configuration).

    Example
    -------
    >>> method_key("L-MAC FT", "lmac", {"source": "a"}, "stft", 0)[:9]
    'L-MAC_FT-'
    """
    spec = repr((name, sorted((options or {}).items()), domain, seed))
    digest = hashlib.sha1(spec.encode()).hexdigest()[:10]
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', label)}-{digest}"


def cached_ranks(path, ids, compute):
    """Ranks stored at ``path`` for ``ids``, or ``compute()`` them and store them there."""
    if os.path.isfile(path):
        stored = torch.load(path, map_location="cpu")
        if stored.get("ids") == list(ids):
            return stored["ranks"]
        logger.info("Cached masks %s are for other items: recomputing", path)
    ranks = compute()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save({"ids": list(ids), "ranks": ranks}, path + ".tmp")
    os.replace(path + ".tmp", path)
    return ranks


# --------------------------------------------------------------------------------------------
# Retraining
# --------------------------------------------------------------------------------------------
def fresh_classifier(classifier, seed):
    """A copy of ``classifier`` with every parameter re-initialized from ``seed``."""
    model = copy.deepcopy(classifier)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reinitialize(model)
    return model


def masked_batch(model, split, ranks, index, k, domain, device):
    """Masked domain inputs (top ``k`` % removed) and labels of ``split[index]``."""
    with torch.no_grad():
        x = domain_inputs(model, split.wavs[index].to(device), domain)
        x = x * keep_mask(ranks[index], k).to(device)
    return x, split.labels[index].to(device)


@torch.no_grad()
def accuracy(model, split, ranks, k, domain, batch_size=8, device="cpu"):
    """Accuracy of ``model`` on ``split`` with the top ``k`` % of each item's bins removed."""
    model.eval()
    correct = 0
    for index in torch.arange(len(split)).split(batch_size):
        x, labels = masked_batch(model, split, ranks, index, k, domain, device)
        correct += int((model.logits_of_input(x, domain).argmax(-1) == labels).sum())
    return correct / max(len(split), 1)


def retrain_and_test(classifier, splits, ranks, k, domain, seed, epochs=10, lr=1e-3,
                     weight_decay=0.0, batch_size=16, device="cpu"):
    """Train a re-initialized copy of ``classifier`` on masked data; its accuracies.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        Gives the architecture and front-end (its weights are not used).
    splits : dict
        ``"train"``, ``"valid"``, ``"test"`` -> :class:`Split`.
    ranks : dict
        Same keys -> ``uint8`` removal ranks of every item.
    k : int
        Percent of bins removed.
    domain : str
        ``"stft"`` or ``"mel"``.
    seed : int
        Initialization and batch order.
    epochs, lr, weight_decay, batch_size
        Adam training settings.
    device : str
        Where to train.

    Returns
    -------
    dict
        ``valid_accuracy`` (best epoch), ``test_accuracy`` (at that epoch), ``best_epoch``.
    """
    model = fresh_classifier(classifier, seed).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    train = splits["train"]
    best = {"valid_accuracy": -1.0, "best_epoch": 0, "state": None}
    for epoch in range(1, epochs + 1):
        model.train()
        for index in torch.randperm(len(train), generator=generator).split(batch_size):
            if len(index) < 2:  # batch norm cannot train on a single item
                continue
            x, labels = masked_batch(model, train, ranks["train"], index, k, domain, device)
            loss = F.cross_entropy(model.logits_of_input(x, domain), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        valid = accuracy(model, splits["valid"], ranks["valid"], k, domain, batch_size, device)
        if valid > best["valid_accuracy"]:
            best = {"valid_accuracy": valid, "best_epoch": epoch, "state": copy.deepcopy(model.state_dict())}
    model.load_state_dict(best.pop("state"))
    best["test_accuracy"] = accuracy(model, splits["test"], ranks["test"], k, domain, batch_size, device)
    return best


# --------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------
def run_roar(classifier, methods, splits, csv_path, cache_folder, fractions, seeds, domain="stft",
             train_options=None, mask_batch_size=8, rank_seed=0, device="cpu"):
    """ROAR for every method and the random baseline; rows appended to ``csv_path``.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The trained classifier: its interpretations rank the bins; its architecture is
        retrained.
    methods : dict
        ``label -> (explainer name, options)``. The random baseline (:data:`RANDOM_LABEL`) is
        added first.
    splits : dict
        ``"train"``, ``"valid"``, ``"test"`` -> :class:`Split`.
    csv_path : str
        ``roar.csv``; the ``(method, k, seed)`` points already there are skipped.
    cache_folder : str
        Where the removal ranks of each method and split are cached.
    fractions : list of int
        ``k`` values, percent of bins removed.
    seeds : list of int
        Retraining seeds (one point per seed).
    domain : str
        ``"stft"`` or ``"mel"``.
    train_options : dict
        Options of :func:`retrain_and_test` (``epochs``, ``lr``, ``weight_decay``,
        ``batch_size``).
    mask_batch_size : int
        Items per explainer call when computing the masks.
    rank_seed : int
        Seed of the random baseline and of the tie-breaking.
    device : str
        Where masks are computed and classifiers trained.

    Returns
    -------
    list of dict
        Every row of ``csv_path`` (previous and new).
    """
    classifier = classifier.to(device).eval()
    done = {(r["method"], int(r["k"]), int(r["seed"])) for r in read_csv_rows(csv_path, CSV_COLUMNS)}
    all_methods = {RANDOM_LABEL: (None, {}), **methods}
    points = [(label, k, s) for label in all_methods for k in fractions for s in seeds]
    todo = [p for p in points if p not in done]
    if len(todo) < len(points):
        logger.info("ROAR: %d of %d points already in %s, skipped", len(points) - len(todo), len(points), csv_path)
    progress = tqdm(total=len(todo), desc="ROAR", unit="point")
    for label, (name, options) in all_methods.items():
        pending = [p for p in todo if p[0] == label]
        if not pending:
            continue
        explainer = None if name is None else build_explainer(name, classifier, domain, **options)
        key = method_key(label, name, options, domain, rank_seed)
        ranks = {
            split_name: cached_ranks(
                os.path.join(cache_folder, f"{key}_{split_name}.pt"),
                split.ids,
                lambda split=split: method_ranks(classifier, explainer, split, domain, mask_batch_size, rank_seed, device),
            )
            for split_name, split in splits.items()
        }
        for _, k, seed in pending:
            start = time.perf_counter()
            result = retrain_and_test(classifier, splits, ranks, k, domain, seed, device=device, **(train_options or {}))
            row = {"method": label, "k": k, "seed": seed, "n_train": len(splits["train"]),
                   "n_test": len(splits["test"]), **result, "sec": time.perf_counter() - start}
            append_csv_row(csv_path, CSV_COLUMNS, row)
            logger.info("ROAR %s, k=%d%%, seed %d: test accuracy %.3f (valid %.3f, epoch %d)",
                        label, k, seed, row["test_accuracy"], row["valid_accuracy"], row["best_epoch"])
            progress.update()
    progress.close()
    return read_csv_rows(csv_path, CSV_COLUMNS)
