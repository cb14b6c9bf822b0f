"""Calibration: recovering known knobs from synthetic points, error tables by hand,
the calibration file, and the operating-point search."""

import dataclasses
import shutil

import numpy as np
import pytest

import explorer as ex
from explorer.calibration import fit as cal
from explorer.calibration.benchmark import ape, summarise
from explorer.calibration.calibration_file import render, write_atomic
from explorer.model.configio import CONFIG_DIR
from explorer.model.efficiency import load_efficiency
from explorer.search.operating_points import best_operating_point

TRUE = np.array([0.55, 0.35, 0.9, 0.65, 0.8, 12e-6, 150e-6, 1e-9, 0.75])


def _synthetic_cases():
    """Points made by the model itself on one H100 with known knobs TRUE: decode at
    batch 1 (memory-bound: eff_mem and the fixed latencies; two depths separate the
    per-layer from the per-step latency), and prefill of long prompts (compute-bound:
    eff_gemm in BF16, eff_gemm x eff_lowp in FP8)."""
    chip = ex.load_chip("h100-sxm", calibrated=False)
    mapping = ex.make_mapping()
    specs = [
        ("llama-3.2-1b", 1, 512, "tpot_ms"),
        ("llama-3.2-1b", 1, 4096, "tpot_ms"),
        ("llama-3.1-8b", 1, 512, "tpot_ms"),
        ("llama-3.1-8b", 1, 4096, "tpot_ms"),
        ("llama-3.1-8b", 4, 4096, "ttft_ms"),
        ("llama-3.2-1b", 8, 8192, "ttft_ms"),
        ("llama-3.1-8b", 64, 1024, "tokens_per_s_total"),
        ("llama-3.1-8b", 4, 4096, "ttft_ms", "fp8"),
        ("llama-3.2-1b", 8, 8192, "ttft_ms", "fp8"),
    ]
    cases = []
    for i, (model_id, batch, prompt, metric, *precision) in enumerate(specs):
        model = ex.load_model(model_id)
        scenario = ex.make_scenario(batch, prompt, 128, precision=(precision or ["bf16"])[0])
        cases.append(
            cal.Case(
                f"p{i}",
                "h100-sxm",
                "nvidia",
                0,
                metric,
                1.0,
                chip,
                model,
                scenario,
                mapping,
                1,
                False,
                False,
            )  # fmt: skip
        )
    truth = cal.evaluate(cases, TRUE[None], ex.EXACT)
    return [dataclasses.replace(c, measured=float(t)) for c, t in zip(cases, truth, strict=True)]


def test_calibration_recovers_known_knobs():
    cases = _synthetic_cases()
    start = cal.knobs_of(ex.load_chip("h100-sxm", calibrated=False))[None]
    (result,) = cal.fit(cases, 1, start, np.ones((1, len(cases))), steps=800, prior=1e-7)
    assert result.loss_history[-1] < 1e-2 * result.loss_history[0]
    fitted = cal.evaluate(cases, result.knobs, ex.EXACT)
    measured = np.array([c.measured for c in cases])
    np.testing.assert_allclose(fitted, measured, rtol=0.02)
    knobs = result.knobs[0]
    # Identifiable from these points: GEMM efficiency, memory efficiency, latencies,
    # and the low-precision factor (FP8 against BF16 prefill).
    assert knobs[0] == pytest.approx(TRUE[0], rel=0.05)
    assert knobs[3] == pytest.approx(TRUE[3], rel=0.05)
    assert knobs[8] == pytest.approx(TRUE[8], rel=0.05)
    assert knobs[5] == pytest.approx(TRUE[5], rel=0.25)
    assert knobs[6] == pytest.approx(TRUE[6], rel=0.25)


def test_knob_bounds_hold():
    u = np.array([-50.0, 50.0, 0.0, -50.0, 50.0, -50.0, 50.0, 0.0, -50.0])
    k = np.asarray(cal.from_u(u))
    lo = np.array([lo for _, lo, _ in cal.FIT_FIELDS])
    hi = np.array([hi for _, _, hi in cal.FIT_FIELDS])
    assert np.all(k >= lo) and np.all(k <= hi)
    np.testing.assert_allclose(np.asarray(cal.from_u(cal.to_u(TRUE))), TRUE, rtol=1e-6)


