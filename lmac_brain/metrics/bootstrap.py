"""Bootstrap intervals over the evaluated clips.

A table's mean hides how much it depends on which clips were drawn; with 80 test clips, a
difference of a few AI points can be luck. The percentile bootstrap resamples the clips with
replacement and reads the interval off the resampled means.
"""

import numpy as np


def bootstrap_interval(values, level=0.95, n_resamples=2000, seed=0):
    """``(mean, low, high)`` of the finite ``values``, with a percentile bootstrap interval.

    Arguments
    ---------
    values : sequence of float
        One value per clip (``NaN``: the metric skipped that clip, left out).
    level : float
        Coverage of the interval.
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the resampling (the same clips give the same interval).

    Returns
    -------
    tuple of float
        ``(nan, nan, nan)`` when no value is finite.

    Example
    -------
    >>> mean, low, high = bootstrap_interval([0.0, 1.0] * 40)
    >>> mean, 0.38 < low < 0.5 < high < 0.62
    (0.5, True)
    >>> bootstrap_interval([7.0, 7.0, float("nan")])
    (7.0, 7.0, 7.0)
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_resamples, values.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(values.mean()), float(low), float(high)
