"""Config loading: every built-in config loads; bad configs fail with one clear line."""

import tomllib

import numpy as np
import pytest

import explorer as ex
from explorer.model.chip_config import parse_chip
from explorer.model.configio import CONFIG_DIR, ConfigError
from explorer.model.workload import parse_model

REQUIRED_CHIPS = (
    "a100-sxm-80gb h100-sxm h200-sxm b200 gb200 mi300x mi325x mi355x wse-3 groq-lpu sn40l "
    "tpu-v5e tpu-v6e gaudi3"
).split()
CHIPS = ex.list_ids("chips")
MODELS = ex.list_ids("models")


def test_required_chips_present():
    missing = sorted(set(REQUIRED_CHIPS) - set(CHIPS))
    assert not missing, f"missing chip configs: {missing}"


@pytest.mark.parametrize("chip_id", CHIPS)
def test_chip_loads_with_physical_values(chip_id):
    chip = ex.load_chip(chip_id)
    info = ex.load_chip_info(chip_id)
    assert info.id == chip_id
    for leaf in (chip.peak_flops_per_s, chip.mem_bw_bytes_per_s, chip.flop_energy_j):
        assert np.all(np.asarray(leaf) > 0)
    assert float(np.sum(chip.mem_capacity_bytes)) > 0
    bw = np.asarray(chip.mem_bw_bytes_per_s)
    cap = np.asarray(chip.mem_capacity_bytes)
    assert all(bw[i] >= bw[i + 1] for i in range(2) if cap[i + 1] > 0)  # fastest first
    assert float(chip.static_power_w) < float(chip.tdp_w)


@pytest.mark.parametrize("model_id", MODELS)
def test_published_parameter_counts(model_id):
    """Counts derived from the architecture match the published totals within 2%."""
    model = ex.load_model(model_id)
    assert model.total_params == pytest.approx(model.published_total_params, rel=0.02)


@pytest.mark.parametrize("model_id", MODELS)
def test_published_active_counts(model_id):
    """Active counts too; gpt-oss's model card counts the unembedding but not the
    input embedding as active, so the embedding is left out for it."""
    model = ex.load_model(model_id)
    active = model.active_params
    if model_id == "gpt-oss-120b":
        active -= model.embedding_params
    assert active == pytest.approx(model.published_active_params, rel=0.02)


def _chip_data(chip_id="h100-sxm"):
    with open(CONFIG_DIR / "chips" / f"{chip_id}.toml", "rb") as f:
        return tomllib.load(f)


def _model_data(model_id="llama-3.1-70b"):
    with open(CONFIG_DIR / "models" / f"{model_id}.toml", "rb") as f:
        return tomllib.load(f)


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: d.update(colour="red"), "unknown key 'colour'"),
        (lambda d: d.pop("vendor"), "missing key 'vendor'"),
        (lambda d: d["power"].update(tdp_w="hot"), "key 'tdp_w' must be number"),
        (lambda d: d["memory"][1].update(bandwidth_tb_s=-3.35), "must be > 0"),
        (lambda d: d["memory"][1].update(capacity_gb=-1), "must be >= 0"),
        (lambda d: d["compute"]["sources"].pop("bf16_tflops"), "'bf16_tflops' has no source"),
        (lambda d: d["scale_up"].update(topology="hypercube"), "must be one of"),
        (lambda d: d.update(family="martian"), "'family' = 'martian'"),
        (lambda d: d["memory"].reverse(), "memory[0] must be the on-chip SRAM"),
    ],
)
def test_bad_chip_config_one_line(mutate, fragment):
    data = _chip_data()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        parse_chip(data, "chips/h100-sxm.toml")
    message = str(err.value)
    assert fragment in message
    assert message.startswith("chips/h100-sxm.toml")
    assert "\n" not in message


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: d.update(n_layerz=3), "unknown key 'n_layerz'"),
        (lambda d: d.pop("d_model"), "missing key 'd_model'"),
        (lambda d: d.update(n_heads=0), "must be > 0"),
        (lambda d: d.update(n_heads=64.5), "must be int"),
        (lambda d: d["attention"].update(kind="flash"), "must be one of"),
    ],
)
def test_bad_model_config_one_line(mutate, fragment):
    data = _model_data()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        parse_model(data, "models/x.toml")
    assert fragment in str(err.value)
    assert str(err.value).startswith("models/x.toml")


def test_unknown_ids_name_the_known_ones():
    with pytest.raises(ConfigError, match="unknown chip id 'h1000'.*h100-sxm"):
        ex.load_chip("h1000")
    with pytest.raises(ConfigError, match="unknown model id 'llama-9'"):
        ex.load_model("llama-9")


def test_precision_fallback():
    """Groq LPU v1 has FP16 and INT8 only: bf16 falls back to fp16, fp8 and fp4 to
    the 16-bit rate (weights dequantised), int8 keeps its own peak."""
    if "groq-lpu" not in CHIPS:
        pytest.skip("groq-lpu config not present")
    peaks = np.asarray(ex.load_chip("groq-lpu").peak_flops_per_s) / 1e12
    fp16, bf16, fp8, fp4, int8 = peaks
    assert bf16 == fp16 == fp8 == fp4
    assert int8 > fp16


def test_scenario_and_mapping_validation():
    with pytest.raises(ConfigError, match="'batch' must be >= 1"):
        ex.make_scenario(batch=0)
    with pytest.raises(ConfigError, match="precision 'fp3'"):
        ex.make_scenario(precision="fp3")
    with pytest.raises(ConfigError, match="'spec_accept'"):
        ex.make_scenario(spec_accept=1.0)
    with pytest.raises(ConfigError, match="'ep' .* must not exceed 'tp'"):
        ex.make_mapping(tp=2, ep=4)
    with pytest.raises(ConfigError, match="needs an MoE model"):
        ex.make_mapping(tp=2, ep=2, model=ex.load_model("llama-3.1-8b"))