def test_fold_masks():
    """Leave-one-out (folds 0) holds out each fitted point exactly once, in order, and
    never a point outside the fit; k-fold deals the fitted points into k folds of
    near-equal size, and a seed only permutes them."""
    from explorer.calibration.benchmark import fold_masks

    in_fit = np.array([True, True, False, True, True, True, True])
    masks, fold = fold_masks(in_fit, 0)
    assert masks.shape == (6, 7) and list(fold) == [0, 1, -1, 2, 3, 4, 5]
    np.testing.assert_array_equal(masks.sum(axis=1), 5)
    np.testing.assert_array_equal(masks[:, 2], 0)
    masks, fold = fold_masks(in_fit, 3, seed=1)
    assert sorted(np.bincount(fold[in_fit])) == [2, 2, 2] and fold[2] == -1
    np.testing.assert_array_equal(masks.sum(axis=0), np.where(in_fit, 2, 0))
    other = fold_masks(in_fit, 3, seed=2)[1]
    assert sorted(np.bincount(other[in_fit])) == [2, 2, 2]


def test_error_tables_by_hand():
    """a: predictions 110 and 90 of 100 -> APE 10 and 10: median 10, p90 10, bias 0.
    b: 50 of 100 -> APE 50, bias -50. c: 300 of 200 -> APE 50, bias +50."""
    pred = np.array([110.0, 90.0, 50.0, 300.0])
    meas = np.array([100.0, 100.0, 100.0, 200.0])
    np.testing.assert_allclose(ape(pred, meas), [10, 10, 50, 50])
    s = summarise(["a", "a", "b", "c"], pred, meas)
    assert s["a"] == {"n": 2, "median_ape": 10.0, "p90_ape": 10.0, "bias_pct": 0.0}
    assert s["b"]["bias_pct"] == -50.0 and s["c"]["bias_pct"] == 50.0
    assert s["b"]["median_ape"] == 50.0


def test_calibration_file_round_trip(tmp_path, monkeypatch):
    cases = _synthetic_cases()
    knobs = TRUE[None]
    text = render(
        ["nvidia-gpu"], knobs, cases, np.ones(len(cases), bool), np.ones(len(cases)), 12.0
    )
    (tmp_path / "configs").mkdir()
    shutil.copy(CONFIG_DIR / "efficiency.toml", tmp_path / "configs")
    write_atomic(tmp_path / "configs" / "calibration.toml", text)
    monkeypatch.setattr("explorer.model.efficiency.CONFIG_DIR", tmp_path / "configs")
    eff = load_efficiency("nvidia-gpu", "test")
    assert eff["gemm"] == pytest.approx(0.55)
    assert eff["layer_latency_us"] == pytest.approx(12.0)
    assert eff["low_precision"] == pytest.approx(0.75)
    assert eff["points"] == [c.point_id for c in cases]


def test_operating_point_respects_slos():
    chip = ex.load_chip("h100-sxm", calibrated=False)
    model = ex.load_model("llama-3.1-8b")
    sc = ex.make_scenario(1, 512, 256)
    free = best_operating_point(chip, model, sc, 2)
    assert free.feasible and free.batch >= 64
    tight = best_operating_point(chip, model, sc, 2, tpot_slo_s=0.012, static_prefill=False)
    assert tight.feasible
    loaded = tight.batch / float(tight.metrics.tokens_per_s_per_replica)
    assert loaded <= 0.012 and float(tight.metrics.tokens_per_s_per_replica) > 0
    assert tight.batch < free.batch
    never = best_operating_point(chip, model, sc, 2, tpot_slo_s=1e-5)
    assert not never.feasible and "TPOT bound" in never.reason


# A second software stack on the same chip: slower kernels (lower memory and GEMM
# efficiency) and eager-mode launches (a larger per-layer latency).
TRUE_B = np.array([0.4, 0.35, 0.9, 0.45, 0.8, 60e-6, 150e-6, 1e-9, 0.9])


def _two_stack_cases():
    """The synthetic points twice: set 0 made with TRUE, set 1 with TRUE_B; one parent."""
    base = _synthetic_cases()
    second = [dataclasses.replace(c, point_id=c.point_id + "b", family=1) for c in base]
    truth = cal.evaluate(second, np.stack([TRUE, TRUE_B]), ex.EXACT)
    second = [dataclasses.replace(c, measured=float(t)) for c, t in zip(second, truth, strict=True)]
    return base + second


def test_stacks_recover_their_own_knobs():
    """Two knob sets sharing one family centre, weakly shrunk: each set's identifiable
    knobs come back from its own points, though both start from the same defaults."""
    cases = _two_stack_cases()
    start = cal.knobs_of(ex.load_chip("h100-sxm", calibrated=False))[None]
    masks = np.ones((1, len(cases)))
    (result,) = cal.fit(
        cases, 2, start, masks, steps=800, prior=1e-7, parent=np.array([0, 0]), shrink=1e-6
    )
    measured = np.array([c.measured for c in cases])
    np.testing.assert_allclose(cal.evaluate(cases, result.knobs, ex.EXACT), measured, rtol=0.03)
    for row, true in zip(result.knobs, (TRUE, TRUE_B), strict=True):
        assert row[0] == pytest.approx(true[0], rel=0.05)
        assert row[3] == pytest.approx(true[3], rel=0.05)
        assert row[8] == pytest.approx(true[8], rel=0.05)
    # the fixed latencies are a small share of these TPOTs: only their order is asserted
    assert result.knobs[1, 5] > 2 * result.knobs[0, 5]


