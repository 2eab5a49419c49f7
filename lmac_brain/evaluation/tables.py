"""``metrics.csv`` and ``metrics.md``: the evaluation's results, one row per method and setting.

``metrics.csv`` has the header :data:`CSV_COLUMNS`, one row per
``(protocol, dataset, condition, domain, method)`` and empty cells where a metric had no valid
item; rows are appended as soon as they are done and a rerun skips the rows already there.
``metrics.md`` has one section per protocol (its settings listed first), and in it one table per
condition and domain, laid out like the paper's: the conditions of Tables 1 and 2 (``id``,
``ood_mix``) list the paper's rows in the paper's order, the header gives the classifier's
accuracy on the evaluated mixtures, ``AD_ref`` (the authors' AD) stands beside ``AD`` in the
reference protocol, and the all-ones reference row comes last.
"""

import json
import os

from lmac_brain.evaluation.protocols import PROTOCOL_TITLES, PROTOCOLS
from lmac_brain.evaluation.published import PAPER_ROWS, TABLES
from lmac_brain.metrics import LISTENABILITY_NAMES, LOCALIZATION_NAMES, METRIC_NAMES
from lmac_brain.reporting.results_csv import append_csv_row, read_csv_rows
from lmac_brain.reporting.tables import format_table

KEY_COLUMNS = ("protocol", "dataset", "condition", "domain", "method")
RESULT_METRICS = METRIC_NAMES[:2] + ("AD_ref",) + METRIC_NAMES[2:]
"""The metric columns of ``metrics.csv``: :data:`METRIC_NAMES` with ``AD_ref`` after ``AD``."""
COUNTED_METRICS = ("SPS", "COMP", "loc_auc", "loc_iou")
"""Metrics that skip items they are undefined for (constant maps, empty ideal masks): their
number of averaged items is a column of its own, ``n_<metric>``."""
CSV_COLUMNS = (KEY_COLUMNS + ("label", "mask_space", "n", "accuracy") + RESULT_METRICS + ("template_share",)
               + tuple(f"n_{m}" for m in COUNTED_METRICS) + ("sec_per_item",))
"""Header of ``metrics.csv``, in order: ``protocol`` is ``paper`` or ``reference``, ``method`` is
the configuration's key (``lmac_ft_lg4``), ``label`` the row label of the tables (``L-MAC FT
l_g=4``), ``n`` the number of evaluated mixtures, ``accuracy`` the classifier's on them,
``template_share`` the share of the masks' variance their average mask explains and ``n_SPS`` ...
the items each skipping metric averaged; ``mask_space`` is how the masks were applied for the
metrics (``linear``: ``M*|X|``; ``log1p``: ``expm1(M*log1p|X|)``)."""

ITEMS_FILE = "metrics_items.csv"
"""Beside ``metrics.csv``: one row per evaluated mixture and method, with its metric values."""
ITEM_COLUMNS = KEY_COLUMNS + ("item", "accuracy") + RESULT_METRICS
"""Header of ``metrics_items.csv`` (empty cells: the metric skipped that item)."""

BASELINE_EXPLAINER = "ones"
"""The reference row listed last in every Markdown table."""

DOMAIN_LABELS = {"stft": "STFT-Mel", "mel": "Mel"}
"""Row-group labels of the paper's tables."""

TABLE_COLUMNS = ("AI", "AD", "AG", "FF", "FidIn", "SPS", "COMP", "MM", "template_share")

NOTES_FILE = "protocols.json"
"""Beside ``metrics.csv``: the settings of each protocol evaluated there (lines of text)."""


def read_rows(csv_path):
    """Rows of an existing ``metrics.csv`` (empty list when absent); checks the header."""
    return read_csv_rows(csv_path, CSV_COLUMNS)


def row_key(row):
    """The identity of a results row: ``(protocol, dataset, condition, domain, method)``."""
    return tuple(str(row[k]) for k in KEY_COLUMNS)


def append_row(csv_path, row):
    """Append one row to ``csv_path`` (writing the header first if the file is new)."""
    append_csv_row(csv_path, CSV_COLUMNS, row)


