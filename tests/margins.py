"""How far every learned quantity the tests assert is from its bar, over seeds and thread counts.

Runs the tests marked ``learned`` (``pytest -m learned``) once per seed and thread count, with
``LMAC_TEST_SEED``, ``LMAC_TEST_THREADS`` and ``LMAC_MARGINS_FILE`` set (see tests/conftest.py),
and prints, for every quantity asserted with ``assert_learned``, its bar and its min/mean/max
over the runs::

    python tests/margins.py                        # seeds 0-4 x threads 1, 2 (about an hour on 2 cores)
    python tests/margins.py --seeds 0 1 --threads 1
    python tests/margins.py --report margins.jsonl  # the table of an earlier run's records
    python tests/margins.py --jobs 10               # the ten runs side by side (a machine with many cores)

Exit status 1 when a quantity missed its bar in some run (or a run failed), 0 otherwise.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(seed, threads, records, pytest_args, basetemp=None):
    """One ``pytest -m learned`` run; returns its exit status (its records go to ``records``)."""
    if basetemp:  # runs side by side must not share pytest's temporary folders
        pytest_args = [f"--basetemp={basetemp}", *pytest_args]
    env = {**os.environ, "LMAC_TEST_SEED": str(seed), "LMAC_TEST_THREADS": str(threads),
           "LMAC_MARGINS_FILE": str(records), "PYTHONPATH": os.pathsep.join(
               p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "learned", "-p", "no:cacheprovider", *pytest_args]
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"seed {seed}, {threads} thread(s): {summary} [{time.time() - start:.0f} s]", flush=True)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n", flush=True)
    return proc.returncode


def table(records):
    """Markdown table: one row per quantity, in first-seen order."""
    by_name = collections.OrderedDict()
    for r in records:
        by_name.setdefault(r["name"], []).append(r)
    ops = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}
    lines = ["| learned quantity | bar | min | mean | max | runs | missed |", "|---|---|---|---|---|---|---|"]
    missed_any = False
    for name, rows in by_name.items():
        values = [r["value"] for r in rows]
        missed = sum(not ops[r["op"]](float(r["value"]), float(r["bar"])) for r in rows)
        missed_any |= bool(missed)
        lines.append(f"| {name} | {rows[0]['op']} {rows[0]['bar']:g} | {min(values):.4g} | "
                     f"{sum(values) / len(values):.4g} | {max(values):.4g} | {len(rows)} | {missed} |")
    return "\n".join(lines), missed_any


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--records", help="where to keep the JSON-lines records (default: a temporary file)")
    parser.add_argument("--report", help="only print the table of these records")
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side (default 1)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --), e.g. a test file")
    args = parser.parse_args(argv)

    failed_runs = 0
    if args.report:
        records_path = Path(args.report)
    else:
        records_path = Path(args.records or tempfile.mkstemp(prefix="lmac_margins_", suffix=".jsonl")[1])
        records_path.write_text("")
        runs = [(seed, threads) for seed in args.seeds for threads in args.threads]
        # Each run's records beside the final file, so a run cut short keeps what it measured.
        scratch = records_path.with_name(records_path.name + ".runs")
        scratch.mkdir(exist_ok=True)

        def one(run):
            seed, threads = run
            records = scratch / f"seed{seed}_threads{threads}.jsonl"
            return run_once(seed, threads, records, args.pytest_args,
                            basetemp=scratch / f"tmp_seed{seed}_threads{threads}" if args.jobs > 1 else None)

        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            failed_runs = sum(status != 0 for status in pool.map(one, runs))
        with open(records_path, "a", encoding="utf-8") as out:
            for seed, threads in runs:
                part = scratch / f"seed{seed}_threads{threads}.jsonl"
                if part.exists():
                    out.write(part.read_text())
        print(f"records: {records_path}")
    records = [json.loads(line) for line in records_path.read_text().splitlines() if line.strip()]
    text, missed = table(records)
    print(text)
    return 1 if missed or failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())
