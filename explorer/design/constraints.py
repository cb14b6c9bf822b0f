"""The physical constraints of a design, as relative slacks (positive when satisfied):
reticle, package, shoreline, power density and the others of configs/cost.toml.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from explorer.design.area_power import (
    area,
    memory_tech,
    package_area,
    package_class,
    power,
    silicon_mm2,
)
from explorer.design.tech import Tech
from explorer.design.variables import Design


def long_edge_mm(die_mm2: jax.Array, tech: Tech) -> jax.Array:
    """Long edge of a die of the reticle's aspect ratio (33:26) [mm]."""
    return jnp.sqrt(die_mm2 * tech.aspect_long_to_short)


def constraints(
    design: Design, tech: Tech, max_power_w: float | jax.Array | None = None
) -> dict[str, jax.Array]:
    """Named relative slacks, 1 - value / limit (> 0: satisfied, < 0: violated).

    reticle: die area vs the reticle (not at wafer scale; there wafer_area: total
      silicon vs the usable wafer).
    package_area: interposer/package area vs the package class's maximum (not at wafer
      scale).
    shoreline: memory stacks per die x edge per stack vs the two long edges of the die
      (omitted for memory "none").
    power_density: full-load power of the logic silicon (memory stacks excluded: they
      dissipate in their own footprint) / silicon area vs the cooling limit.
    power: full-load power vs ``max_power_w`` (only when given).
    """
    a = area(design, tech)
    watts = power(design, tech)
    p = watts["total_w"]
    out = {}
    if design.wafer_scale:
        out["wafer_area"] = 1.0 - a["total_mm2"] / tech.wafer_scale_usable_mm2
    else:
        out["reticle"] = 1.0 - a["die_mm2"] / tech.reticle_mm2
        limit = tech.packages[package_class(design, tech)].max_area_mm2
        out["package_area"] = 1.0 - package_area(design, tech) / limit
    mem = memory_tech(design, tech)
    if mem is not None:
        dies = 1.0 if design.wafer_scale else design.dies
        edge = 2.0 * long_edge_mm(a["die_mm2"], tech)
        out["shoreline"] = 1.0 - design.mem_stacks / dies * mem.shoreline_mm / edge
    # Off-chip memory dissipates its power in its own stacks/devices, not in the logic
    # silicon whose cooling the density limit is about.
    density = (p - watts["mem_w"]) / silicon_mm2(design, tech)
    out["power_density"] = 1.0 - density / tech.power_density_limit_w_per_mm2
    if max_power_w is not None:
        out["power"] = 1.0 - p / max_power_w
    return out