def read_protocol_notes(folder):
    """``{protocol: [lines]}`` saved beside ``metrics.csv`` (empty when none)."""
    path = os.path.join(folder, NOTES_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_protocol_notes(folder, notes):
    """Save ``{protocol: [lines]}`` beside ``metrics.csv``."""
    with open(os.path.join(folder, NOTES_FILE), "w", encoding="utf-8") as f:
        json.dump(notes, f, indent=2)


def _seconds(value):
    """Seconds per item with 3 significant digits (too small for the tables' 2 decimals)."""
    return "" if value in (None, "") else format(float(value), ".3g")


def _number(value):
    return float(value) if value not in (None, "") else None


def paper_order(condition, domain):
    """Method keys of the paper's table for ``condition`` in ``domain``, in its row order."""
    return [key for key, _ in PAPER_ROWS.get((TABLES.get(condition), domain), [])]


def accuracy_text(rows):
    """``"classifier accuracy 62.5% on 80 mixtures"`` from rows of one condition (or ``""``)."""
    values = [(_number(r.get("accuracy")), r.get("n")) for r in rows if _number(r.get("accuracy")) is not None]
    if not values:
        return ""
    accuracy, n = values[0]
    return f"classifier accuracy {100 * accuracy:.1f}% on {n} mixtures"


def format_markdown(rows, baselines=(), method_order=(), notes=None):
    """Paper-style Markdown: per protocol, one table per (dataset, condition, domain).

    Arguments
    ---------
    rows : list of dict
        Rows as in ``metrics.csv`` (strings or numbers); rows without ``protocol`` count as
        ``paper``.
    baselines : collection of str
        Method keys listed last (the all-ones reference).
    method_order : sequence of str
        Preferred order of the other methods' keys (the configuration's); the conditions of
        the paper's Tables 1-2 follow the paper's order first.
    notes : dict, optional
        ``{protocol: [lines]}``: the protocol's settings, listed above its tables.

    Returns
    -------
    str
    """
    notes = notes or {}
    by_protocol = {}
    for row in rows:
        by_protocol.setdefault(row.get("protocol") or "paper", []).append(row)
    protocols = [p for p in PROTOCOLS if p in by_protocol] + [p for p in by_protocol if p not in PROTOCOLS]
    text = []
    for protocol in protocols:
        title = PROTOCOL_TITLES.get(protocol, protocol)
        text += [f"## Protocol `{protocol}`: {title} (docs/protocols.md)", ""]
        text += [f"- {line}" for line in notes.get(protocol, [])]
        if notes.get(protocol):
            text.append("")
        text += _protocol_tables(by_protocol[protocol], protocol, baselines, method_order)
    return "\n".join(text)


def _protocol_tables(rows, protocol, baselines, method_order):
    blocks, order = {}, []
    for row in rows:
        key = (row["dataset"], row["condition"], row["domain"])
        if key not in blocks:
            blocks[key] = []
            order.append(key)
        blocks[key].append(row)
    text = []
    for dataset, condition, domain in order:
        paper_rank = {m: i for i, m in enumerate(paper_order(condition, domain))}
        rank = {m: i for i, m in enumerate(method_order)}
        block = sorted(
            blocks[(dataset, condition, domain)],
            key=lambda r: (r["method"] in baselines, paper_rank.get(r["method"], len(paper_rank)),
                           rank.get(r["method"], len(rank))),
        )
        columns = list(TABLE_COLUMNS)
        if protocol == "reference":
            columns.insert(columns.index("AD") + 1, "AD_ref")
        columns += [c for c in LOCALIZATION_NAMES + LISTENABILITY_NAMES
                    if any(r.get(c) not in (None, "") for r in block)]
        spaces = sorted({r.get("mask_space") or "" for r in block} - {""})
        table = [
            {"method": r.get("label") or r["method"], "n": r["n"], **{c: _number(r.get(c)) for c in columns},
             "n per metric": counts_text(r), "sec/item": _seconds(r.get("sec_per_item")),
             **({"mask space": r.get("mask_space")} if len(spaces) > 1 else {})}
            for r in block
        ]
        title = f"### {dataset}, {condition}, {DOMAIN_LABELS.get(domain, domain)}"
        space_text = len(spaces) == 1 and f"masks applied in the {spaces[0]} space ({SPACE_FORMULAS.get(spaces[0], '')})"
        details = [d for d in (TABLES.get(condition) and f"as the paper's {TABLES[condition]}",
                               accuracy_text(block), space_text) if d]
        if details:
            title += f" ({'; '.join(details)})"
        extra = ["mask space"] if len(spaces) > 1 else []
        text += [title, "", format_table(table, ["method", "n"] + columns + ["n per metric", "sec/item"] + extra), ""]
    return text


SPACE_FORMULAS = {"linear": "M*|X|", "log1p": "expm1(M*log1p|X|)"}


def counts_text(row):
    """The metrics that averaged fewer items than ``n`` (constant maps and the like are skipped),
    e.g. ``"SPS 78, COMP 78"``; ``"all"`` when none did.

    Example
    -------
    >>> counts_text({"n": "80", "n_SPS": "78", "n_COMP": "78", "n_loc_auc": "80"})
    'SPS 78, COMP 78'
    >>> counts_text({"n": "80", "n_SPS": "80"})
    'all'
    """
    n = row.get("n")
    fewer = [f"{m} {row[f'n_{m}']}" for m in COUNTED_METRICS
             if row.get(f"n_{m}") not in (None, "") and str(row[f"n_{m}"]) != str(n)]
    return ", ".join(fewer) or "all"
