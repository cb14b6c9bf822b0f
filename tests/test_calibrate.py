"""Calibration: recovering known knobs from synthetic points, error tables by hand,
the calibration file, and the operating-point search."""

import dataclasses

import numpy as np
import pytest

import explorer as ex
from explorer import calibrate as cal
from explorer.benchmark import ape, summarise
from explorer.calibration_file import render, write_atomic
from explorer.hardware import load_efficiency
from explorer.operating import best_operating_point

TRUE = np.array([0.55, 0.35, 0.9, 0.65, 0.8, 12e-6, 150e-6])


def _synthetic_cases():
    """Points made by the model itself on one H100 with known knobs TRUE: decode at
    batch 1 (memory-bound: eff_mem and the fixed latencies; two depths separate the
    per-layer from the per-step latency), and prefill of long prompts (compute-bound:
    eff_gemm)."""
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
    ]
    cases = []
    for i, (model_id, batch, prompt, metric) in enumerate(specs):
        model = ex.load_model(model_id)
        scenario = ex.make_scenario(batch, prompt, 128)
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
    # Identifiable from these points: GEMM efficiency, memory efficiency, latencies.
    assert knobs[0] == pytest.approx(TRUE[0], rel=0.05)
    assert knobs[3] == pytest.approx(TRUE[3], rel=0.05)
    assert knobs[5] == pytest.approx(TRUE[5], rel=0.25)
    assert knobs[6] == pytest.approx(TRUE[6], rel=0.25)


def test_knob_bounds_hold():
    u = np.array([-50.0, 50.0, 0.0, -50.0, 50.0, -50.0, 50.0])
    k = np.asarray(cal.from_u(u))
    lo = np.array([lo for _, lo, _ in cal.FIT_FIELDS])
    hi = np.array([hi for _, _, hi in cal.FIT_FIELDS])
    assert np.all(k >= lo) and np.all(k <= hi)
    np.testing.assert_allclose(np.asarray(cal.from_u(cal.to_u(TRUE))), TRUE, rtol=1e-6)


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
    write_atomic(tmp_path / "configs" / "calibration.toml", text)
    monkeypatch.setattr("explorer.hardware.CONFIG_DIR", tmp_path / "configs")
    eff = load_efficiency("nvidia-gpu", "test")
    assert eff["gemm"] == pytest.approx(0.55)
    assert eff["layer_latency_us"] == pytest.approx(12.0)
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
