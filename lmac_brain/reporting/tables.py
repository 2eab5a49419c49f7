"""Result tables (Markdown) for logs, READMEs and the demo."""

import argparse
import json
import math


def format_value(value):
    """Two decimals for floats, empty for missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def format_table(rows, columns=None):
    """A Markdown table of ``rows`` (dicts); columns default to the keys in first-seen order.

    Example
    -------
    >>> print(format_table([{"method": "a", "AI": 1.234}, {"method": "b", "AI": float("nan")}]))
    | method | AI |
    |---|---|
    | a | 1.23 |
    | b |  |
    """
    if columns is None:
        columns = []
        for row in rows:
            columns += [key for key in row if key not in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(format_value(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def write_json(path, obj):
    """Write ``obj`` as indented JSON (floats as they are; NaN written as null)."""
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in obj.items()}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(clean, f, indent=2)


def main(argv=None):
    """``python -m lmac_brain.reporting.tables a.json b.json ...``: one Markdown table of result rows."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("files", nargs="+", help="JSON files, one result row each")
    args = parser.parse_args(argv)
    rows = []
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            rows.append(json.load(f))
    print(format_table(rows))


if __name__ == "__main__":
    main()
