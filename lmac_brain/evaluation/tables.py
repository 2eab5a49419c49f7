"""``metrics.csv`` and ``metrics.md``: the evaluation's results, one row per method and setting.

``metrics.csv`` has the header :data:`CSV_COLUMNS`, one row per
``(dataset, condition, domain, method)`` and empty cells where a metric had no valid item; rows
are appended as soon as they are done and a rerun skips the rows already there. ``metrics.md``
has one table per condition and domain, laid out like the paper's Tables 1-2, the all-ones
reference row last.
"""

from lmac_brain.metrics import METRIC_NAMES
from lmac_brain.reporting.results_csv import append_csv_row, read_csv_rows
from lmac_brain.reporting.tables import format_table

KEY_COLUMNS = ("dataset", "condition", "domain", "method")
CSV_COLUMNS = KEY_COLUMNS + ("label", "n") + METRIC_NAMES + ("sec_per_item",)
"""Header of ``metrics.csv``, in order: ``method`` is the configuration's key (``lmac_ft_lg4``),
``label`` the row label of the tables (``L-MAC FT l_g=4``)."""

BASELINE_EXPLAINER = "ones"
"""The reference row listed last in every Markdown table."""

DOMAIN_LABELS = {"stft": "STFT-Mel", "mel": "Mel"}
"""Row-group labels of the paper's tables."""

TABLE_COLUMNS = ("AI", "AD", "AG", "FF", "FidIn", "SPS", "COMP", "MM")


def read_rows(csv_path):
    """Rows of an existing ``metrics.csv`` (empty list when absent); checks the header."""
    return read_csv_rows(csv_path, CSV_COLUMNS)


def row_key(row):
    """The identity of a results row: ``(dataset, condition, domain, method)``."""
    return tuple(str(row[k]) for k in KEY_COLUMNS)


def append_row(csv_path, row):
    """Append one row to ``csv_path`` (writing the header first if the file is new)."""
    append_csv_row(csv_path, CSV_COLUMNS, row)


def _seconds(value):
    """Seconds per item with 3 significant digits (too small for the tables' 2 decimals)."""
    return "" if value in (None, "") else format(float(value), ".3g")


def format_markdown(rows, baselines=(), method_order=()):
    """Paper-style Markdown: one table per (dataset, condition, domain), baselines last.

    Arguments
    ---------
    rows : list of dict
        Rows as in ``metrics.csv`` (strings or numbers).
    baselines : collection of str
        Method keys listed last (the all-ones reference).
    method_order : sequence of str
        Preferred order of the other methods' keys (the configuration's).

    Returns
    -------
    str
    """
    def number(value):
        return float(value) if value not in (None, "") else None

    blocks, order = {}, []
    for row in rows:
        key = (row["dataset"], row["condition"], row["domain"])
        if key not in blocks:
            blocks[key] = []
            order.append(key)
        blocks[key].append(row)
    rank = {m: i for i, m in enumerate(method_order)}
    text = []
    for dataset, condition, domain in order:
        block = sorted(
            blocks[(dataset, condition, domain)],
            key=lambda r: (r["method"] in baselines, rank.get(r["method"], len(rank))),
        )
        columns = list(TABLE_COLUMNS)
        columns += [c for c in ("loc_auc", "loc_iou") if any(r.get(c) not in (None, "") for r in block)]
        table = [
            {"method": r.get("label") or r["method"], "n": r["n"], **{c: number(r.get(c)) for c in columns},
             "sec/item": _seconds(r.get("sec_per_item"))}
            for r in block
        ]
        title = f"### {dataset}, {condition}, {DOMAIN_LABELS.get(domain, domain)}"
        text += [title, "", format_table(table, ["method", "n"] + columns + ["sec/item"]), ""]
    return "\n".join(text)
