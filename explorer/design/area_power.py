"""Area and power of a design, and the technology constants that apply to it.

A :class:`Design` is a pytree of positive floats in SI units (dense BF16 FLOP/s, SRAM
bytes, memory stacks, link bytes/s, dies) plus static names (memory technology,
process node, SRAM kind, package class, wafer scale). :class:`Tech` holds the constants
of configs/cost.toml (and the memory energies and static fraction of
configs/physics.toml); it is loaded once by :func:`load_tech`, at the edge. Every other
function here is pure and jit/vmap/grad-safe: no Python ``if`` on traced values, and
finite values and gradients for any positive design (zero SRAM, stacks or links too).

Areas are in mm² (names end in ``_mm2``), the unit of every die-area figure; everything
else is SI. The model, block by block (constants in configs/cost.toml):

    A_compute = C / rho_compute(node)            C: dense BF16 FLOP/s
    A_sram    = 8 S / (rho_macro(node) eta_kind) S: SRAM bytes
    A_mem     = N_stacks a_phy(memory)
    A_link    = B_link a_link                    B_link: bytes/s per direction
    A_d2d     = 2 (n_dies - 1) B_d2d / rho_d2d   n_dies - 1 interfaces, a PHY on each end
    A_total   = (A_compute + A_sram + A_mem + A_link + A_d2d) / (1 - f_overhead)
    A_die     = A_total / n_dies                 (wafer scale: the usable wafer area)

    P_dyn   = e_flop(node) C + e_sram S_bw + e_mem N_stacks BW_stack + e_link B_link
    P_full  = P_dyn / (1 - f_static)             static = f_static P_full

Full load means peak dense compute while every memory tier and the links stream at
their peak bandwidth, the convention :func:`explorer.model.chip.flop_energy` uses to read
a datasheet TDP. SRAM bandwidth, when a design gives none, is S x (bandwidth per byte of
the SRAM kind); per-stack capacity and bandwidth, when not given, are those of the
memory technology. Constraints are relative slacks, positive when satisfied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from explorer.design.tech import MemoryTech, NodeTech, Tech
from explorer.design.variables import MEMORY_NONE, PACKAGE_AUTO, Design
from explorer.model import units
from explorer.model.configio import ConfigError

# --- lookups (static names) -------------------------------------------------------


def lookup(table: Mapping[str, Any], name: str, what: str) -> Any:
    if name not in table:
        raise ConfigError(f"design: {what} '{name}' is unknown (known: {', '.join(sorted(table))})")
    return table[name]


def node_tech(design: Design, tech: Tech) -> NodeTech:
    """The constants of the design's process node."""
    return lookup(tech.nodes, design.node, "node")


def memory_tech(design: Design, tech: Tech) -> MemoryTech | None:
    """The constants of the design's memory technology (None for "none")."""
    if design.memory == MEMORY_NONE:
        return None
    return lookup(tech.memories, design.memory, "memory")


def package_class(design: Design, tech: Tech) -> str:
    """The package class: the design's, or "auto" -> wafer / cowos-l / organic."""
    if design.package != PACKAGE_AUTO:
        lookup(tech.packages, design.package, "package")
        return design.package
    if design.wafer_scale:
        return "wafer"
    mem = memory_tech(design, tech)
    return "cowos-l" if mem is not None and mem.on_package else "organic"


def sram_bandwidth(design: Design, tech: Tech) -> jax.Array:
    """SRAM bandwidth [B/s]: the design's, else capacity x the kind's rate."""
    if design.sram_bw_bytes_per_s is not None:
        return design.sram_bw_bytes_per_s
    kind = lookup(tech.sram_kinds, design.sram_kind, "sram_kind")
    return design.sram_bytes * kind.bw_per_byte


def sram_energy_j_per_byte(design: Design, tech: Tech) -> float:
    """SRAM access energy [J/B] = bank energy of the node + wire energy x run of the kind."""
    kind = lookup(tech.sram_kinds, design.sram_kind, "sram_kind")
    return node_tech(design, tech).sram_bank_j_per_byte + (
        tech.sram_wire_j_per_byte_mm * kind.wire_run_mm
    )


def memory_capacity(design: Design, tech: Tech) -> jax.Array:
    """Off-chip memory capacity = stacks x per-stack capacity [B] (0 for "none")."""
    mem = memory_tech(design, tech)
    if mem is None:
        return jnp.zeros_like(design.mem_stacks)
    per = mem.stack_bytes if design.mem_stack_bytes is None else design.mem_stack_bytes
    return design.mem_stacks * per


