"""Tests of lmac_brain.metrics: hand-computed values, Quantus and sklearn as references."""

import math
import os
import tempfile

import numpy as np
import pytest
import torch

from lmac_brain import metrics as M


def _logits(probs, offset=None):
    """Logits whose softmax is ``probs`` (rows shifted by arbitrary constants when given)."""
    logits = torch.tensor(probs, dtype=torch.float64).log()
    if offset is not None:
        logits = logits + torch.tensor(offset, dtype=torch.float64)[:, None]
    return logits


# Three items, c = argmax of P_FULL = (0, 1, 2).
P_FULL = [[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]]
P_IN = [[0.6, 0.2, 0.2], [0.5, 0.4, 0.1], [0.2, 0.3, 0.5]]
P_OUT = [[0.1, 0.5, 0.4], [0.3, 0.6, 0.1], [0.1, 0.1, 0.8]]
# item 0: p_in 0.6 > 0.5: AI 100, AD 0, AG 100*0.1/0.5 = 20, FF 0.5-0.1 = 0.4, FidIn 1
# item 1: p_in 0.4 < 0.8: AI 0, AD 100*0.4/0.8 = 50, AG 0, FF 0.8-0.6 = 0.2, argmax_in 0 != 1: FidIn 0
# item 2: p_in 0.5 == 0.5: AI 0 (strict), AD 0, AG 0, FF 0.5-0.8 = -0.3, FidIn 1
EXPECTED = {
    "AI": [100.0, 0.0, 0.0],
    "AD": [0.0, 50.0, 0.0],
    "AG": [20.0, 0.0, 0.0],
    "FF": [0.4, 0.2, -0.3],
    "FidIn": [1.0, 0.0, 1.0],
}


def test_metric_names_single_source():
    assert M.METRIC_NAMES == ("AI", "AD", "AG", "FF", "FidIn", "SPS", "COMP", "MM", "loc_auc", "loc_iou",
                              "SI-SDR", "SDRi")
    torch.manual_seed(0)
    logits = torch.randn(2, 4)
    mask = torch.rand(2, 3, 5)
    out = M.metrics_per_item(logits, logits, logits, mask, ibm=mask > 0.5)
    # Every name but the listenability ones, which need waveforms (listenability_per_item).
    assert tuple(out) + M.LISTENABILITY_NAMES == M.METRIC_NAMES
    assert all(v.shape == (2,) for v in out.values())


@pytest.mark.parametrize("offset", [None, [3.0, -7.0, 0.5]])
def test_faithfulness_hand_computed(offset):
    out = M.faithfulness_per_item(_logits(P_FULL, offset), _logits(P_IN, offset), _logits(P_OUT, offset))
    assert set(out) == set(M.FAITHFULNESS_NAMES)
    for name, expected in EXPECTED.items():
        torch.testing.assert_close(out[name], torch.tensor(expected, dtype=torch.float64), msg=name)
    means = {k: v.mean().item() for k, v in out.items()}
    assert means["AI"] == pytest.approx(100 / 3)
    assert means["AD"] == pytest.approx(50 / 3)
    assert means["AG"] == pytest.approx(20 / 3)
    assert means["FF"] == pytest.approx(0.1)
    assert means["FidIn"] == pytest.approx(2 / 3)


def test_faithfulness_accepts_speechbrain_shape_and_float32():
    # items 0 and 1 only: item 2's exact tie f(M*X)_c == f(X)_c does not survive float32 rounding
    full, inp, out = (_logits(p[:2]).float().unsqueeze(1) for p in (P_FULL, P_IN, P_OUT))
    res = M.faithfulness_per_item(full, inp, out)
    for name, expected in EXPECTED.items():
        expected = torch.tensor(expected[:2], dtype=torch.float64)
        torch.testing.assert_close(res[name], expected, atol=1e-5, rtol=1e-5)


