"""The ratings of a webMUSHRA test: its ``results/<testId>/mushra.csv`` files.

webMUSHRA's ``service/write.php`` appends one row per rated stimulus (columns ``trial_id,
rating_stimulus, rating_score``, plus the session and questionnaire columns); each becomes a
:class:`Rating`.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

from lmac_brain.errors import InputError


@dataclass
class Rating:
    """One score of one listener for one stimulus of one page."""

    trial: str
    stimulus: str
    score: float
    session: str = ""


REQUIRED_COLUMNS = ("trial_id", "rating_stimulus", "rating_score")


def read_mushra_csv(paths):
    """The ratings of webMUSHRA ``mushra.csv`` files (several files are concatenated)."""
    ratings = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        try:
            with open(path, encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                columns = [c.strip() for c in reader.fieldnames or []]
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise InputError(f"Cannot read the webMUSHRA results {path}: {err}") from err
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise InputError(f"{path} is not a webMUSHRA mushra.csv: no column(s) {', '.join(missing)}")
        for line, row in enumerate(rows, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            try:
                score = float(row["rating_score"])
            except ValueError as err:
                raise InputError(f"{path}:{line}: rating_score {row['rating_score']!r} is not a number") from err
            ratings.append(Rating(row["trial_id"], row["rating_stimulus"], score, row.get("session_uuid", "")))
    if not ratings:
        raise InputError("No rating in the results")
    return ratings
