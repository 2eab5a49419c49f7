"""The decoder ablation's table is read back from its run folders (benchmarks/ablation_lmac.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("ablation_lmac", ROOT / "benchmarks" / "ablation_lmac.py")
ablation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ablation)


def _scored(out, seed, config, epochs, seconds, **metrics):
    folder = out / "runs" / str(seed) / config
    folder.mkdir(parents=True, exist_ok=True)
    scores = {**metrics, "epochs": epochs, "seconds": seconds}
    (folder / f"e{epochs}_valid.json").write_text(json.dumps(scores))
    return folder


def _randomization(folder, epochs, ssim, spearman):
    sanity = folder / f"randomization_e{epochs}"
    sanity.mkdir()
    blocks = ablation.DECISION_BLOCKS
    rows = ["method,n_randomized,ssim_mean,spearman_mean", f"L-MAC,{blocks - 1},0.9,0.8",
            f"L-MAC,{blocks},{ssim},{spearman}", f"GradCAM,{blocks},0.1,0.0"]
    (sanity / "randomization.csv").write_text("\n".join(rows) + "\n")


def test_every_scored_budget_of_every_configuration_is_a_row(tmp_path):
    for seed, ai in ((1, 20.0), (2, 30.0)):
        _scored(tmp_path, seed, "transposed_stack_log1p_item_mean", 5, 50.0, AI=ai, SPS=0.5)
        folder = _scored(tmp_path, seed, "transposed_stack_log1p_item_mean", 15, 200.0, AI=ai + 10, SPS=0.7)
        _randomization(folder, 15, 0.25, 0.125 * seed)
    _scored(tmp_path, 1, "fullres_linear_batch_sum", 30, 90.0, AI=40.0)  # one seed, one budget

    results = ablation.scored_runs(str(tmp_path), [1, 2, 3])
    stack = ("transposed_stack", "log1p", "item_mean")
    assert set(results) == {(1, *stack), (2, *stack), (1, "fullres", "linear", "batch_sum")}
    assert results[(2, *stack)][15]["Spearman_rand"] == 0.25
    assert "Spearman_rand" not in results[(2, *stack)][5]

    lines = ablation.table(results).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    assert [(r["decoder"], r["mask space"], r["l1"], r["epochs"], r["seeds"]) for r in rows] == [
        ("fullres", "linear", "batch_sum", "30", "1"),
        ("transposed_stack", "log1p", "item_mean", "5", "2"),
        ("transposed_stack", "log1p", "item_mean", "15", "2"),
    ]
    assert rows[0]["AI"] == "40.00" and rows[0]["s/epoch"] == "3.00"  # no shorter budget: all 30 epochs
    assert rows[1]["AI"] == "25.00 ± 7.07" and rows[1]["s/epoch"] == "10.00 ± 0.00"
    # The 15-epoch budget resumed the 5-epoch one: its time is that of 10 epochs.
    assert rows[2]["AI"] == "35.00 ± 7.07" and rows[2]["s/epoch"] == "20.00 ± 0.00"
    assert rows[2]["Spearman_rand"] == "0.19 ± 0.09" and rows[2]["SSIM_rand"] == "0.25 ± 0.00"
    assert rows[1]["Spearman_rand"] == ""


def test_budgets_must_increase():
    with pytest.raises(SystemExit):
        ablation.main(["--budgets", "15", "5", "--table-only"])
