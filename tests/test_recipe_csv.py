"""Every recipe x paper hparams file, run the way SpeechBrain's recipe tester runs it.

SpeechBrain lists the recipes of a dataset in ``tests/recipes/<Dataset>.csv`` and its tester
(``tests/utils/recipe_tests.py``) runs each row as::

    python <Script_file> <Hparam_file> <test_debug_flags> --output_folder=<folder> --debug --debug_persistently

then checks ``test_debug_checks`` (``file_exists=[...]``, relative to the output folder). This
test does the same for our two CSVs, on the small real-layout samples in ``tests/samples/``
(classes that are a non-contiguous subset of the real numbering).
"""

import csv
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CSV_FILES = sorted((ROOT / "tests" / "recipes").glob("*.csv"))
HEADER = ["Task", "Dataset", "Script_file", "Hparam_file", "Data_prep_file", "Readme_file", "Result_url",
          "HF_repo", "test_debug_flags", "test_debug_checks", "performance"]


def recipe_rows():
    rows = []
    for path in CSV_FILES:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f, skipinitialspace=True)
            assert reader.fieldnames == HEADER, path
            for i, row in enumerate(reader):
                rows.append(pytest.param(row, id=f"{path.stem}-{i}-{Path(row['Script_file']).stem}-"
                                                 f"{Path(row['Hparam_file']).stem}"))
    return rows


def expected_files(check):
    match = re.search(r"file_exists=\[(.*?)\]", check)
    assert match, check
    return [name.strip() for name in match.group(1).split(",")]


def test_every_recipe_script_and_paper_hparams_file_has_a_row():
    scripts = {p.relative_to(ROOT).as_posix() for p in (ROOT / "recipes").glob("*/*.py")}
    hparams_driven = {s for s in scripts if not s.endswith(("interpret.py", "listening_test.py", "paper_tables.py"))}
    rows = [r.values[0] for r in recipe_rows()]
    assert {r["Script_file"] for r in rows} == hparams_driven
    paper = {p.relative_to(ROOT).as_posix() for p in (ROOT / "hparams").glob("*.yaml") if "compact" not in p.name}
    for dataset in ("ESC50", "US8K"):
        covered = {r["Hparam_file"] for r in rows if f"recipes/{dataset}/" in r["Script_file"]}
        assert covered == paper, dataset
    for row in rows:
        for column in ("Script_file", "Hparam_file", "Data_prep_file", "Readme_file"):
            assert (ROOT / row[column]).is_file(), (column, row[column])


@pytest.mark.slow  # runs every recipe in a subprocess
@pytest.mark.parametrize("row", recipe_rows())
def test_recipe_row_runs_and_writes_its_files(row, tmp_path):
    output = tmp_path / "out"
    cmd = [sys.executable, row["Script_file"], row["Hparam_file"], *shlex.split(row["test_debug_flags"]),
           f"--output_folder={output}", "--debug", "--debug_persistently"]
    # ROOT too: the recipes must import this checkout's lmac_brain, not another one an editable
    # install points at.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / Path(row["Script_file"]).parent), str(ROOT)])}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    missing = [name for name in expected_files(row["test_debug_checks"]) if not (output / name).exists()]
    assert not missing, f"missing in {output}: {missing} ({time.perf_counter() - start:.0f} s)"
