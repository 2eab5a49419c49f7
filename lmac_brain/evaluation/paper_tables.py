"""The paper's Tables 1 and 2, row by row, with our numbers under both protocols beside them.

For each table (Table 1: condition ``id``; Table 2: condition ``ood_mix``) and each block
(STFT-Mel, Mel), the rows are the paper's, in its order and with its labels, and the columns are
three groups: ours under the paper protocol, ours under the reference protocol (with ``AD_ref``,
the AD the authors' code computes, beside our ``AD``), and the values the paper published
(:mod:`lmac_brain.evaluation.published`). A row of ours that was not evaluated stays empty.

    python -m lmac_brain.evaluation.paper_tables results/esc50/eval_cnn14/1234/metrics.csv \
        --out results/esc50/eval_cnn14/1234/paper_tables.md
"""

import argparse
import logging

from lmac_brain.evaluation.protocols import PROTOCOL_TITLES
from lmac_brain.evaluation.published import ACCURACY, COLUMNS, NOTES, PAPER_ROWS, PUBLISHED, TABLE_TITLES
from lmac_brain.evaluation.tables import DOMAIN_LABELS, read_rows
from lmac_brain.reporting.tables import format_table

logger = logging.getLogger(__name__)

CONDITIONS = {"Table 1": "id", "Table 2": "ood_mix"}
"""The evaluation condition of each reproduced table."""

GROUPS = (
    ("paper", "p", COLUMNS),
    ("reference", "r", COLUMNS[:2] + ("AD_ref",) + COLUMNS[2:]),
)
"""Our column groups: (protocol, prefix, columns)."""

PUBLISHED_PREFIX = "pub"


def _published_cell(value):
    """A published value as printed (two decimals, or more where the paper gives more)."""
    if value is None:
        return ""
    return f"{value:.2f}" if round(value, 2) == value else f"{value:g}"


def _ours(row, column):
    value = row.get(column) if row else None
    return float(value) if value not in (None, "") else None


def index_rows(rows):
    """``{(protocol, dataset, condition, domain, method): row}`` of metrics.csv rows."""
    return {(r.get("protocol") or "paper", r["dataset"], r["condition"], r["domain"], r["method"]): r
            for r in rows}


def _accuracy(index, protocol, dataset, condition):
    for (p, d, c, _, _), row in index.items():
        if (p, d, c) == (protocol, dataset, condition) and row.get("accuracy") not in (None, ""):
            return f"{100 * float(row['accuracy']):.1f}% ({row['n']} mixtures)"
    return "not evaluated"


def format_paper_tables(rows, dataset=None):
    """Markdown of Tables 1-2 with the three column groups (see the module docstring).

    Arguments
    ---------
    rows : list of dict
        Rows of one or more ``metrics.csv`` (both protocols).
    dataset : str, optional
        The dataset whose rows are laid out (default: the first one found).

    Returns
    -------
    str
    """
    index = index_rows(rows)
    datasets = sorted({key[1] for key in index})
    dataset = dataset or (datasets[0] if datasets else "esc50")
    legend = ", ".join(f"`{prefix}:` ours, {protocol} protocol ({PROTOCOL_TITLES[protocol]})"
                       for protocol, prefix, _ in GROUPS)
    text = [
        f"# The paper's Tables 1-2 beside ours ({dataset})",
        "",
        (f"Column groups: {legend}; `{PUBLISHED_PREFIX}:` the values the paper published. "
         "Rows and labels are the paper's (docs/protocols.md explains the protocols)."),
        "",
    ]
    text += [f"- {note}" for note in NOTES]
    text.append("")
    for table, condition in CONDITIONS.items():
        text += [f"## {TABLE_TITLES[table]} (our condition `{condition}`)", ""]
        accuracies = "; ".join(
            f"{protocol} protocol {_accuracy(index, protocol, dataset, condition)}" for protocol, _, _ in GROUPS
        )
        text += [f"Classifier accuracy on the evaluated mixtures: {accuracies}; published: {ACCURACY[table]}.", ""]
        for domain in ("stft", "mel"):
            columns = ["row"]
            for _, prefix, group_columns in GROUPS:
                columns += [f"{prefix}:{c}" for c in group_columns]
            columns += [f"{PUBLISHED_PREFIX}:{c}" for c in COLUMNS]
            table_rows = []
            for method, label in PAPER_ROWS[(table, domain)]:
                line = {"row": label}
                for protocol, prefix, group_columns in GROUPS:
                    ours = index.get((protocol, dataset, condition, domain, method))
                    line.update({f"{prefix}:{c}": _ours(ours, c) for c in group_columns})
                published = PUBLISHED[(table, domain)].get(method, {})
                line.update({f"{PUBLISHED_PREFIX}:{c}": _published_cell(published.get(c)) for c in COLUMNS})
                table_rows.append(line)
            text += [f"### {table}, {DOMAIN_LABELS[domain]}", "", format_table(table_rows, columns), ""]
    return "\n".join(text)


def main(argv=None):
    """``python -m lmac_brain.evaluation.paper_tables metrics.csv [...] [--out FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="+", help="metrics.csv files of the evaluation (any protocol)")
    parser.add_argument("--dataset", default=None, help="dataset column to lay out (default: the first)")
    parser.add_argument("--out", default=None, help="write the Markdown here (default: print it)")
    args = parser.parse_args(argv)
    rows = [row for path in args.csv for row in read_rows(path)]
    markdown = format_paper_tables(rows, args.dataset)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(markdown + "\n")
        print(f"Tables 1-2 beside ours: {args.out}")
    else:
        print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
