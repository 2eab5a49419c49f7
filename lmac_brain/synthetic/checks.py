"""Argument checks of the twin makers (a :class:`ValueError` that names the argument)."""

import numpy as np


def check_positive(name, value, minimum=0.0):
    if not value > minimum:
        raise ValueError(f"{name} must be > {minimum}, got {value!r}")


def check_range(name, values, low=-np.inf, high=np.inf):
    try:
        a, b = (float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two numbers (low, high), got {values!r}") from None
    if not low <= a <= b <= high:
        raise ValueError(f"{name} must satisfy {low} <= low <= high <= {high}, got {values!r}")


def check_seed(seed):
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