def test_ag_guard_when_full_confidence_is_one():
    full = torch.tensor([[0.0, -2000.0]])  # softmax exactly [1, 0] in float64
    assert full.double().softmax(-1)[0, 0].item() == 1.0
    res = M.faithfulness_per_item(full, torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 0.0]]))
    assert res["AG"].item() == 0.0
    assert res["AD"].item() == pytest.approx(50.0)
    assert res["FF"].item() == pytest.approx(0.5)
    assert all(torch.isfinite(v).all() for v in res.values())


def test_faithfulness_shape_mismatch_raises():
    with pytest.raises(ValueError):
        M.faithfulness_per_item(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 3))


def test_mask_mean_hand_computed():
    mask = torch.tensor([[[1.0, 0.0, 0.5], [0.5, 0.0, 0.0]], [[0.2, 0.2, 0.2], [0.2, 0.2, 0.8]]])
    torch.testing.assert_close(M.mask_mean(mask), torch.tensor([2.0 / 6, 1.8 / 6], dtype=torch.float64))
    torch.testing.assert_close(M.mask_mean(mask.unsqueeze(1)), M.mask_mean(mask))


# ------------------------------------------------------------------ Quantus SPS / COMP
def _quantus_reference(name, maps, inputs):
    """Quantus' own numbers: its default call (abs=True), one item at a time, float64.

    Quantus refuses a single all-negative map, so the reference gets ``|map|`` (the same
    numbers with abs=True); the batch comparison below covers the negative map as given.
    """
    import quantus

    cls = {"SPS": quantus.Sparseness, "COMP": quantus.Complexity}[name]
    metric = cls(abs=True, disable_warnings=True)
    scores = []
    for a, x in zip(maps, inputs):
        scores += metric(
            model=None,
            x_batch=x[None, None].double().numpy(),
            y_batch=np.zeros(1, dtype=np.int64),
            a_batch=a[None, None].abs().double().numpy(),
            channel_first=True,
        )
    return np.array(scores)


def _maps_with_degenerate():
    torch.manual_seed(1)
    maps = torch.rand(6, 7, 9) ** 3
    maps[1] = 0.0  # all zero
    maps[3] = 0.4  # constant
    maps[4] = -maps[4]  # all negative, not constant: scored as |map|
    inputs = torch.rand(6, 7, 9)
    return maps, inputs


@pytest.mark.parametrize("name,func", [("SPS", M.quantus_sparseness), ("COMP", M.quantus_complexity)])
def test_quantus_metrics_equal_quantus_own_numbers(name, func):
    import quantus

    maps, inputs = _maps_with_degenerate()
    valid = [0, 2, 4, 5]
    values, n_skipped = func(maps, inputs)
    assert n_skipped == 2
    assert values.shape == (4,)
    reference = _quantus_reference(name, maps[valid], inputs[valid])
    np.testing.assert_allclose(values, reference, rtol=1e-12, atol=1e-12)
    # Quantus' default call on the whole valid batch (normalised by the batch max) agrees too
    cls = {"SPS": quantus.Sparseness, "COMP": quantus.Complexity}[name]
    batch = cls(abs=True, disable_warnings=True)(
        model=None,
        x_batch=inputs[valid, None].double().numpy(),
        y_batch=np.zeros(4, dtype=np.int64),
        a_batch=maps[valid, None].double().numpy(),
        channel_first=True,
    )
    np.testing.assert_allclose(values, batch, rtol=1e-5)
    # channel dim accepted, inputs default to the maps' shape
    np.testing.assert_allclose(func(maps.unsqueeze(1), inputs.unsqueeze(1))[0], values, rtol=1e-12)
    np.testing.assert_allclose(func(maps)[0], values, rtol=1e-12)


def test_quantus_metrics_hand_computed():
    maps = torch.zeros(2, 4, 5)
    maps[0, 1, 2] = 3.0  # one bin of 20
    maps[1, 0, :4] = 0.25  # four equal bins
    sps, _ = M.quantus_sparseness(maps)
    comp, _ = M.quantus_complexity(maps)
    # Gini of a one-hot vector of n = 20 is (n - 1) / n; of 4 equal of 20: 1 - 4/20 = 0.8
    np.testing.assert_allclose(sps, [19 / 20, 0.8], atol=1e-5)
    np.testing.assert_allclose(comp, [0.0, math.log(4)], atol=1e-5)


