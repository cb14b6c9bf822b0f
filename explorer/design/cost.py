"""Cost of a chip design: dies per wafer, yield, manufacturing cost, TCO, $ per token.

Pure and differentiable (jit/vmap/grad-safe, finite for any positive design). Money is
US dollars, time seconds inside; TCO is reported per hour. Constants: configs/cost.toml
through :class:`explorer.design.tech.Tech`. Sources are the physics note's sections 5 and 6.

    DPW   = pi d^2 / (4 A) - pi d / sqrt(2 A)          dies per wafer (d = 300 mm)
    Y     = (1 + A_crit D0 / alpha)^(-alpha)           negative binomial yield
    A_crit = (1 - h) A                                  h: harvest fraction (spare SMs,
                                                         SRAM row/column repair)
    die $ = n_dies x wafer $ / (DPW Y)
    total = (die $ + memory $ + package $) (1 + f_test)

Manufacturing cost only: no selling price is invented. ``validation`` compares it with
published manufacturing-cost estimates and shows published prices beside it.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from explorer.design.area_power import (
    area,
    memory_capacity,
    memory_tech,
    node_tech,
    package_area,
    package_class,
)
from explorer.design.tech import Economics, Tech
from explorer.design.variables import Design
from explorer.model import units


def dies_per_wafer(die_mm2: jax.Array, wafer_diameter_mm: float = 300.0) -> jax.Array:
    """Gross dies per wafer, DPW = pi d² / (4A) - pi d / sqrt(2A) (A in mm²) [-].

    The floor is relaxed (a real count is an integer); the result is passed through a
    softplus so it stays positive for dies too big to fit (exact to 1e-26 above ~60
    dies, 1.31 instead of 1 at one die). Source: physics note 5.2 (LLMCompass
    supply_chain_model.py); an 814 mm² die gives 63.
    """
    a = jnp.maximum(die_mm2, 1e-9)
    d = wafer_diameter_mm
    raw = math.pi * d**2 / (4.0 * a) - math.pi * d / jnp.sqrt(2.0 * a)
    return jax.nn.softplus(raw) + 1e-9


def die_yield(
    die_mm2: jax.Array, defects_per_mm2: float, alpha: float, harvest: float = 0.0
) -> jax.Array:
    """Negative-binomial yield (1 + A_crit D0 / alpha)^(-alpha), A_crit = (1 - harvest) A.

    harvest: the share of the area whose defects are tolerated (disabled units, SRAM
    repair); 0 gives the textbook yield of a die that needs every mm² (physics note
    5.2: 48.7% at 814 mm², D0 = 0.1/cm², alpha = 3).
    """
    crit = jnp.maximum(die_mm2, 0.0) * (1.0 - harvest)
    return (1.0 + crit * defects_per_mm2 / alpha) ** (-alpha)


def manufacturing_cost(design: Design, tech: Tech) -> dict[str, jax.Array]:
    """Manufacturing cost of one package [$] and its parts.

    Returns die_usd (all dies, known-good-die tested), memory_usd ($/GB x capacity),
    package_usd (base + $/mm² x interposer area of the package class), test_usd (test
    and assembly, a fraction of the rest), total_usd, and per die dies_per_wafer and
    yield. Wafer scale: one wafer per package, yield with the redundant share of the
    wafer tolerated (``yield.wafer_redundant_fraction``); ``dies`` is ignored.
    """
    node = node_tech(design, tech)
    a = area(design, tech)
    if design.wafer_scale:
        dpw = jnp.ones_like(a["total_mm2"])
        y = die_yield(
            a["die_mm2"], node.defects_per_mm2, tech.yield_alpha, tech.wafer_redundant_fraction
        )
        die_usd = node.wafer_usd / y
    else:
        dpw = dies_per_wafer(a["die_mm2"], tech.wafer_diameter_mm)
        y = die_yield(a["die_mm2"], node.defects_per_mm2, tech.yield_alpha, tech.harvest_fraction)
        die_usd = design.dies * node.wafer_usd / (dpw * y)
    mem = memory_tech(design, tech)
    per_byte = 0.0 if mem is None else mem.usd_per_byte
    memory_usd = memory_capacity(design, tech) * per_byte
    pkg = tech.packages[package_class(design, tech)]
    package_usd = pkg.base_usd + pkg.usd_per_mm2 * package_area(design, tech)
    parts = die_usd + memory_usd + package_usd
    test_usd = tech.test_assembly_fraction * parts
    return {
        "die_usd": die_usd,
        "memory_usd": memory_usd,
        "package_usd": package_usd,
        "test_usd": test_usd,
        "total_usd": parts + test_usd,
        "dies_per_wafer": dpw,
        "yield": y,
    }


def tco_per_hour(
    chip_capex_usd: jax.Array,
    chip_power_w: jax.Array,
    econ: Economics,
    server_usd: jax.Array | float | None = None,
) -> dict[str, jax.Array]:
    """Total cost of ownership of one accelerator per hour [$/h] and its parts.

        capex    = (chip capex + server/network share) / depreciation life
        energy   = P_IT x PUE x electricity price,  P_IT = P_chip (1 + server fraction)
        facility = facility capex per W x P_IT / facility life

    chip_capex_usd: what the chip costs its owner [$] (a price for a bought chip; the
      manufacturing cost for a design, which leaves out any margin - a lower bound).
    chip_power_w: mean power of the chip [W] (full-load power for a conservative TCO).
    server_usd: server and network share per chip [$]; None: the Economics default
      (pass 0 for chips priced as whole systems, such as a Cerebras CS-3).
    Source: physics note 6.5 (SemiAnalysis-style TCO). Facility capex is per W of
    critical IT, so it is charged on P_IT without the PUE factor (the note multiplies
    by PUE too; the difference is PUE - 1 of a ~8% term).
    Returns capex_usd_per_h, energy_usd_per_h, facility_usd_per_h, total_usd_per_h.
    """
    server = econ.server_network_usd_per_chip if server_usd is None else server_usd
    p_it = chip_power_w * (1.0 + econ.server_power_fraction)
    capex = (chip_capex_usd + server) / econ.depreciation_s
    energy = p_it * econ.pue * econ.electricity_usd_per_j
    facility = econ.facility_usd_per_w * p_it / econ.facility_s
    h = units.HOUR
    return dict(
        capex_usd_per_h=capex * h,
        energy_usd_per_h=energy * h,
        facility_usd_per_h=facility * h,
        total_usd_per_h=(capex + energy + facility) * h,
    )


def cost_per_mtok(
    tco_per_hour_per_chip: jax.Array,
    tokens_per_s_per_chip: jax.Array,
    utilisation: jax.Array | float,
) -> jax.Array:
    """Cost per million output tokens [$/Mtok] = TCO / (3600 x tokens/s x U) x 1e6.

    utilisation: the share of the hours the chip serves at that rate (physics note 6.5:
    0.5-0.7 for hyperscale inference fleets; ``Economics.utilisation``).
    """
    return tco_per_hour_per_chip / (units.HOUR * tokens_per_s_per_chip * utilisation) * 1e6
