"""The CLI, in-process: JSON keys, tables, and one-line errors with exit code 2."""

import json

import pytest

from explorer.cli.main import run

PREDICT = ["predict", "--chip", "h100-sxm", "--chips", "4", "--model", "llama-3.1-70b"]


def _json(capsys, argv):
    assert run(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_predict_json_has_the_contract_keys(capsys):
    out = _json(capsys, PREDICT + ["--batch", "1", "--prompt", "1024", "--output", "1024"])
    for key in (
        "ttft_ms", "tpot_ms", "tokens_per_s_per_user", "tokens_per_s_total",
        "tokens_per_s_per_chip", "energy_j_per_token", "fits_in_memory", "bottleneck", "mapping",
    ):  # fmt: skip
        assert key in out
    assert out["mapping"]["tp"] * out["mapping"]["pp"] == 4
    assert out["mapping_chosen_by"] == "auto"
    assert out["fits_in_memory"] is True
    assert out["bottleneck"] == "HBM3 bandwidth"
    assert out["tokens_per_s_per_user"] == pytest.approx(1000.0 / out["tpot_ms"])


def test_predict_explicit_mapping(capsys):
    out = _json(capsys, PREDICT + ["--tp", "2", "--pp", "2"])
    assert out["mapping"] == {"tp": 2, "pp": 2, "ep": 1}
    assert out["mapping_chosen_by"] == "user"


def test_predict_text_names_bottleneck(capsys):
    assert run(PREDICT) == 0
    text = capsys.readouterr().out
    assert "decode bottleneck: HBM3 bandwidth" in text


def test_predict_not_fitting_is_an_answer(capsys):
    out = _json(capsys, ["predict", "--chip", "h100-sxm", "--model", "llama-3.1-405b"])
    assert out["fits_in_memory"] is False
    assert out["bottleneck"].startswith("memory capacity")


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["predict", "--chip", "h100-sxmx", "--model", "llama-3.1-70b"], "unknown chip id"),
        (["predict", "--chip", "h100-sxm", "--model", "gpt-9"], "unknown model id"),
        (PREDICT + ["--batch", "-1"], "'batch' must be >= 1"),
        (PREDICT + ["--tp", "3"], "tp x pp = 3"),
        (PREDICT + ["--precision", "fp3"], "invalid choice"),
        (PREDICT + ["--bogus"], "unrecognized arguments"),
        (
            ["predict", "--chip-file", "/nonexistent.toml", "--model", "llama-3.1-8b"],
            "no such file",
        ),
        (["benchmark", "--folds", "1"], "--folds must be 0 (leave-one-out) or >= 2"),
        (["calibrate", "--folds", "-2"], "--folds must be 0 (leave-one-out) or >= 2"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert fragment in captured.err
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_debug_shows_the_exception():
    from explorer.model.configio import ConfigError

    with pytest.raises(ConfigError):
        run(["--debug", "predict", "--chip", "nope", "--model", "llama-3.1-8b"])


def test_chip_file_round_trip(capsys, tmp_path):
    from explorer.model.configio import CONFIG_DIR

    path = tmp_path / "mine.toml"
    path.write_text((CONFIG_DIR / "chips" / "h100-sxm.toml").read_text())
    a = _json(capsys, ["predict", "--chip-file", str(path), "--model", "llama-3.1-8b"])
    b = _json(capsys, ["predict", "--chip", "h100-sxm", "--model", "llama-3.1-8b"])
    assert a["tpot_ms"] == b["tpot_ms"]


def test_chips_and_models_tables(capsys):
    assert run(["chips"]) == 0
    text = capsys.readouterr().out
    assert "h100-sxm" in text and "BF16 TF/s" in text
    assert run(["models"]) == 0
    text = capsys.readouterr().out
    assert "deepseek-v3" in text and "mla" in text


def test_compare_every_chip_fits(capsys):
    rows = _json(capsys, ["compare", "--model", "llama-3.1-8b", "--output", "64"])
    assert len(rows) >= 10
    assert all(r["fits_in_memory"] for r in rows)


def test_predict_batch_auto_meets_the_slo(capsys):
    argv = ["predict", "--chip", "h100-sxm", "--chips", "2", "--model", "llama-3.1-8b"]
    out = _json(capsys, argv + ["--batch", "auto", "--prefill-batch", "1", "--tpot-slo-ms", "12"])
    assert out["feasible"] is True
    assert out["tpot_loaded_ms"] <= 12.0
    assert out["scenario"]["batch"] > 1
    assert "auto" in out["batch_chosen_by"]


def test_predict_batch_auto_infeasible_is_an_answer(capsys):
    argv = ["predict", "--chip", "h100-sxm", "--chips", "8", "--model", "llama-3.1-405b"]
    out = _json(capsys, argv + ["--batch", "auto", "--tpot-slo-ms", "0.01"])
    assert out["feasible"] is False
    assert "memory" in out["infeasible_because"] or "TPOT" in out["infeasible_because"]


def test_uncalibrated_flag_uses_default_knobs(capsys):
    a = _json(capsys, PREDICT + ["--uncalibrated"])
    b = _json(capsys, PREDICT)
    assert a["tpot_ms"] > 0 and b["tpot_ms"] > 0


def test_predict_reports_cost_per_token(capsys):
    out = _json(capsys, PREDICT)
    assert out["cost_usd_per_mtok"] > 0 and out["chip_cost_usd"] == 27500
    assert out["chip_cost_basis"].startswith("published price")
    expected = out["tco_usd_per_hour_per_chip"] / (
        3600 * out["tokens_per_s_per_chip"] * out["utilisation"]
    )
    assert out["cost_usd_per_mtok"] == pytest.approx(expected * 1e6, rel=1e-5)


def test_cost_validate_and_chip(capsys):
    rows = _json(capsys, ["cost", "--validate"])["validate"]
    assert {r["chip"] for r in rows} >= {"h100-sxm", "b200", "mi300x", "groq-lpu", "wse-3"}
    for r in rows:
        assert abs(r["area_error"]) <= 0.25 and abs(r["power_error"]) <= 0.25
    out = _json(capsys, ["cost", "--chip", "h100-sxm"])
    assert out["area_mm2"]["total_mm2"] > 0 and out["tco_usd_per_hour"]["total_usd_per_h"] > 0
    assert out["constraints_slack"]["reticle"] > 0


def test_design_file_predict_and_cost(capsys):
    from explorer.model.configio import CONFIG_DIR

    path = str(CONFIG_DIR.parent / "docs" / "designs" / "h100-compute-sram-8b.toml")
    out = _json(capsys, ["predict", "--chip-file", path, "--model", "llama-3.1-8b"])
    assert out["fits_in_memory"] is True
    assert out["chip_cost_basis"].startswith("cost model")
    h100 = _json(capsys, ["predict", "--chip", "h100-sxm", "--model", "llama-3.1-8b"])
    assert out["tpot_ms"] < h100["tpot_ms"] / 5  # SRAM-resident weights
    cost = _json(capsys, ["cost", "--chip-file", path])
    assert cost["constraints_slack"]["reticle"] < 0  # 8 dies of >858 mm2: says so


def test_bad_design_file_is_one_line(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[design]\ncompute_tflops = -1\n")
    assert run(["cost", "--chip-file", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_optimize_impossible_target_is_an_answer(capsys, tmp_path):
    """TPOT of 1 us on a 1B model cannot be met (fixed latencies alone exceed it): the
    answer says infeasible, names the binding constraint, exits 0, writes the design."""
    out_file = tmp_path / "d.toml"
    argv = ["optimize", "--model", "llama-3.2-1b", "--target-tpot-ms", "0.001"]
    out = _json(capsys, argv + ["--memory", "none", "--out", str(out_file)])
    assert out["feasible"] is False
    assert out["binding"] in out["constraints"] and out["violation"] > 0
    assert out["reference"] is None
    assert out_file.read_text().startswith("[design]")


def test_pareto_front_and_references(capsys, tmp_path):
    """Two targets in one run: each feasible answer meets its target, a looser target
    never costs more, reference chips without a price carry None (no NaN), and the plot
    is written."""
    import math

    plot = tmp_path / "front.png"
    argv = ["pareto", "--model", "llama-3.2-1b", "--tpot-ms", "2,20", "--memory", "HBM3E"]
    out = _json(capsys, argv + ["--plot", str(plot)])
    front = out["front"]
    assert [r["target_tpot_ms"] for r in front] == [2.0, 20.0]
    for r in front:
        if r["feasible"]:
            assert r["metrics"]["tpot_ms"] <= r["target_tpot_ms"] * (1 + 1e-6)
    if all(r["feasible"] for r in front):
        assert front[1]["objective"] <= front[0]["objective"] * (1 + 1e-3)
    values = [p["objective"] for v in out["references"].values() for p in v]
    assert values and all(v is None or math.isfinite(v) for v in values)
    assert plot.stat().st_size > 10_000


def test_predict_stack_uses_that_stacks_fitted_knobs(capsys):
    """--stack vllm-2024 takes the amd-gpu/vllm-2024 knobs of configs/calibration.toml
    (its own low-precision factor too) and says so; an unknown stack, or a stack without
    calibration, exits 2 with one line."""
    from explorer.model.chip_config import load_chip, load_chip_info
    from explorer.model.configio import CONFIG_DIR, read_toml
    from explorer.model.efficiency import with_stack

    base = ["predict", "--chip", "mi300x", "--model", "llama-3.1-8b", "--batch", "1"]
    main = _json(capsys, base)
    vllm = _json(capsys, base + ["--stack", "vllm-2024"])
    assert vllm["tpot_ms"] != main["tpot_ms"]
    assert vllm["confidence"]["knobs"]["stack"] == "vllm-2024"
    assert main["confidence"]["knobs"]["stack"].startswith("centre of ")
    table = read_toml(CONFIG_DIR / "calibration.toml")["stack"]["amd-gpu/vllm-2024"]
    chip = with_stack(load_chip("mi300x"), load_chip_info("mi300x"), "vllm-2024")
    assert float(chip.eff_gemm) == pytest.approx(table["gemm"])
    assert float(chip.eff_lowp) == pytest.approx(table["low_precision"])
    assert float(chip.layer_latency_s) == pytest.approx(table["layer_latency_us"] * 1e-6)
    for extra in (["--stack", "nope"], ["--stack", "vllm-2024", "--uncalibrated"]):
        assert run(base + extra + ["--json"]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_predict_says_its_confidence(capsys):
    """A chip with fitted points of its own is "calibrated"; a TPU (no measured point in
    its family) and a Gaudi 3 (its family fitted on Gaudi 2 only, most of its TTFT in
    collectives timed with an estimated link latency) are "estimate" and say why; the
    new tt-galaxy-wormhole chip id predicts."""
    h100 = _json(capsys, PREDICT + ["--batch", "1"])
    assert h100["confidence"]["label"] == "calibrated"
    assert h100["confidence"]["knobs"]["points_on_chip"] > 0
    assert h100["confidence"]["knobs"]["stack"].startswith("centre of ")
    tpu = _json(capsys, ["predict", "--chip", "tpu-v5e", "--chips", "8", "--model",
                         "llama-3.1-70b", "--batch", "1"])  # fmt: skip
    assert tpu["confidence"]["label"] == "estimate"
    assert any("no measured point" in line for line in tpu["confidence"]["rests_on"])
    gaudi = _json(capsys, ["predict", "--chip", "gaudi3", "--chips", "8", "--model",
                           "llama-3.1-70b", "--batch", "1"])  # fmt: skip
    assert gaudi["confidence"]["label"] == "estimate"
    assert any("latency_us" in line for line in gaudi["confidence"]["rests_on"])
    galaxy = _json(
        capsys,
        ["predict", "--chip", "tt-galaxy-wormhole", "--chips", "32", "--model",
         "llama-3.1-70b", "--precision", "fp8", "--batch", "32", "--prompt", "128",
         "--output", "128"],
    )  # fmt: skip
    assert galaxy["fits_in_memory"] and 0 < galaxy["tpot_ms"] < 1e3


def test_chips_lists_every_configured_chip(capsys):
    from explorer.model.configio import list_ids

    assert run(["chips", "--json"]) == 0
    listed = {row["id"] for row in json.loads(capsys.readouterr().out)}
    assert set(list_ids("chips")) <= listed
    assert {"tt-galaxy-wormhole", "ibm-northpole"} <= listed