def test_degenerate_maps_are_skipped_and_counted_never_nan():
    import quantus

    zeros = torch.zeros(3, 7, 9)
    with pytest.raises(AssertionError):  # why the skipping exists
        quantus.Sparseness(disable_warnings=True)(
            model=None, x_batch=zeros[:, None].numpy(), y_batch=np.zeros(3, dtype=np.int64),
            a_batch=zeros[:, None].numpy(), channel_first=True,
        )
    degenerate = torch.stack([torch.zeros(7, 9), torch.ones(7, 9), torch.full((7, 9), -0.3)])
    nonfinite = torch.rand(1, 7, 9)
    nonfinite[0, 0, 0] = float("nan")
    assert M.degenerate_maps(torch.cat([degenerate, nonfinite])).tolist() == [True] * 4
    for func in (M.quantus_sparseness, M.quantus_complexity):
        values, n_skipped = func(degenerate)
        assert values.shape == (0,) and n_skipped == 3
    acc = M.MetricAccumulator()
    maps, inputs = _maps_with_degenerate()
    acc.update(M.quantus_per_item(maps, inputs))
    acc.update(M.quantus_per_item(torch.cat([degenerate, nonfinite]), torch.rand(4, 7, 9)))
    assert acc.skipped() == {"SPS": 6, "COMP": 6}
    assert acc.counts() == {"SPS": 4, "COMP": 4}
    summary = acc.summarize()
    assert not any(math.isnan(v) for v in summary.values())
    assert summary["SPS"] == pytest.approx(M.quantus_sparseness(maps, inputs)[0].mean())
    # all items skipped: no mean at all, clearly reported
    only_bad = M.MetricAccumulator()
    only_bad.update(M.quantus_per_item(degenerate))
    assert only_bad.summarize() == {}
    assert only_bad.missing() == ["SPS", "COMP"]
    assert only_bad.skipped() == {"SPS": 3, "COMP": 3}


def test_quantus_per_item_places_nan_at_skipped_items():
    maps, inputs = _maps_with_degenerate()
    out = M.quantus_per_item(maps, inputs)
    assert out["SPS"].isnan().tolist() == [False, True, False, True, False, False]
    np.testing.assert_allclose(out["COMP"][[0, 2, 4, 5]].numpy(), M.quantus_complexity(maps, inputs)[0])


def test_quantus_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        M.quantus_sparseness(torch.rand(2, 5, 6), torch.rand(2, 5, 7))


# ------------------------------------------------------------------ localization
def test_ideal_binary_mask_hand_computed():
    event = torch.tensor([[1.0, 2.0, 0.0, 3.0, 1.0, 1.9, 2.1]])
    background = torch.tensor([[2.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0]])
    expected = [[False, True, False, True, False, True, True]]
    assert M.ideal_binary_mask(event, background).tolist() == expected
    # just above +6.02 dB (a factor 2 in magnitude): 2 vs 1 no longer passes, 2.1 vs 1 does
    assert M.ideal_binary_mask(event, background, threshold_db=20 * math.log10(2.0) + 1e-6).tolist() == [
        [False, False, False, True, False, False, True]
    ]
    # -7 dB: 1 > 2 * 0.447
    assert M.ideal_binary_mask(event, background, threshold_db=-7.0).tolist()[0][0] is True


def test_roc_auc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    scores = np.round(rng.random((6, 50)), 1)  # many ties
    scores[1] = 0.5  # all tied: AUC 0.5
    scores[2] = np.round(rng.random(50), 2)
    labels = rng.random((6, 50)) < 0.3
    labels[3, :5] = True
    ours = M.roc_auc_per_item(torch.from_numpy(scores), torch.from_numpy(labels))
    expected = [roc_auc_score(y, s) for s, y in zip(scores, labels)]
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-12)
    assert ours[1].item() == pytest.approx(0.5)