def test_stack_without_points_keeps_the_family_centre():
    """Leave the second stack's points out: its deviation feels only the shrinkage, so
    its knobs are the family centre, fitted to the first stack."""
    cases = _two_stack_cases()
    start = cal.knobs_of(ex.load_chip("h100-sxm", calibrated=False))[None]
    mask = np.array([[float(c.family == 0) for c in cases]])
    (result,) = cal.fit(cases, 2, start, mask, steps=300, parent=np.array([0, 0]))
    np.testing.assert_allclose(result.knobs[1], result.parent_knobs[0], rtol=1e-5)
    assert not np.allclose(result.knobs[0], start[0], rtol=1e-3)


def test_stack_rule():
    from explorer.calibration.measurements import Point, stack_of

    def point(framework, scenario="fixed-batch", vendor="nvidia", **extra):
        data = {"framework": framework, "date": "2025-09-09", **extra}
        return Point("x", vendor, "h100-sxm", scenario, "tpot_ms", 1.0, "m", True, data)

    assert stack_of(point("TensorRT-LLM", "mlperf-server")) == "tensorrt-llm-mlperf-2025"
    assert stack_of(point("TensorRT-LLM v0.5, TP4", date="2023-10")) == "tensorrt-llm-2023"
    assert stack_of(point("vLLM, TP8", vendor="amd")) == "vllm-2025"
    assert stack_of(point("vLLM 0.9 (ROCm 6.4.1)", "mlperf-offline")) == "vllm-mlperf-2025"
    assert stack_of(point("provider API", vendor="cerebras")) == "cerebras-inference-2025"
    assert stack_of(point("vLLM", stack="my-build")) == "my-build"


def test_server_bound_is_met_at_p99():
    """An MLPerf Server point is modelled at a load whose mean loaded TPOT, times the
    stated p99/mean ratio, meets the round's p99 TPOT bound."""
    from explorer.calibration.benchmark import P99_OVER_MEAN_TPOT, make_case
    from explorer.calibration.measurements import load_points

    p = next(p for p in load_points() if p.id == "mlperf41-h200x8-l2-70b-server-tpot")
    knobs = cal.knobs_of(ex.load_chip(p.chip, calibrated=False))
    case = make_case(p, 0, knobs)
    (tpot_ms,) = cal.evaluate([case], knobs[None], ex.EXACT)
    assert tpot_ms * P99_OVER_MEAN_TPOT <= p.get("tpot_slo_ms")
    assert P99_OVER_MEAN_TPOT > 1.0


def test_calibration_file_family_is_the_centre(tmp_path, monkeypatch):
    """[family.X] (what predict uses) holds the family centre fitted over all stacks and
    names them; every stack has its own [stack."X/s"] table; without a centre the
    family takes its first stack's knobs."""
    import tomllib

    cases = _two_stack_cases()
    used = np.array([c.family == 0 or c.point_id == "p0b" for c in cases])
    names = ["nvidia-gpu/tensorrt-llm", "nvidia-gpu/vllm"]
    knobs = np.stack([TRUE, TRUE_B])
    centre = (TRUE + TRUE_B) / 2
    plain = tomllib.loads(render(names, knobs, cases, used, np.ones(len(cases)), 12.0))
    assert plain["family"]["nvidia-gpu"]["mem_bw"] == pytest.approx(TRUE[3])
    text = render(
        names, knobs, cases, used, np.ones(len(cases)), 12.0, centres={"nvidia-gpu": centre}
    )
    (tmp_path / "configs").mkdir()
    shutil.copy(CONFIG_DIR / "efficiency.toml", tmp_path / "configs")
    write_atomic(tmp_path / "configs" / "calibration.toml", text)
    monkeypatch.setattr("explorer.model.efficiency.CONFIG_DIR", tmp_path / "configs")
    eff = load_efficiency("nvidia-gpu", "test")
    assert eff["stack"] == "centre of tensorrt-llm, vllm"
    assert eff["mem_bw"] == pytest.approx(centre[3])
    assert sorted(eff["points"]) == sorted(
        c.point_id for c, u in zip(cases, used, strict=True) if u
    )
    stacks = tomllib.loads(text)["stack"]
    assert stacks["nvidia-gpu/vllm"]["points"] == ["p0b"]
    assert stacks["nvidia-gpu/vllm"]["layer_latency_us"] == pytest.approx(60.0)
