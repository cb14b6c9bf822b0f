"""Cost: dies per wafer, yield, manufacturing cost, TCO and $ per token.

Hand-computed cases from the physics note (63 gross dies and 48.7% yield at 814 mm²;
~$1.3 per H100-hour), monotonicity, gradients against central finite differences in
float64, jit/vmap agreement, and the published manufacturing-cost estimates.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from explorer.design import area_power, constraints, cost, tech, variables
from explorer.design.reference_designs import reference_design, validate

TECH = tech.load_tech()
ECON = TECH.economics

DESIGNS = {
    "hbm-gpu": variables.make_design(
        compute_flops_per_s=1.0e15,
        sram_bytes=60e6,
        mem_stacks=6.0,
        link_bw_bytes_per_s=450e9,
        memory="HBM3E",
        node="N4",
        sram_kind="cache",
        package="cowos-s",
    ),
    "chiplets-explicit": variables.make_design(
        compute_flops_per_s=3.0e15,
        sram_bytes=300e6,
        sram_bw_bytes_per_s=60e12,
        mem_stacks=8.0,
        mem_stack_bytes=48e9,
        mem_stack_bw_bytes_per_s=2.5e12,
        link_bw_bytes_per_s=900e9,
        dies=4.0,
        memory="HBM4",
        node="N2",
    ),
    "sram-only": variables.make_design(
        compute_flops_per_s=4.0e14,
        sram_bytes=500e6,
        link_bw_bytes_per_s=300e9,
        memory="none",
        node="N3",
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


def total_cost(d):
    return cost.manufacturing_cost(d, TECH)["total_usd"]


def design_tco(d):
    """TCO per hour of a design bought at its manufacturing cost, at full-load power."""
    capex = total_cost(d)
    return cost.tco_per_hour(capex, area_power.power(d, TECH)["total_w"], ECON)["total_usd_per_h"]


def cost_vector(d):
    return jnp.stack(list(cost.manufacturing_cost(d, TECH).values()))


# --- dies per wafer and yield -----------------------------------------------------------


def test_dies_per_wafer_by_hand():
    # Physics note 5.2: an 814 mm² die gives 63 gross dies on a 300 mm wafer.
    assert float(cost.dies_per_wafer(814.0)) == pytest.approx(63.5, abs=0.1)
    a = 100.0
    exact = math.pi * 300**2 / (4 * a) - math.pi * 300 / math.sqrt(2 * a)
    assert float(cost.dies_per_wafer(a)) == pytest.approx(exact, abs=1e-6)


def test_dies_per_wafer_falls_with_area_and_stays_positive():
    areas = jnp.geomspace(10.0, 40000.0, 200)
    dpw = np.asarray(cost.dies_per_wafer(areas))
    assert np.all(np.diff(dpw) < 0)
    assert np.all(dpw > 0) and np.all(np.isfinite(dpw))


def test_negative_binomial_yield_by_hand():
    # Physics note 5.2: 8.14 cm², D0 = 0.1/cm², alpha = 3 -> 48.7%.
    y = float(cost.die_yield(814.0, 0.1 / 100, 3.0))
    assert y == pytest.approx(0.487, abs=0.001)
    assert float(cost.die_yield(814.0, 0.1 / 100, 3.0, harvest=0.6)) > 0.7  # 70-85% harvested


def test_yield_falls_with_area():
    areas = jnp.linspace(10.0, 5000.0, 100)
    for harvest in (0.0, 0.6):
        y = np.asarray(cost.die_yield(areas, 0.0008, 3.0, harvest))
        assert np.all(np.diff(y) < 0) and np.all((y > 0) & (y <= 1))


# --- manufacturing cost ---------------------------------------------------------------


def test_manufacturing_cost_by_hand():
    d = DESIGNS["hbm-gpu"]
    a = area_power.area(d, TECH)
    die = float(a["die_mm2"])
    dpw = math.pi * 300**2 / (4 * die) - math.pi * 300 / math.sqrt(2 * die)
    y = (1 + 0.4 * die * 0.0008 / 3) ** -3
    die_usd = 17000 / (dpw * y)
    mem_usd = 6 * 36 * 13.0
    interposer = (die + 6 * 110.0) * 1.1
    pkg_usd = 200 + 0.35 * interposer
    total = (die_usd + mem_usd + pkg_usd) * 1.37
    c = cost.manufacturing_cost(d, TECH)
    assert float(c["die_usd"]) == pytest.approx(die_usd, rel=1e-9)
    assert float(c["memory_usd"]) == pytest.approx(mem_usd)
    assert float(c["package_usd"]) == pytest.approx(pkg_usd)
    assert float(c["total_usd"]) == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("name", sorted(set(DESIGNS) - {"wafer"}))
def test_more_sram_or_compute_costs_more(name):
    d = DESIGNS[name]
    base = float(total_cost(d))
    assert float(total_cost(d.replace(sram_bytes=d.sram_bytes * 1.5 + 1e6))) > base
    assert float(total_cost(d.replace(compute_flops_per_s=d.compute_flops_per_s * 1.5))) > base
    if d.memory != "none":
        assert float(total_cost(d.replace(mem_stacks=d.mem_stacks + 1.0))) > base


def test_bigger_dies_cost_more_per_mm2():
    """Yield and edge loss make cost grow faster than area: one 800 mm² die costs
    more than two 400 mm² dies of the same total silicon."""
    d = DESIGNS["hbm-gpu"]
    one = float(cost.manufacturing_cost(d, TECH)["die_usd"])
    two = float(cost.manufacturing_cost(d.replace(dies=2.0), TECH)["die_usd"])
    assert two < one


def test_wafer_scale_cost_is_one_wafer_over_its_yield():
    d = DESIGNS["wafer"]
    c = cost.manufacturing_cost(d, TECH)
    y = (1 + 0.01 * 46225 * 0.0008 / 3) ** -3
    assert float(c["yield"]) == pytest.approx(y)
    assert float(c["die_usd"]) == pytest.approx(17000 / y)
    # A wafer costs what it costs: more SRAM uses more of it (the wafer_area slack
    # falls) but not more money; dies is ignored at wafer scale.
    more = d.replace(sram_bytes=d.sram_bytes * 1.2)
    assert float(total_cost(more)) == pytest.approx(float(c["total_usd"]))
    slack = [float(constraints.constraints(x, TECH)["wafer_area"]) for x in (d, more)]
    assert slack[1] < slack[0]
    assert float(total_cost(d.replace(dies=3.0))) == pytest.approx(float(c["total_usd"]))


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_cost_parts_add_up_and_are_finite_at_zero(name):
    for d in (DESIGNS[name], DESIGNS[name].replace(sram_bytes=0.0, link_bw_bytes_per_s=0.0)):
        c = {k: float(v) for k, v in cost.manufacturing_cost(d, TECH).items()}
        parts = c["die_usd"] + c["memory_usd"] + c["package_usd"] + c["test_usd"]
        assert parts == pytest.approx(c["total_usd"])
        assert all(np.isfinite(v) and v >= 0 for v in c.values())


# --- TCO and $ per token ----------------------------------------------------------------


def test_tco_h100_sanity_check():
    """Physics note 6.5: $50K all-in (GPU + server/network share), 1.0 kW per GPU with
    its server share, PUE 1.2, $0.08/kWh, $12/W facility over 15 years: ~$1.3 per hour
    (the note's $1.35 also multiplies facility capex by PUE)."""
    t = cost.tco_per_hour(27500.0, 700.0, ECON)
    p_it = 700 * 1.4
    capex = 50000 / (5 * 8760)
    energy = p_it / 1000 * 1.2 * 0.08
    facility = 12 * p_it / (15 * 8760)
    assert float(t["capex_usd_per_h"]) == pytest.approx(capex, rel=1e-9)
    assert float(t["energy_usd_per_h"]) == pytest.approx(energy, rel=1e-9)
    assert float(t["facility_usd_per_h"]) == pytest.approx(facility, rel=1e-9)
    assert float(t["total_usd_per_h"]) == pytest.approx(1.33, abs=0.01)
    assert float(cost.tco_per_hour(27500.0, 700.0, ECON, server_usd=0.0)["capex_usd_per_h"]) == (
        pytest.approx(27500 / (5 * 8760))
    )


def test_cost_per_mtok_by_hand():
    # $1.33/h, 1,000 tokens/s per chip, 60% utilisation -> $0.616 per million tokens.
    value = float(cost.cost_per_mtok(1.33, 1000.0, 0.6))
    assert value == pytest.approx(1.33 / (3600 * 1000 * 0.6) * 1e6)
    assert float(cost.cost_per_mtok(1.33, 2000.0, 0.6)) == pytest.approx(value / 2)


def test_tco_gradient_wrt_economics():
    """Economics is a pytree: d TCO / d electricity price = P_IT x PUE x 3600 s."""
    g = jax.grad(lambda e: cost.tco_per_hour(27500.0, 700.0, e)["total_usd_per_h"])(ECON)
    assert float(g.electricity_usd_per_j) == pytest.approx(700 * 1.4 * 1.2 * 3600)
    assert float(g.server_network_usd_per_chip) == pytest.approx(3600 / ECON.depreciation_s)


# --- gradients, jit, vmap -----------------------------------------------------------------


def fd_check(fn, d, rel=1e-6):
    jac = jax.jacfwd(fn)(d)
    scale = float(np.max(np.abs(fn(d))))
    for field in [f for f in variables.CONTINUOUS if getattr(d, f) is not None]:
        x = float(getattr(d, field))
        h = rel * max(abs(x), 1.0)
        fd = (fn(d.replace(**{field: x + h})) - fn(d.replace(**{field: x - h}))) / (2 * h)
        np.testing.assert_allclose(
            np.asarray(getattr(jac, field)) * max(abs(x), 1.0),
            np.asarray(fd) * max(abs(x), 1.0),
            rtol=1e-5,
            atol=1e-7 * scale,
            err_msg=f"d/d{field}",
        )


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_cost_gradients_match_finite_differences(name):
    fd_check(cost_vector, DESIGNS[name])


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_tco_gradients_match_finite_differences(name):
    fd_check(lambda d: jnp.atleast_1d(design_tco(d)), DESIGNS[name])


def test_cost_jit_and_vmap_agree():
    base = DESIGNS["chiplets-explicit"]
    batch = [base.replace(dies=n, sram_bytes=s) for n, s in [(1.0, 1e8), (2.5, 4e8), (6.0, 0.0)]]
    plain = np.stack([cost_vector(d) for d in batch])
    stacked = variables.stack_designs(batch)
    np.testing.assert_allclose(jax.vmap(cost_vector)(stacked), plain, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(cost_vector)(batch[1]), plain[1], rtol=1e-12)
    tco = jax.jit(jax.vmap(design_tco))(stacked)
    np.testing.assert_allclose(tco, [design_tco(d) for d in batch], rtol=1e-12)


# --- reference chips ------------------------------------------------------------------------


@pytest.mark.parametrize("chip_id", ["h100-sxm", "b200", "mi300x"])
def test_manufacturing_cost_matches_published_estimates(chip_id):
    """Physics note 5.3: H100 ~$3,320, B200 ~$6,400, MI300X ~$5,300 (analyst estimates)."""
    (row,) = validate((chip_id,), TECH)
    assert abs(row["cost_error"]) <= 0.25, row
    assert row["cost_model_usd"] < row["price_usd"]  # below any published price


def test_h100_cost_breakdown_resembles_the_published_bill():
    """Raymond James 2023: logic $300, HBM $1.4K, packaging $750, test/assembly $920."""
    c = cost.manufacturing_cost(reference_design("h100-sxm", TECH), TECH)
    assert 200 < float(c["die_usd"]) < 450
    assert 1000 < float(c["memory_usd"]) < 1500
    assert 500 < float(c["package_usd"]) < 1000
    assert 600 < float(c["test_usd"]) < 1100


def test_design_field_names_are_the_continuous_ones():
    names = {f.name for f in dataclasses.fields(variables.Design) if not f.metadata.get("static")}
    assert names == set(variables.CONTINUOUS)
