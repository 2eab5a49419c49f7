"""Source recordings of the ESC-50 and UrbanSound8K twins: unique ids and groups of takes.

In both datasets several clips come from one source recording (ESC-50's takes ``A``, ``B``,
``C``; UrbanSound8K's slices of one ``fsID``), of one class and in one fold (:func:`takes`).
"""

import numpy as np

_GROUP_P = np.array([0.6, 0.3, 0.1])


def unique_ids(rng, count, low, high):
    """``count`` distinct integers drawn from ``[low, high)``, in the order drawn."""
    ids, seen = [], set()
    while len(ids) < count:
        value = int(rng.integers(low, high))
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids


def group_sizes(rng, total, max_size=3):
    """Split ``total`` items into consecutive groups of 1..max_size (several takes of a source)."""
    sizes = []
    while sum(sizes) < total:
        sizes.append(min(total - sum(sizes), int(rng.choice(np.arange(1, max_size + 1),
                                                            p=_GROUP_P[:max_size] /
                                                            _GROUP_P[:max_size].sum()))))
    return sizes


def takes(rng, n_folds, n_classes, clips_per_class_per_fold):
    """The clips of a twin, ``(fold, target, k, take)``, fold by fold and class by class.

    ``k`` counts the clips of one class in one fold; ``take`` is the clip's index within its
    source (0 starts a new source), groups drawn by :func:`group_sizes`.

    Example
    -------
    >>> plan = takes(np.random.default_rng(0), 2, 1, 3)
    >>> [(fold, target, k) for fold, target, k, _ in plan]
    [(1, 0, 0), (1, 0, 1), (1, 0, 2), (2, 0, 0), (2, 0, 1), (2, 0, 2)]
    >>> all(take == 0 or prev[3] == take - 1 for prev, (*_, take) in zip(plan, plan[1:]))
    True
    """
    clips = []
    for fold in range(1, n_folds + 1):
        for target in range(n_classes):
            k = 0
            for size in group_sizes(rng, clips_per_class_per_fold):
                for take in range(size):
                    clips.append((fold, target, k, take))
                    k += 1
    return clips