def test_localization_auc_matches_sklearn_and_skips_constant_ibm():
    from sklearn.metrics import roc_auc_score

    torch.manual_seed(2)
    mask = (torch.rand(5, 6, 8) * 4).round() / 4  # ties
    ibm = torch.rand(5, 6, 8) < 0.25
    ibm[3] = False  # all 0: skipped
    ibm[4] = True  # all 1: skipped
    out = M.localization_per_item(mask.unsqueeze(1), ibm)
    auc = out["loc_auc"]
    assert auc.isnan().tolist() == [False, False, False, True, True]
    expected = [roc_auc_score(ibm[i].flatten().numpy(), mask[i].flatten().numpy()) for i in range(3)]
    np.testing.assert_allclose(auc[:3].numpy(), expected, rtol=1e-12)
    acc = M.MetricAccumulator()
    acc.update(out)
    assert acc.skipped()["loc_auc"] == 2
    assert acc.summarize()["loc_auc"] == pytest.approx(np.mean(expected))


def test_localization_iou_hand_computed():
    mask = torch.tensor(
        [
            [[0.9, 0.5], [0.49, 0.1]],  # pred {0, 1} (0.5 counts), truth {0, 2}: 1 / 3
            [[0.9, 0.8], [0.7, 0.6]],  # pred all, truth {3}: 1 / 4
            [[0.1, 0.2], [0.3, 0.4]],  # pred empty, truth empty: undefined
            [[0.1, 0.2], [0.3, 0.4]],  # pred empty, truth {1}: 0
        ]
    )
    ibm = torch.tensor(
        [
            [[True, False], [True, False]],
            [[False, False], [False, True]],
            [[False, False], [False, False]],
            [[False, True], [False, False]],
        ]
    )
    iou = M.localization_per_item(mask, ibm)["loc_iou"]
    torch.testing.assert_close(iou[[0, 1, 3]], torch.tensor([1 / 3, 1 / 4, 0.0], dtype=torch.float64))
    assert iou[2].isnan()
    iou_07 = M.localization_per_item(mask, ibm, threshold=0.7)["loc_iou"]
    torch.testing.assert_close(iou_07[0], torch.tensor(1 / 2, dtype=torch.float64))  # pred {0}


def test_localization_shape_mismatch_raises():
    with pytest.raises(ValueError):
        M.localization_per_item(torch.rand(2, 5, 6), torch.rand(2, 4, 6) > 0.5)


# ------------------------------------------------------------------ accumulator
def test_accumulator_equals_mean_over_concatenation():
    torch.manual_seed(3)
    batches = []
    for size in (4, 1, 7):
        b = {
            "AI": (torch.rand(size) > 0.5).double() * 100,
            "loc_auc": torch.rand(size, dtype=torch.float64),
        }
        b["loc_auc"][torch.rand(size) < 0.3] = float("nan")
        batches.append(b)
    acc = M.MetricAccumulator()
    for i, b in enumerate(batches):
        if i == 1:  # name-based update with numpy values works the same
            for k, v in b.items():
                acc.update(k, v.numpy())
        else:
            acc.update(b)
    cat = {k: torch.cat([b[k] for b in batches]) for k in batches[0]}
    summary = acc.summarize()
    assert list(summary) == ["AI", "loc_auc"]
    assert summary["AI"] == pytest.approx(cat["AI"].mean().item(), rel=1e-12)
    assert summary["loc_auc"] == pytest.approx(cat["loc_auc"].nanmean().item(), rel=1e-12)
    assert acc.skipped() == {"AI": 0, "loc_auc": int(cat["loc_auc"].isnan().sum())}
    assert acc.counts()["AI"] == 12
    acc.update("COMP", [], n_skipped=5)
    assert acc.skipped()["COMP"] == 5 and "COMP" not in acc.summarize()
    assert acc.all_reduce() is False  # no process group: nothing to do
    acc.reset()
    assert acc.summarize() == {} and acc.skipped() == {}


