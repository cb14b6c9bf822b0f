"""Chip designs: area, power, constraints, design_to_chip, reference designs, validation.

Physics asserted: more compute/SRAM/stacks/links cost area and power; constraints
change sign where a die outgrows the reticle or its edge; gradients match central
finite differences in float64 (tests/conftest.py); jit and vmap agree with plain calls;
a designed chip predicts; reference chips reproduce their datasheets and published
die areas and TDPs within 25%.
"""

from __future__ import annotations

import dataclasses
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import explorer as ex
from explorer.design import area_power, constraints, tech, to_chip, variables
from explorer.design.reference_designs import (
    VALIDATION_CHIPS,
    parse_node,
    reference_design,
    validate,
    validation_table,
)
from explorer.model.configio import CONFIG_DIR, ConfigError
from explorer.model.efficiency import load_physics

TECH = tech.load_tech()

PRESETS = {
    # A reticle-class HBM GPU with a cache-style L2.
    "hbm-gpu": variables.make_design(
        compute_flops_per_s=1.0e15,
        sram_bytes=60e6,
        mem_stacks=6.0,
        link_bw_bytes_per_s=450e9,
        memory="HBM3E",
        node="N4",
        sram_kind="cache",
    ),
    # SRAM-only, scratchpad, no off-chip memory.
    "sram-only": variables.make_design(
        compute_flops_per_s=4.0e14,
        sram_bytes=500e6,
        link_bw_bytes_per_s=300e9,
        memory="none",
        node="N3",
    ),
    # Two dies, every optional field given, HBM4 on N2.
    "two-die-explicit": variables.make_design(
        compute_flops_per_s=3.0e15,
        sram_bytes=300e6,
        sram_bw_bytes_per_s=60e12,
        mem_stacks=8.0,
        mem_stack_bytes=48e9,
        mem_stack_bw_bytes_per_s=2.5e12,
        link_bw_bytes_per_s=900e9,
        dies=2.0,
        memory="HBM4",
        node="N2",
        package="cowos-l",
    ),
    # GDDR7 on an organic package.
    "gddr7": variables.make_design(
        compute_flops_per_s=5.0e14,
        sram_bytes=100e6,
        mem_stacks=12.0,
        link_bw_bytes_per_s=100e9,
        memory="GDDR7",
        node="N5",
    ),
    "wafer": variables.make_design(
        compute_flops_per_s=1.5e16,
        sram_bytes=40e9,
        link_bw_bytes_per_s=150e9,
        memory="none",
        node="N5",
        wafer_scale=True,
    ),
}


def present_fields(design):
    return [f for f in variables.CONTINUOUS if getattr(design, f) is not None]


def flat(fn):
    """A function of a Design returning its dict of arrays as one vector."""
    return lambda d: jnp.stack([jnp.asarray(v) for v in fn(d, TECH).values()])


# --- technology constants -----------------------------------------------------------


def test_tech_has_every_node_and_memory():
    assert {"14nm", "N7", "N5", "N4", "N3", "N2"} <= set(TECH.nodes)
    assert {"HBM3E", "HBM4", "GDDR7", "LPDDR5X"} <= set(TECH.memories)
    # Memory energies are physics.toml's, by the same name.
    physics = load_physics()["memory_energy_pj_per_bit"]
    for name, mem in TECH.memories.items():
        assert mem.energy_j_per_byte == pytest.approx(physics[name] * 8e-12)
    assert TECH.reticle_mm2 == 858.0


def test_node_constants_scale_the_right_way():
    order = ["14nm", "N7", "N5", "N3", "N2"]
    rho = [TECH.nodes[n].compute_flops_per_s_per_mm2 for n in order]
    energy = [TECH.nodes[n].flop_energy_j for n in order]
    wafer = [TECH.nodes[n].wafer_usd for n in order]
    assert rho == sorted(rho) and energy == sorted(energy, reverse=True)
    assert wafer == sorted(wafer)


