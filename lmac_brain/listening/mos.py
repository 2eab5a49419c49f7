"""Mean opinion scores of webMUSHRA ratings (paper Table 3 and Fig. 2).

The MOS per method, with one column per group of recordings (e.g. MOS-1 / MOS-2, Table 3), and
per method and recording (Fig. 2), each with its standard deviation and 95% interval.
"""

import math
from dataclasses import dataclass

from lmac_brain.errors import UsageError
from lmac_brain.listening.config import CONTROL_LABELS


@dataclass
class Stats:
    """Mean opinion score of some ratings, with its standard deviation and 95% interval."""

    n: int
    mean: float
    std: float
    ci95: float

    @classmethod
    def of(cls, scores):
        """Stats of a list of scores (``std`` with n - 1; ``ci95`` = 1.96 std / sqrt(n)).

        Example
        -------
        >>> s = Stats.of([40.0, 60.0])
        >>> s.n, s.mean, round(s.std, 3), round(s.ci95, 2)
        (2, 50.0, 14.142, 19.6)
        """
        n = len(scores)
        mean = sum(scores) / n
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1)) if n > 1 else 0.0
        return cls(n, mean, std, 1.96 * std / math.sqrt(n))


@dataclass
class MOSResult:
    """MOS per method and group of recordings, and per method and recording."""

    methods: list
    groups: dict
    overall: dict
    per_recording: dict
    recordings: list


def aggregate_mushra(ratings, groups=None, method_order=None):
    """Mean opinion scores of ``ratings``.

    Arguments
    ---------
    ratings : list of lmac_brain.listening.ratings.Rating
        From :func:`~lmac_brain.listening.ratings.read_mushra_csv`.
    groups : dict, optional
        ``column name -> list of trial ids`` (e.g. ``{"MOS-1": [...], "MOS-2": [...]}``, the
        columns of the paper's Table 3); default one column ``MOS`` over every trial.
    method_order : list, optional
        Stimulus ids in the order of the tables (the rest follow as first seen; the hidden
        reference and the anchors always come last).

    Returns
    -------
    MOSResult
        ``overall[(method, group)]`` and ``per_recording[(method, trial)]`` are :class:`Stats`.
    """
    recordings = list(dict.fromkeys(r.trial for r in ratings))
    groups = dict(groups or {"MOS": recordings})
    unknown = sorted({t for trials in groups.values() for t in trials} - set(recordings))
    if unknown:
        raise UsageError(f"Group(s) name trial(s) with no rating: {', '.join(unknown)}")
    seen = list(dict.fromkeys(r.stimulus for r in ratings))
    ordered = [m for m in (method_order or []) if m in seen] + [m for m in seen if m not in (method_order or [])]
    methods = [m for m in ordered if m not in CONTROL_LABELS] + [m for m in CONTROL_LABELS if m in seen]
    overall, per_recording = {}, {}
    for method in methods:
        for group, trials in groups.items():
            scores = [r.score for r in ratings if r.stimulus == method and r.trial in set(trials)]
            if scores:
                overall[(method, group)] = Stats.of(scores)
        for trial in recordings:
            scores = [r.score for r in ratings if r.stimulus == method and r.trial == trial]
            if scores:
                per_recording[(method, trial)] = Stats.of(scores)
    return MOSResult(methods, groups, overall, per_recording, recordings)


def parse_groups(specs):
    """``["MOS-1=rec01,rec02", ...]`` -> ``{"MOS-1": ["rec01", "rec02"], ...}``.

    Example
    -------
    >>> parse_groups(["MOS-1=rec01,rec02", "MOS-2=rec03"])
    {'MOS-1': ['rec01', 'rec02'], 'MOS-2': ['rec03']}
    """
    groups = {}
    for spec in specs or []:
        name, sep, trials = spec.partition("=")
        if not sep or not name.strip() or not trials.strip():
            raise UsageError(f"--group expects NAME=trial1,trial2,..., got {spec!r}")
        groups[name.strip()] = [t.strip() for t in trials.split(",") if t.strip()]
    return groups or None