def test_accumulator_update_argument_errors():
    acc = M.MetricAccumulator()
    with pytest.raises(ValueError):
        acc.update("AI")
    with pytest.raises(ValueError):
        acc.update({"AI": [1.0]}, [2.0])


def _ddp_worker(rank, world_size, init_file, result_file):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    acc = M.MetricAccumulator()
    acc.update("AI", torch.tensor([100.0, 0.0]) if rank == 0 else torch.tensor([100.0, 100.0, 100.0]))
    acc.update("SPS", torch.tensor([0.2, float("nan")]) if rank == 0 else torch.tensor([0.4]))
    if rank == 1:  # a metric only one process has seen
        acc.update("loc_iou", torch.tensor([0.5, float("nan")]))
    assert acc.all_reduce() and acc.all_reduce()  # twice: must not double-count
    if rank == 0:
        torch.save({"summary": acc.summarize(), "skipped": acc.skipped()}, result_file)
    dist.destroy_process_group()


@pytest.mark.slow  # DDP: two processes
def test_accumulator_all_reduce_over_two_processes():
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        init_file, result_file = os.path.join(tmp, "init"), os.path.join(tmp, "result.pt")
        mp.spawn(_ddp_worker, args=(2, init_file, result_file), nprocs=2, join=True)
        result = torch.load(result_file)
    assert result["summary"] == pytest.approx({"AI": 80.0, "SPS": 0.3, "loc_iou": 0.5})
    assert result["skipped"] == {"AI": 0, "SPS": 1, "loc_iou": 1}


# ------------------------------------------------------------------ CUDA
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tensors_give_cpu_results():
    torch.manual_seed(4)
    logits = [torch.randn(3, 5) for _ in range(3)]
    mask = torch.rand(3, 6, 8)
    mask[1] = 0.0
    ibm = torch.rand(3, 6, 8) < 0.3
    cpu = M.metrics_per_item(*logits, mask, ibm=ibm)
    gpu = M.metrics_per_item(*(x.cuda() for x in logits), mask.cuda(), ibm=ibm.cuda())
    assert tuple(gpu) == tuple(cpu)
    for k in cpu:
        torch.testing.assert_close(gpu[k].cpu(), cpu[k], equal_nan=True, msg=k)
    acc = M.MetricAccumulator()
    acc.update(gpu)
    assert acc.skipped()["SPS"] == 1


def test_si_sdr_rewards_isolating_the_event_and_not_silence():
    rate, n = 16000, 16000
    t = torch.arange(n) / rate
    event = (torch.sin(2 * math.pi * 440 * t) * (t > 0.5)).unsqueeze(0)
    noise = 0.3 * torch.randn(1, n, generator=torch.Generator().manual_seed(0))
    mixture = event + noise
    # The input against itself: SDRi 0; the event alone: far above; silence: no better than 0 dB.
    assert float(M.listenability_per_item(mixture, mixture, event)["SDRi"]) == pytest.approx(0.0, abs=1e-4)
    isolated = M.listenability_per_item(event + 0.01 * noise, mixture, event)
    assert float(isolated["SDRi"]) > 25 and float(isolated["SI-SDR"]) > 35
    silent = M.listenability_per_item(torch.zeros_like(mixture), mixture, event)
    assert float(silent["SI-SDR"]) == -30.0 and float(silent["SDRi"]) < -30
    # ... even when the input scores below 0 dB (a quiet event in loud noise).
    loud = event + 10 * noise
    assert float(M.si_sdr(loud, event)) < -5
    assert float(M.listenability_per_item(torch.zeros_like(loud), loud, event)["SDRi"]) < 0
    # Scale does not matter; a silent event makes the item undefined (skipped, NaN).
    assert float(M.si_sdr(3 * mixture, event)) == pytest.approx(float(M.si_sdr(mixture, event)), abs=1e-4)
    assert torch.isnan(M.si_sdr(mixture, torch.zeros_like(event))).all()
