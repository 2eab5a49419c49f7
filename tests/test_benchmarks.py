"""The benchmark scripts run end to end (their numbers are read by people, not asserted here)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # each test runs a benchmark script in a subprocess


def test_bench_lmac_prints_one_row_per_configuration_and_decoder():
    cmd = [sys.executable, "benchmarks/bench_lmac.py", "--configs", "compact", "--decoders", "coarse", "fullres_shallow",
           "--repeats", "1", "--seconds", "0.5", "--batch", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("| compact")]
    assert [line.split("|")[2].strip() for line in lines] == ["coarse", "fullres_shallow"]
    header = proc.stdout.splitlines()[0]
    for column in ("step_over_forward", "explain_over_forward", "rank", "decoder_params", "peak_rss_gb"):
        assert column in header