def _write_cost(tmp_path, text):
    path = tmp_path / "cost.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("reticle_mm2 = 858.0", "reticle_mm2 = 858.0\nbogus = 1", "unknown key 'bogus'"),
        ("alpha = 3.0\n", "alpha = -3.0\n", "'alpha' must be > 0"),
        ("alpha = [2.0, 5.0]", "alpha = [4.0, 5.0]", "ranges.alpha"),
        ('formats = ["int8"]', 'formats = ["int3"]', "unknown ['int3']"),
        ('package = "organic"', 'package = "pcb"', "package 'pcb' is unknown"),
        ("interface_tb_s = 10.0\n", "", "d2d: missing key 'interface_tb_s'"),
        ("phy_tb_s_per_mm2 = 1.35", "phy_tb_s_per_mm2 = 0", "'phy_tb_s_per_mm2' must be > 0"),
        ('topology = "torus"', 'topology = "hypercube"', "fabric.torus: key 'topology'"),
        ("link_latency_us = 0.5\n", "", "fabric.torus: missing key 'link_latency_us'"),
        ("domain_chips = 576\n", "domain_chips = 576\nhops = 3\n", "unknown key 'hops'"),
        ("[fabric.torus]", "[fabric.switch]", "fabric.switch is [interconnect]"),
    ],
)
def test_bad_cost_config_fails_with_one_line(tmp_path, old, new, message):
    text = (CONFIG_DIR / "cost.toml").read_text()
    assert old in text
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        tech.load_tech(_write_cost(tmp_path, text.replace(old, new, 1)))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "key, source",
    [
        ("alpha", "physics note"),
        ("interface_tb_s", "estimate: NVIDIA B200"),
        ("link_latency_us", "estimate: physics note 0 and 7.3"),  # [fabric.torus]
    ],
)
def test_missing_source_is_rejected(tmp_path, key, source):
    text = (CONFIG_DIR / "cost.toml").read_text()
    bad = re.sub(rf'\n{key} = "{source}[^\n]*', "", text, count=1)
    assert bad != text
    with pytest.raises(ConfigError, match=f"'{key}' has no source") as err:
        tech.load_tech(_write_cost(tmp_path, bad))
    assert "cost.toml" in str(err.value)


def test_fabrics_come_from_the_cost_config():
    """The switch fabric is [interconnect]; torus is [fabric.torus] (0.5 us, 576 chips)."""
    assert TECH.fabrics["switch"] == {
        "topology": "switch",
        "link_latency_s": pytest.approx(6e-6),
        "domain_chips": 8.0,
    }
    assert TECH.fabrics["torus"] == {
        "topology": "torus",
        "link_latency_s": pytest.approx(0.5e-6),
        "domain_chips": 576.0,
    }


def test_unknown_names_are_config_errors():
    d = PRESETS["hbm-gpu"]
    for change in (dict(node="N9"), dict(memory="HBM9"), dict(package="pcb")):
        with pytest.raises(ConfigError):
            constraints.constraints(dataclasses.replace(d, **change), TECH)
    with pytest.raises(ConfigError):
        variables.make_design(compute_flops_per_s=1e15, sram_kind="l3")
    with pytest.raises(ConfigError):
        variables.make_design(compute_flops_per_s=0.0)


# --- area and power: hand check and monotonicity ------------------------------------


def test_area_and_power_by_hand():
    d = PRESETS["hbm-gpu"]
    n, m = TECH.nodes["N4"], TECH.memories["HBM3E"]
    compute = 1e15 / 2.2e12
    sram = 60e6 * 8 / (31.8e6 * 0.15)
    phy = 6 * m.phy_mm2
    link = 450e9 * 3.86 / 100e9
    a = area_power.area(d, TECH)
    assert float(a["compute_mm2"]) == pytest.approx(compute)
    assert float(a["sram_mm2"]) == pytest.approx(sram)
    assert float(a["total_mm2"]) == pytest.approx((compute + sram + phy + link) / 0.8)
    assert float(a["die_mm2"]) == pytest.approx(float(a["total_mm2"]))
    p = area_power.power(d, TECH)
    e_sram = (0.08 + 0.07 * 5.0) * 8e-12
    dyn = 1e15 * n.flop_energy_j + 6e12 * e_sram + 6 * 1.2e12 * m.energy_j_per_byte
    dyn += 450e9 * 5.5 * 8e-12
    assert float(p["total_w"]) == pytest.approx(dyn / (1 - TECH.static_fraction))
    parts = sum(float(p[k]) for k in ("compute_w", "sram_w", "mem_w", "link_w", "static_w"))
    assert parts == pytest.approx(float(p["total_w"]))


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize(
    "field, area_up, power_up",
    [
        ("compute_flops_per_s", True, True),
        ("sram_bytes", True, True),
        ("mem_stacks", True, True),
        ("link_bw_bytes_per_s", True, True),
    ],
)
def test_more_of_a_resource_costs_area_and_power(name, field, area_up, power_up):
    d = PRESETS[name]
    more = d.replace(**{field: getattr(d, field) * 1.5 + 1.0})
    if field == "mem_stacks" and d.memory == "none":
        area_up = power_up = False  # stacks of no memory are nothing
    if field == "sram_bytes" and d.sram_bw_bytes_per_s is not None:
        power_up = False  # a fixed SRAM bandwidth draws the same power from more banks
    a0, a1 = (float(area_power.area(x, TECH)["total_mm2"]) for x in (d, more))
    p0, p1 = (float(area_power.power(x, TECH)["total_w"]) for x in (d, more))
    assert (a1 > a0) == area_up and a1 >= a0
    assert (p1 > p0) == power_up and p1 >= p0


