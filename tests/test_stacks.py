"""Default knobs by chip and date (explorer.model.stacks): by hand and on the shipped file."""

import numpy as np
import pytest

from explorer.model.chip_config import load_chip, load_chip_info
from explorer.model.configio import CONFIG_DIR, read_toml
from explorer.model.efficiency import own_stack_weights
from explorer.model.stacks import OWN_SHARE, blend, chip_weights, stack_counts, stack_year

STACKS = {
    "amd-gpu/vllm-2024": {"chips": {"mi300x": 2}},
    "amd-gpu/vllm-mlperf-2024": {"chips": {"mi300x": 2, "mi325x": 1}},
    "amd-gpu/vllm-2025": {"chips": {"mi300x": 36}},
    "amd-gpu/vllm-mlperf-2026": {"chips": {"mi355x": 5}},
    "nvidia-gpu/vllm-2024": {"chips": {"h100-sxm": 9}},
}


def test_stack_year():
    assert stack_year("vllm-mlperf-2024") == 2024
    with pytest.raises(ValueError, match="year"):
        stack_year("vllm")


def test_weights_are_points_on_the_chip_up_to_the_year():
    counts = stack_counts(STACKS, "amd-gpu", "mi300x")
    assert chip_weights(counts, "mi300x") == {
        "vllm-2024": 0.05,
        "vllm-mlperf-2024": 0.05,
        "vllm-2025": 0.9,
    }
    assert chip_weights(counts, "mi300x", 2024) == {"vllm-2024": 0.5, "vllm-mlperf-2024": 0.5}
    assert chip_weights(counts, "mi300x", 2023) == {}


def test_families_do_not_mix_and_an_unmeasured_chip_has_no_stack():
    assert chip_weights(stack_counts(STACKS, "amd-gpu", "h100-sxm"), "h100-sxm") == {}
    assert chip_weights(stack_counts(STACKS, "amd-gpu", "mi400"), "mi400") == {}


def test_blend_by_hand():
    centre = np.array([1.0, 10.0])
    rows = {"a": np.array([3.0, 30.0]), "b": np.array([5.0, 50.0])}
    got = blend(centre, rows, {"a": 0.5, "b": 0.5})
    own = np.array([4.0, 40.0])
    np.testing.assert_allclose(got, (1 - OWN_SHARE) * centre + OWN_SHARE * own)
    assert blend(centre, rows, {}) is centre
    d = blend({"gemm": 0.4}, {"a": {"gemm": 0.8}}, {"a": 1.0})
    assert d == pytest.approx({"gemm": (1 - OWN_SHARE) * 0.4 + OWN_SHARE * 0.8})


def test_shipped_calibration_mi300x_of_2024_blends_only_its_2024_stacks():
    weights = own_stack_weights("amd-gpu", "mi300x", 2024)
    assert weights and all(stack_year(s) <= 2024 for s in weights)
    assert sum(weights.values()) == pytest.approx(1.0)
    stacks = read_toml(CONFIG_DIR / "calibration.toml")["stack"]
    assert all(stacks[f"amd-gpu/{s}"]["chips"]["mi300x"] > 0 for s in weights)


def test_a_chip_no_stack_measured_gets_the_family_centre():
    centre = read_toml(CONFIG_DIR / "calibration.toml")["family"]["nvidia-gpu"]
    assert own_stack_weights("nvidia-gpu", "b300") == {}
    chip = load_chip("b300")
    assert float(chip.eff_gemm) == pytest.approx(centre["gemm"])


def test_a_measured_chip_moves_half_way_to_its_stacks():
    info = load_chip_info("mi300x")
    weights = own_stack_weights(info.family, info.id, 2024)
    data = read_toml(CONFIG_DIR / "calibration.toml")
    centre = data["family"]["amd-gpu"]["gemm"]
    own = sum(w * data["stack"][f"amd-gpu/{s}"]["gemm"] for s, w in weights.items())
    chip = load_chip("mi300x", year=2024)
    assert float(chip.eff_gemm) == pytest.approx((1 - OWN_SHARE) * centre + OWN_SHARE * own)
