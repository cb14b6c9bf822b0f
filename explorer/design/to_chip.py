"""The Chip a design makes: its peaks per precision and the model Chip
(:func:`design_to_chip`) that :func:`explorer.predict` takes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from explorer.design.area_power import (
    lookup,
    memory_bandwidth,
    memory_capacity,
    memory_tech,
    node_tech,
    power,
    sram_bandwidth,
    sram_energy_j_per_byte,
)
from explorer.design.tech import Tech
from explorer.design.variables import Design, _f
from explorer.model.chip import PRECISIONS, TOPOLOGIES, Chip, efficiency_fields
from explorer.model.configio import ConfigError


def peak_rates(design: Design, tech: Tech) -> jax.Array:
    """Dense peak per precision (PRECISIONS order) [FLOP/s].

    Assumption: fp16 = bf16 = the design's rate; each halving of the format doubles it
    (fp8, int8: 2x; fp4: 4x) when the node's ``formats`` include it, as vendors do at
    constant power; a missing format falls back as in explorer.model.chip_config (fp4 ->
    fp8 -> bf16, int8 -> fp8 -> bf16).
    """
    c = design.compute_flops_per_s
    node = node_tech(design, tech)
    rate = {
        "fp16": c,
        "bf16": c,
        "fp8": node.speedup_fp8 * c,
        "fp4": node.speedup_fp4 * c,
        "int8": node.speedup_int8 * c,
    }
    return jnp.stack([rate[p] for p in PRECISIONS], axis=-1)


def design_to_chip(
    design: Design, tech: Tech, family: str = "other", topology: str = "switch"
) -> Chip:
    """The Chip of a design, for :func:`explorer.predict`.

    Peaks: :func:`peak_rates`. Energy per FLOP: the node's BF16 value, scaled so that
    every precision draws the same power at its peak. Memory tiers: [SRAM, stacks x
    per-stack capacity and bandwidth, none]; an absent tier has zero capacity and the
    bandwidth of the tier above (as explorer.model.chip does). TDP: full-load
    :func:`power`; static power its static share. Efficiency knobs and fixed latencies:
    those of ``family`` in ``tech.efficiency`` (configs/efficiency.toml, "other" by
    default); links, latencies and scale-out: ``tech.interconnect``. Replace fields with
    ``dataclasses.replace`` for anything else.
    """
    if topology not in TOPOLOGIES:
        raise ConfigError(f"design_to_chip: topology '{topology}' not one of {TOPOLOGIES}")
    eff = lookup(tech.efficiency, family, "efficiency family")
    node = node_tech(design, tech)
    mem = memory_tech(design, tech)
    peaks = peak_rates(design, tech)
    c = design.compute_flops_per_s
    flop_e = node.flop_energy_j * c[..., None] / peaks
    s_bw = sram_bandwidth(design, tech)
    e_s = sram_energy_j_per_byte(design, tech)
    zero = jnp.zeros_like(c)
    if mem is None:
        cap = [design.sram_bytes, zero, zero]
        bw = [s_bw, s_bw, s_bw]
        energy = [e_s, e_s, e_s]
    else:
        m_bw = memory_bandwidth(design, tech)
        cap = [design.sram_bytes, memory_capacity(design, tech), zero]
        bw = [s_bw, m_bw, m_bw]
        energy = [e_s, mem.energy_j_per_byte, mem.energy_j_per_byte]
    p = power(design, tech)
    ic = tech.interconnect
    return Chip(
        peak_flops_per_s=_f(peaks),
        mem_capacity_bytes=_f(jnp.stack(jnp.broadcast_arrays(*cap), axis=-1)),
        mem_bw_bytes_per_s=_f(jnp.stack(jnp.broadcast_arrays(*bw), axis=-1)),
        mem_energy_j_per_byte=_f(jnp.stack(jnp.broadcast_arrays(*map(_f, energy)), axis=-1)),
        link_bw_bytes_per_s=_f(design.link_bw_bytes_per_s),
        link_latency_s=_f(ic["link_latency_s"]),
        domain_chips=_f(ic["domain_chips"]),
        scale_out_bw_bytes_per_s=_f(ic["scale_out_bw_bytes_per_s"]),
        scale_out_latency_s=_f(ic["scale_out_latency_s"]),
        topology=_f([float(topology == t) for t in TOPOLOGIES]),
        flop_energy_j=_f(flop_e),
        link_energy_j_per_byte=_f(tech.link_energy_j_per_byte),
        static_power_w=_f(p["static_w"]),
        tdp_w=_f(p["total_w"]),
        # A design is not modelled as a mesh of small cores: no traversal term (model.md 6.5).
        core_sram_bytes=_f(jnp.zeros_like(c)),
        **efficiency_fields(eff),
    )
