"""Result tables (Markdown) for logs, READMEs and the demo."""

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