def test_sram_bandwidth_rule_and_override():
    d = PRESETS["sram-only"]
    assert float(area_power.sram_bandwidth(d, TECH)) == pytest.approx(500e6 * 0.4e12 / 1e6)
    d2 = PRESETS["two-die-explicit"]
    assert float(area_power.sram_bandwidth(d2, TECH)) == 60e12
    assert float(area_power.memory_capacity(d2, TECH)) == pytest.approx(8 * 48e9)


def test_dies_split_area_and_add_die_to_die_phys():
    """Two dies: one 10 TB/s interface with a PHY of 10 / 1.35 mm² on each die (UCIe
    advanced-package density), so the total grows by 2 x 7.41 / (1 - 0.2) = 18.5 mm²
    and each die holds half of it."""
    d = PRESETS["hbm-gpu"]
    a1, a2 = area_power.area(d, TECH), area_power.area(d.replace(dies=2.0), TECH)
    assert float(a1["d2d_mm2"]) == 0.0
    assert float(a2["d2d_mm2"]) == pytest.approx(2 * 10 / 1.35, rel=1e-6)
    grown = float(a1["total_mm2"]) + 2 * 10 / 1.35 / 0.8
    assert float(a2["total_mm2"]) == pytest.approx(grown, rel=1e-6)
    assert float(a2["die_mm2"]) == pytest.approx(grown / 2, rel=1e-6)


def test_more_dies_add_die_to_die_area_but_not_at_wafer_scale():
    d = PRESETS["hbm-gpu"]
    d2d = [float(area_power.area(d.replace(dies=n), TECH)["d2d_mm2"]) for n in (1.0, 1.5, 2, 4, 64)]
    assert d2d == sorted(d2d) and len(set(d2d)) == len(d2d)
    assert d2d[-1] == pytest.approx(63 * 2 * 10 / 1.35, rel=1e-6)
    assert float(area_power.area(PRESETS["wafer"].replace(dies=8.0), TECH)["d2d_mm2"]) == 0.0
    grad = jax.grad(lambda n: area_power.area(d.replace(dies=n), TECH)["total_mm2"])(3.0)
    assert float(grad) == pytest.approx(2 * 10 / 1.35 / 0.8, rel=1e-6)


# --- constraints ----------------------------------------------------------------------


def test_reticle_flips_sign_above_858_mm2():
    d = PRESETS["hbm-gpu"]
    rho = TECH.nodes["N4"].compute_flops_per_s_per_mm2
    a = area_power.area(d, TECH)
    other_blocks = float(a["sram_mm2"] + a["mem_phy_mm2"] + a["link_mm2"])

    def with_die(target_mm2):
        # total = blocks / (1 - f): solve for the compute that gives this die area.
        c = (target_mm2 * (1 - TECH.overhead_fraction) - other_blocks) * rho
        return d.replace(compute_flops_per_s=c)

    small, big = with_die(800.0), with_die(900.0)
    assert float(area_power.area(big, TECH)["die_mm2"]) == pytest.approx(900.0)
    assert float(constraints.constraints(small, TECH)["reticle"]) > 0
    assert float(constraints.constraints(big, TECH)["reticle"]) < 0
    # Splitting the big die in two satisfies the reticle again.
    assert float(constraints.constraints(big.replace(dies=2.0), TECH)["reticle"]) > 0


