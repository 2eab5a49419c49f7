"""Accumulating per-item metric values over batches (and DDP processes) into means."""

import numpy as np
import torch

from lmac_brain.metrics.names import METRIC_NAMES


def _to_float64_cpu(values):
    if isinstance(values, torch.Tensor):
        return values.detach().to("cpu", torch.float64).reshape(-1)
    return torch.as_tensor(np.asarray(values, dtype=np.float64)).reshape(-1)


class MetricAccumulator:
    """Accumulates per-item metric values over batches and summarises them to means.

    Ours rather than SpeechBrain's ``MetricStats``, which keeps every value and neither skips
    nor counts ``NaN`` items.

    Each metric keeps a float64 sum, a count of valid items and a count of skipped items.
    ``NaN`` (and infinite) values are never added: they count as skipped, so a mean is never
    NaN. A metric whose items were all skipped has no mean: it is absent from
    :meth:`summarize` and visible in :meth:`skipped` (and :meth:`counts`).

    With DDP, when each process saw its own share of the items, call :meth:`all_reduce` on
    every process before summarising: it sums the totals of all processes (names seen by any of
    them included) with ``torch.distributed`` when it is initialised, and does nothing
    otherwise. When every process saw all the items, do not call it: the sums would count
    each item once per process. It never alters the local totals, so
    calling it twice does not double-count; a later :meth:`update` discards the reduced view.

    Example
    -------
    >>> acc = MetricAccumulator()
    >>> acc.update({"AI": torch.tensor([100.0, 0.0]), "SPS": torch.tensor([0.5, float("nan")])})
    >>> acc.update("AI", [100.0])
    >>> acc.update("COMP", np.array([]), n_skipped=2)
    >>> {k: round(v, 3) for k, v in acc.summarize().items()}
    {'AI': 66.667, 'SPS': 0.5}
    >>> acc.skipped()
    {'AI': 0, 'SPS': 1, 'COMP': 2}
    >>> acc.n_items()
    3
    """

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget every value."""
        self._totals = {}  # name -> [sum, count, skipped]
        self._reduced = None

    def update(self, name_or_dict, values=None, n_skipped=0):
        """Add the per-item values of one batch.

        Arguments
        ---------
        name_or_dict : str or dict
            A metric name with ``values``, or a ``{name: values}`` dict (e.g. the output of
            :func:`metrics_per_item`).
        values : torch.Tensor, numpy.ndarray, sequence or float
            Per-item values of ``name`` (any device); non-finite entries count as skipped.
        n_skipped : int
            Items skipped before the values were computed (e.g. the count returned by
            :func:`quantus_sparseness`); only with a single name.
        """
        if isinstance(name_or_dict, dict):
            if values is not None or n_skipped:
                raise ValueError("pass either a dict, or a name with its values")
            for name, vals in name_or_dict.items():
                self.update(name, vals)
            return
        if values is None:
            raise ValueError(f"no values given for {name_or_dict!r}")
        vals = _to_float64_cpu(values)
        finite = torch.isfinite(vals)
        tot = self._totals.setdefault(name_or_dict, [0.0, 0, 0])
        tot[0] += float(vals[finite].sum())
        tot[1] += int(finite.sum())
        tot[2] += int((~finite).sum()) + int(n_skipped)
        self._reduced = None

    def _view(self):
        return self._reduced if self._reduced is not None else self._totals

    def _names(self, names):
        ordered = [n for n in METRIC_NAMES if n in names]
        return ordered + [n for n in names if n not in METRIC_NAMES]

    def all_reduce(self):
        """Sum the totals over the DDP processes (collective: call it on every process).

        Returns
        -------
        bool
            Whether a reduction took place (False when ``torch.distributed`` is not initialised).
        """
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return False
        gathered = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, sorted(self._totals))
        names = sorted(set().union(*gathered))
        device = torch.device("cpu")
        if dist.get_backend() == "nccl":
            device = torch.device("cuda", torch.cuda.current_device())
        table = torch.tensor(
            [self._totals.get(n, [0.0, 0, 0]) for n in names], dtype=torch.float64, device=device
        ).reshape(len(names), 3)
        dist.all_reduce(table, op=dist.ReduceOp.SUM)
        table = table.cpu()
        self._reduced = {
            n: [float(row[0]), int(round(float(row[1]))), int(round(float(row[2])))]
            for n, row in zip(names, table)
        }
        return True

    def summarize(self):
        """Means of the metrics that have at least one valid item.

        Returns
        -------
        dict of str to float
            ``{name: mean}`` in :data:`METRIC_NAMES` order (other names after); never NaN.
        """
        view = self._view()
        return {n: view[n][0] / view[n][1] for n in self._names(view) if view[n][1] > 0}

    def skipped(self):
        """Number of skipped items per metric (every metric seen, zeros included)."""
        view = self._view()
        return {n: view[n][2] for n in self._names(view)}

    def n_items(self):
        """Number of items seen (0 when nothing was added).

        Every metric gets one value or one skip per item, so this is the largest of those
        totals; a metric fed only on some batches does not lower it.
        """
        view = self._view()
        return max((view[n][1] + view[n][2] for n in view), default=0)

    def counts(self):
        """Number of valid (averaged) items per metric."""
        view = self._view()
        return {n: view[n][1] for n in self._names(view)}

    def missing(self):
        """Metrics seen but with no valid item (hence absent from :meth:`summarize`)."""
        view = self._view()
        return [n for n in self._names(view) if view[n][1] == 0]