def memory_bandwidth(design: Design, tech: Tech) -> jax.Array:
    """Off-chip memory bandwidth = stacks x per-stack bandwidth [B/s] (0 for "none")."""
    mem = memory_tech(design, tech)
    if mem is None:
        return jnp.zeros_like(design.mem_stacks)
    per = (
        mem.stack_bw_bytes_per_s
        if design.mem_stack_bw_bytes_per_s is None
        else design.mem_stack_bw_bytes_per_s
    )
    return design.mem_stacks * per


# --- area and power -----------------------------------------------------------


def area(design: Design, tech: Tech) -> dict[str, jax.Array]:
    """Silicon area per block and per die [mm²] (equations in the module docstring).

    Returns compute_mm2, sram_mm2, mem_phy_mm2, link_mm2, d2d_mm2, overhead_mm2 and
    total_mm2 (their sum: the silicon the design needs, all dies together), and die_mm2
    (total / dies; at wafer scale the usable wafer area, which total_mm2 must not
    exceed). d2d_mm2: the PHYs of the dies - 1 die-to-die interfaces, one on each of
    the two dies an interface joins (0 for one die and at wafer scale).
    """
    node = node_tech(design, tech)
    kind = lookup(tech.sram_kinds, design.sram_kind, "sram_kind")
    mem = memory_tech(design, tech)
    compute = design.compute_flops_per_s / node.compute_flops_per_s_per_mm2
    sram = design.sram_bytes * units.BITS_PER_BYTE / (node.sram_bits_per_mm2 * kind.efficiency)
    phy = 0.0 if mem is None else mem.phy_mm2
    mem_phy = design.mem_stacks * phy
    link = design.link_bw_bytes_per_s * tech.link_phy_mm2_per_byte_s
    interfaces = 0.0 if design.wafer_scale else jnp.maximum(design.dies - 1.0, 0.0)
    d2d = 2.0 * interfaces * tech.d2d_interface_bw_bytes_per_s * tech.d2d_phy_mm2_per_byte_s
    d2d = d2d + jnp.zeros_like(compute)
    blocks = compute + sram + mem_phy + link + d2d
    total = blocks / (1.0 - tech.overhead_fraction)
    if design.wafer_scale:
        die = jnp.full_like(total, tech.wafer_scale_usable_mm2)
    else:
        die = total / design.dies
    return dict(
        compute_mm2=compute,
        sram_mm2=sram,
        mem_phy_mm2=mem_phy,
        link_mm2=link,
        d2d_mm2=d2d,
        overhead_mm2=total - blocks,
        total_mm2=total,
        die_mm2=die,
    )


def silicon_mm2(design: Design, tech: Tech) -> jax.Array:
    """Silicon that is paid for and cooled [mm²]: the wafer at wafer scale, else total."""
    total = area(design, tech)["total_mm2"]
    if design.wafer_scale:
        return jnp.full_like(total, tech.wafer_scale_usable_mm2)
    return total


def package_area(design: Design, tech: Tech) -> jax.Array:
    """Interposer (or package) area [mm²] = (silicon + on-package stacks) x (1 + margin)."""
    mem = memory_tech(design, tech)
    stacks = 0.0 if mem is None or not mem.on_package else mem.footprint_mm2
    return (silicon_mm2(design, tech) + design.mem_stacks * stacks) * (1.0 + tech.interposer_margin)


def power(design: Design, tech: Tech) -> dict[str, jax.Array]:
    """Full-load power per block [W]: compute_w, sram_w, mem_w, link_w, static_w, total_w.

    Dynamic power is energy per operation x peak rate; static = f_static x total, so
    total = dynamic / (1 - f_static) (f_static: configs/physics.toml power section).
    """
    node = node_tech(design, tech)
    mem = memory_tech(design, tech)
    compute = design.compute_flops_per_s * node.flop_energy_j
    sram = sram_bandwidth(design, tech) * sram_energy_j_per_byte(design, tech)
    e_mem = 0.0 if mem is None else mem.energy_j_per_byte
    memory = memory_bandwidth(design, tech) * e_mem
    link = design.link_bw_bytes_per_s * tech.link_energy_j_per_byte
    dynamic = compute + sram + memory + link
    total = dynamic / (1.0 - tech.static_fraction)
    return dict(
        compute_w=compute,
        sram_w=sram,
        mem_w=memory,
        link_w=link,
        static_w=total - dynamic,
        total_w=total,
    )