def test_too_many_stacks_violate_shoreline():
    d = PRESETS["hbm-gpu"]
    assert float(constraints.constraints(d, TECH)["shoreline"]) > 0
    crowded = d.replace(mem_stacks=12.0)
    assert float(constraints.constraints(crowded, TECH)["shoreline"]) < 0
    # Split over two dies, each die carries half the stacks on an edge sqrt(2) shorter.
    s1 = float(constraints.constraints(crowded, TECH)["shoreline"])
    s2 = float(constraints.constraints(crowded.replace(dies=2.0), TECH)["shoreline"])
    assert s2 > s1


def test_shoreline_by_hand():
    d = PRESETS["hbm-gpu"]
    die = float(area_power.area(d, TECH)["die_mm2"])
    edge = 2 * np.sqrt(die * 1.269)  # long edge at the 33:26 aspect
    expected = 1 - 6 * TECH.memories["HBM3E"].shoreline_mm / edge
    assert float(constraints.constraints(d, TECH)["shoreline"]) == pytest.approx(expected, rel=1e-3)


def test_power_density_package_and_max_power_constraints():
    # A small die with many stacks: HBM power concentrated on little silicon.
    hot = variables.make_design(compute_flops_per_s=1e14, mem_stacks=8.0, memory="HBM3E")
    c = constraints.constraints(hot, TECH)
    assert float(c["power_density"]) < 0
    h100 = reference_design("h100-sxm", TECH)  # ~530 W on ~750 mm2
    assert float(constraints.constraints(h100, TECH)["power_density"]) > 0
    # 16 HBM4 stacks overflow a CoWoS-S interposer but not a 9.5x-reticle one.
    big = PRESETS["two-die-explicit"].replace(mem_stacks=24.0)
    assert (
        float(
            constraints.constraints(dataclasses.replace(big, package="cowos-s"), TECH)[
                "package_area"
            ]
        )
        < 0
    )
    assert (
        float(
            constraints.constraints(dataclasses.replace(big, package="cowos-l-2027"), TECH)[
                "package_area"
            ]
        )
        > 0
    )
    p = float(area_power.power(PRESETS["hbm-gpu"], TECH)["total_w"])
    assert "power" not in constraints.constraints(PRESETS["hbm-gpu"], TECH)
    assert (
        float(constraints.constraints(PRESETS["hbm-gpu"], TECH, max_power_w=1.1 * p)["power"]) > 0
    )
    assert (
        float(constraints.constraints(PRESETS["hbm-gpu"], TECH, max_power_w=0.9 * p)["power"]) < 0
    )


def test_wafer_scale_has_wafer_area_not_reticle():
    d = PRESETS["wafer"]
    c = constraints.constraints(d, TECH)
    assert "reticle" not in c and "package_area" not in c and "shoreline" not in c
    assert float(c["wafer_area"]) > 0
    assert float(constraints.constraints(d.replace(sram_bytes=80e9), TECH)["wafer_area"]) < 0
    assert float(area_power.area(d, TECH)["die_mm2"]) == TECH.wafer_scale_usable_mm2


# --- smoothness: no NaN, gradients, jit, vmap -----------------------------------------


def _zeroed(d):
    return d.replace(sram_bytes=0.0, mem_stacks=0.0, link_bw_bytes_per_s=0.0)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_finite_everywhere_including_zero_resources(name):
    for d in (PRESETS[name], _zeroed(PRESETS[name])):
        for fn in (area_power.area, area_power.power, constraints.constraints):
            out = flat(fn)(d)
            assert np.all(np.isfinite(out))
            g = jax.jacfwd(flat(fn))(d)
            for leaf in jax.tree_util.tree_leaves(g):
                assert np.all(np.isfinite(leaf))


def fd_check(fn, d, rel=1e-6):
    """d fn / d field (autodiff, forward mode) vs central differences, per field,
    compared as sensitivities x d fn / d x against the output scale."""
    jac = jax.jacfwd(fn)(d)
    scale = float(np.max(np.abs(fn(d)))) + 1e-300
    for field in present_fields(d):
        x = float(getattr(d, field))
        h = rel * max(abs(x), 1.0)
        fd = (fn(d.replace(**{field: x + h})) - fn(d.replace(**{field: x - h}))) / (2 * h)
        auto = np.asarray(getattr(jac, field))
        np.testing.assert_allclose(
            auto * max(abs(x), 1.0),
            np.asarray(fd) * max(abs(x), 1.0),
            rtol=1e-5,
            atol=1e-7 * scale,
            err_msg=f"{fn} d/d{field}",
        )


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize(
    "fn", [area_power.area, area_power.power, constraints.constraints], ids=lambda f: f.__name__
)
def test_gradients_match_finite_differences(name, fn):
    fd_check(flat(fn), PRESETS[name])


