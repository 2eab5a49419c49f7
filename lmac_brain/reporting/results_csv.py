"""Append-only results CSVs: one row written as soon as it is done, read back to resume."""

import csv
import os


def read_csv_rows(path, columns):
    """Rows (dicts of strings) of the CSV at ``path``; ``[]`` when it does not exist yet.

    Raises ``ValueError`` when the file's header is not ``columns`` (a file of another
    version or another tool: move it away rather than mixing rows).
    """
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != tuple(columns):
            raise ValueError(
                f"{path} has header {reader.fieldnames}, expected {list(columns)}: "
                "move it away to start afresh"
            )
        return list(reader)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else format(value, ".6g")
    return str(value)


def append_csv_row(path, columns, row):
    """Append ``row`` (a dict) to the CSV at ``path``, writing the header if the file is new.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "r.csv")
    >>> append_csv_row(path, ("a", "b"), {"a": "x", "b": 0.5})
    >>> append_csv_row(path, ("a", "b"), {"a": "y", "b": float("nan")})
    >>> read_csv_rows(path, ("a", "b"))
    [{'a': 'x', 'b': '0.5'}, {'a': 'y', 'b': ''}]
    """
    new = not os.path.isfile(path) or os.path.getsize(path) == 0
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(columns)
        writer.writerow([_cell(row.get(k)) for k in columns])
