"""Source recordings of the ESC-50 and UrbanSound8K twins: unique ids and groups of takes.

In both datasets several clips come from one source recording (ESC-50's takes ``A``, ``B``,
``C``; UrbanSound8K's slices of one ``fsID``), of one class and in one fold.
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