def test_jit_and_vmap_agree_with_plain_calls():
    base = PRESETS["hbm-gpu"]
    batch = [
        base.replace(compute_flops_per_s=c, sram_bytes=s) for c, s in [(5e14, 1e7), (2e15, 2e8)]
    ]
    stacked = variables.stack_designs(batch)
    for fn in (area_power.area, area_power.power, constraints.constraints):
        f = flat(fn)
        plain = np.stack([f(x) for x in batch])
        np.testing.assert_allclose(jax.vmap(f)(stacked), plain, rtol=1e-12)
        np.testing.assert_allclose(jax.jit(f)(batch[0]), plain[0], rtol=1e-12)
    chips = jax.vmap(lambda d: to_chip.design_to_chip(d, TECH))(stacked)
    one = to_chip.design_to_chip(batch[1], TECH)
    for a, b in zip(jax.tree_util.tree_leaves(chips), jax.tree_util.tree_leaves(one), strict=True):
        np.testing.assert_allclose(np.asarray(a)[1], np.asarray(b), rtol=1e-12)


# --- design_to_chip and predict -------------------------------------------------------


def test_design_to_chip_fields():
    d = PRESETS["hbm-gpu"]
    chip = to_chip.design_to_chip(d, TECH)
    peaks = dict(zip(ex.PRECISIONS, np.asarray(chip.peak_flops_per_s), strict=True))
    assert peaks["bf16"] == peaks["fp16"] == 1e15
    assert peaks["fp8"] == 2e15 and peaks["int8"] == 2e15 and peaks["fp4"] == 4e15
    # Same power at every precision's peak.
    power = np.asarray(chip.peak_flops_per_s) * np.asarray(chip.flop_energy_j)
    np.testing.assert_allclose(power, power[1])
    np.testing.assert_allclose(chip.mem_capacity_bytes, [60e6, 6 * 36e9, 0.0])
    np.testing.assert_allclose(chip.mem_bw_bytes_per_s, [6e12, 7.2e12, 7.2e12])
    assert float(chip.tdp_w) == pytest.approx(float(area_power.power(d, TECH)["total_w"]))
    assert float(chip.static_power_w) == pytest.approx(TECH.static_fraction * float(chip.tdp_w))
    eff = TECH.efficiency["other"]
    assert float(chip.eff_gemm) == eff["gemm"]
    # 14 nm has no FP8/FP4: they fall back to the BF16 rate, INT8 doubles.
    old = to_chip.design_to_chip(dataclasses.replace(d, node="14nm"), TECH)
    peaks14 = dict(zip(ex.PRECISIONS, np.asarray(old.peak_flops_per_s), strict=True))
    assert peaks14["fp8"] == peaks14["fp4"] == 1e15 and peaks14["int8"] == 2e15
    none = to_chip.design_to_chip(PRESETS["sram-only"], TECH)
    assert np.asarray(none.mem_capacity_bytes)[1:].tolist() == [0.0, 0.0]


LLAMA_1B = ex.load_model("llama-3.2-1b")
SCEN = ex.make_scenario(1, 512, 128)
MAP = ex.make_mapping(1, 1, 1)


def _sram_design(sram_bytes):
    return variables.make_design(
        compute_flops_per_s=5e14,
        sram_bytes=sram_bytes,
        mem_stacks=4.0,
        link_bw_bytes_per_s=200e9,
        memory="HBM3E",
        node="N3",
    )


def test_designed_chip_predicts_and_sram_cliff():
    resident = float(
        ex.predict(
            to_chip.design_to_chip(_sram_design(1e9), TECH), LLAMA_1B, SCEN, MAP
        ).resident_bytes
    )
    tpot = {}
    for frac in (0.8, 0.95, 1.05):
        m = ex.predict(
            to_chip.design_to_chip(_sram_design(frac * resident), TECH), LLAMA_1B, SCEN, MAP
        )
        assert np.isfinite(float(m.tpot_s)) and np.isfinite(float(m.ttft_s))
        assert bool(m.fits)
        tpot[frac] = float(m.tpot_s)
    assert tpot[0.95] < tpot[0.8]
    assert tpot[1.05] < tpot[0.95]


def test_tpot_gradient_through_design_is_finite_and_favours_sram():
    d = _sram_design(2.0e9)

    def tpot(x):
        return ex.predict(to_chip.design_to_chip(x, TECH), LLAMA_1B, SCEN, MAP, ex.SMOOTH).tpot_s

    g = jax.grad(tpot)(d)
    for field in present_fields(d):
        assert np.isfinite(float(getattr(g, field)))
    assert float(g.sram_bytes) < 0  # below the working set, more SRAM is faster
    assert float(g.compute_flops_per_s) <= 0


# --- reference designs ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, node",
    [
        ("TSMC 4N", "N4"),
        ("TSMC 4NP", "N4"),
        ("TSMC 4N (GPU)", "N4"),
        ("TSMC N5 (XCD) + N6 (IOD)", "N5"),
        ("TSMC N3P (XCD) + N6 (IOD)", "N3"),
        ("TSMC N2 (compute) + N3 (I/O)", "N2"),
        ("TSMC 3nm-class (N3/N3P)", "N3"),
        ("TSMC 5nm", "N5"),
        ("TSMC 7nm (N7)", "N7"),
        ("TSMC 6nm", "N7"),
        ("GlobalFoundries 14nm", "14nm"),
    ],
)
def test_parse_node(text, node):
    assert parse_node(text) == node


def test_parse_node_not_disclosed():
    with pytest.raises(ConfigError, match="names no node"):
        parse_node("not disclosed")


@pytest.mark.parametrize("chip_id", VALIDATION_CHIPS)
def test_reference_design_reproduces_datasheet(chip_id):
    d = reference_design(chip_id, TECH)
    made = to_chip.design_to_chip(d, TECH)
    real = ex.load_chip(chip_id, calibrated=False)
    bf16 = ex.PRECISIONS.index("bf16")
    assert float(made.peak_flops_per_s[bf16]) == pytest.approx(float(real.peak_flops_per_s[bf16]))
    np.testing.assert_allclose(made.mem_capacity_bytes[:2], real.mem_capacity_bytes[:2], rtol=1e-9)
    n_tiers = 1 if d.memory == "none" else 2
    np.testing.assert_allclose(
        made.mem_bw_bytes_per_s[:n_tiers], real.mem_bw_bytes_per_s[:n_tiers], rtol=1e-9
    )
    assert float(made.link_bw_bytes_per_s) == pytest.approx(float(real.link_bw_bytes_per_s))


def test_reference_design_facts():
    assert float(reference_design("h100-sxm", TECH).mem_stacks) == 5
    assert reference_design("h100-sxm", TECH).sram_kind == "cache"
    assert reference_design("groq-lpu", TECH).memory == "none"
    assert reference_design("groq-lpu", TECH).sram_kind == "scratchpad"
    assert reference_design("wse-3", TECH).wafer_scale
    assert float(reference_design("b200", TECH).dies) == 2
    assert reference_design("mi300x", TECH).node == "N5"
    # Stacks derived from capacity where cost.toml gives none (A100: 80 GB HBM2E / 16).
    assert float(reference_design("a100-sxm-80gb", TECH).mem_stacks) == 5
    with pytest.raises(ConfigError, match="names no node"):
        reference_design("tpu-v5e", TECH)
    assert reference_design("tpu-v5e", TECH, node="N5").node == "N5"


@pytest.mark.parametrize("chip_id", ex.list_ids("chips"))
def test_every_chip_builds_or_says_why(chip_id):
    try:
        d = reference_design(chip_id, TECH)
    except ConfigError as err:
        assert "\n" not in str(err)
        return
    assert np.all(np.isfinite(flat(area_power.area)(d))) and np.all(
        np.isfinite(flat(area_power.power)(d))
    )


VALIDATION = {r["chip"]: r for r in validate(tech=TECH)}


@pytest.mark.parametrize("chip_id", VALIDATION_CHIPS)
def test_validation_area_and_tdp_within_25_percent(chip_id):
    row = VALIDATION[chip_id]
    assert abs(row["area_error"]) <= 0.25, row
    assert abs(row["power_error"]) <= 0.25, row


def test_validation_table_lists_every_chip():
    text = validation_table(list(VALIDATION.values()))
    for chip_id in VALIDATION_CHIPS:
        assert chip_id in text
    assert VALIDATION["wse-3"]["tdp_scope"] == "system"
