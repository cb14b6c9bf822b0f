"""Chip: a frozen pytree of floats in SI units (chip_config loads one from a config).

A Chip holds only arrays, so chips stack and vmap (``stack_chips``); names, tier
kinds and sources live in :class:`ChipInfo`. Memory is three tiers, fastest first:
tier 0 on-chip SRAM, tier 1 the main off-chip memory (HBM/GDDR/LPDDR), tier 2 a
slow capacity tier (DDR). Absent tiers have zero capacity.

Precision order of ``peak_flops_per_s`` and ``flop_energy_j``: see ``PRECISIONS``.
A precision the chip lacks falls back to the rate of the next wider format it has
(weights dequantised on the fly): fp4 -> fp8 -> bf16, int8 -> fp8 -> bf16,
fp16 <-> bf16.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from explorer.model import units
from explorer.model.configio import (
    ConfigError,
)

PRECISIONS = ("fp16", "bf16", "fp8", "fp4", "int8")
TOPOLOGIES = ("switch", "mesh", "ring", "torus")
N_TIERS = 3
BREAKDOWN = ("compute", "sram", "mem", "ext", "comm", "fixed")


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Chip:
    """One accelerator (or one wafer-scale system) as seen by the model. SI units.

    Datasheet fields (facts; never fitted):
      peak_flops_per_s: (5,) dense peak per precision, PRECISIONS order [FLOP/s].
      mem_capacity_bytes: (3,) per tier [B]. mem_bw_bytes_per_s: (3,) per tier [B/s].
      link_bw_bytes_per_s: scale-up bandwidth per chip per direction [B/s].
      domain_chips: chips in one scale-up domain [-].
      scale_out_bw_bytes_per_s: per chip per direction beyond the domain [B/s].
      tdp_w: power limit [W].
    Physical estimates (from configs/physics.toml):
      mem_energy_j_per_byte: (3,) [J/B]; flop_energy_j: (5,) [J/FLOP];
      link_energy_j_per_byte [J/B]; static_power_w [W].
      topology: (4,) weights over TOPOLOGIES (one-hot for real chips).
      link_latency_s: collective latency (switch/mesh) or per-hop latency (ring/torus) [s].
      scale_out_latency_s: collective latency across domains [s].
      core_sram_bytes: SRAM per core of a chip whose weights are spread over a 2-D mesh
        of small cores (wafer-scale); 0 for every other chip (no traversal term) [B].
    Efficiency factors and fixed latencies (what calibration fits):
      eff_gemm, eff_attn: achieved fraction of peak compute [-].
      eff_mem: (3,) achieved fraction of each tier's bandwidth [-].
      eff_link: achieved fraction of link bandwidth [-].
      layer_latency_s: fixed time per layer per step [s]; step_latency_s: per step [s].
      mesh_hop_latency_s: effective latency of one core-to-core step of a token's
        wavefront across the on-chip core mesh (used only where core_sram_bytes > 0) [s].
      eff_lowp: per doubling of the peak over the BF16 peak (log2 of their datasheet
        ratio: 1 for H100 FP8, 2 for B200 FP4), the fraction of the doubled rate that
        is achieved, relative to each op class's 16-bit efficiency [-].
    """

    peak_flops_per_s: jax.Array
    mem_capacity_bytes: jax.Array
    mem_bw_bytes_per_s: jax.Array
    mem_energy_j_per_byte: jax.Array
    link_bw_bytes_per_s: jax.Array
    link_latency_s: jax.Array
    domain_chips: jax.Array
    scale_out_bw_bytes_per_s: jax.Array
    scale_out_latency_s: jax.Array
    topology: jax.Array
    flop_energy_j: jax.Array
    link_energy_j_per_byte: jax.Array
    static_power_w: jax.Array
    tdp_w: jax.Array
    eff_gemm: jax.Array
    eff_attn: jax.Array
    eff_mem: jax.Array
    eff_link: jax.Array
    layer_latency_s: jax.Array
    step_latency_s: jax.Array
    core_sram_bytes: jax.Array
    mesh_hop_latency_s: jax.Array
    eff_lowp: jax.Array

    def replace(self, **changes: Any) -> Chip:
        """A copy with some fields changed (values converted to float arrays)."""
        return dataclasses.replace(self, **{k: _arr(v) for k, v in changes.items()})


def _arr(value: Any) -> jax.Array:
    """A strongly typed float array (weak types would make jit recompile on replace)."""
    if isinstance(value, jax.Array) and not value.weak_type:
        return value
    return jnp.asarray(np.asarray(value, dtype=float))


# Fields a user may differentiate with respect to (all of them: every field is a float).
CHIP_FIELDS = tuple(f.name for f in dataclasses.fields(Chip))


def stack_chips(chips: list[Chip]) -> Chip:
    """Stack chips along a new leading axis, for ``jax.vmap`` over chips."""
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *chips)


@dataclasses.dataclass(frozen=True)
class ChipInfo:
    """What is not a number: id, vendor, tier kinds, sources, notes (for reports)."""

    id: str
    vendor: str
    name: str
    family: str
    year: int
    process_node: str
    tier_kinds: tuple[str, ...]
    topology: str
    tdp_scope: str
    estimated: tuple[str, ...]
    notes: str
    price_usd: float | None
    raw: dict[str, Any]


def flop_energy(tdp_w, static_w, peaks, capacity, bandwidth, mem_energy) -> np.ndarray:
    """Dynamic energy per FLOP in each precision [J/FLOP] (an estimate).

    At its TDP a chip runs dense compute at peak while streaming every memory tier
    at full bandwidth: e_flop(p) = (TDP - static - sum_t BW_t e_t) / peak(p), the
    sum over tiers that exist. The compute share is floored at 20% of the dynamic
    power. Vendors double FLOPs per halving of precision at constant TDP, so the
    same power spread over a higher peak gives a lower energy per FLOP.
    """
    memory_w = float(np.sum(np.where(np.asarray(capacity) > 0, bandwidth * mem_energy, 0.0)))
    compute_w = max(tdp_w - static_w - memory_w, 0.2 * (tdp_w - static_w))
    return compute_w / np.asarray(peaks, dtype=float)


# One router cycle at ~1 GHz: the mesh hop latency of a family that gives none.
DEFAULT_MESH_HOP_S = 1e-9


def efficiency_fields(eff: dict[str, float]) -> dict[str, jax.Array]:
    """Chip fields of an efficiency table (configs/efficiency.toml or calibration.toml)."""
    return dict(
        eff_gemm=_arr(eff["gemm"]),
        eff_attn=_arr(eff["attention"]),
        eff_mem=_arr([eff["sram_bw"], eff["mem_bw"], eff["mem_bw"]]),
        eff_link=_arr(eff["link_bw"]),
        layer_latency_s=_arr(eff["layer_latency_us"] * units.US),
        step_latency_s=_arr(eff["step_latency_us"] * units.US),
        mesh_hop_latency_s=_arr(eff.get("mesh_hop_ns", DEFAULT_MESH_HOP_S * 1e9) * units.NS),
        eff_lowp=_arr(eff["low_precision"]),
    )


def make_chip(
    *,
    peak_flops_per_s: float | list[float],
    sram_bytes: float = 0.0,
    sram_bw_bytes_per_s: float = 1e13,
    mem_bytes: float = 0.0,
    mem_bw_bytes_per_s: float = 1e12,
    ext_bytes: float = 0.0,
    ext_bw_bytes_per_s: float = 1e11,
    link_bw_bytes_per_s: float = 1e11,
    link_latency_s: float = 5e-6,
    domain_chips: float = 8.0,
    scale_out_bw_bytes_per_s: float = 5e10,
    scale_out_latency_s: float = 45e-6,
    topology: str = "switch",
    tdp_w: float = 700.0,
    static_fraction: float = 0.3,
    mem_energy_j_per_byte: tuple[float, float, float] = (4.8e-12, 3.92e-11, 1.28e-10),
    link_energy_j_per_byte: float = 4.4e-11,
    eff_gemm: float = 1.0,
    eff_attn: float = 1.0,
    eff_mem: tuple[float, float, float] = (1.0, 1.0, 1.0),
    eff_link: float = 1.0,
    layer_latency_s: float = 0.0,
    step_latency_s: float = 0.0,
    core_sram_bytes: float = 0.0,
    mesh_hop_latency_s: float = DEFAULT_MESH_HOP_S,
    eff_lowp: float = 1.0,
) -> Chip:
    """A hypothetical chip from SI numbers (every keyword is a physical quantity).

    ``peak_flops_per_s`` is one number (same peak in every precision) or five, in
    PRECISIONS order. Energy per FLOP follows the reference-chip rule of
    :func:`flop_energy`. Efficiencies default to 1 and fixed
    latencies to 0 (an ideal chip); the energy defaults are the SRAM, HBM3E and DDR5
    entries of configs/physics.toml.
    """
    if topology not in TOPOLOGIES:
        raise ConfigError(f"make_chip: topology '{topology}' not one of {TOPOLOGIES}")
    peaks = np.broadcast_to(np.asarray(peak_flops_per_s, dtype=float), (len(PRECISIONS),))
    static = static_fraction * tdp_w
    f = _arr
    return Chip(
        peak_flops_per_s=f(peaks),
        mem_capacity_bytes=f([sram_bytes, mem_bytes, ext_bytes]),
        mem_bw_bytes_per_s=f([sram_bw_bytes_per_s, mem_bw_bytes_per_s, ext_bw_bytes_per_s]),
        mem_energy_j_per_byte=f(mem_energy_j_per_byte),
        link_bw_bytes_per_s=f(link_bw_bytes_per_s),
        link_latency_s=f(link_latency_s),
        domain_chips=f(float(domain_chips)),
        scale_out_bw_bytes_per_s=f(scale_out_bw_bytes_per_s),
        scale_out_latency_s=f(scale_out_latency_s),
        topology=f([float(topology == t) for t in TOPOLOGIES]),
        flop_energy_j=f(
            flop_energy(
                tdp_w,
                static,
                peaks,
                [sram_bytes, mem_bytes, ext_bytes],
                np.array([sram_bw_bytes_per_s, mem_bw_bytes_per_s, ext_bw_bytes_per_s]),
                np.asarray(mem_energy_j_per_byte),
            )
        ),
        link_energy_j_per_byte=f(link_energy_j_per_byte),
        static_power_w=f(static),
        tdp_w=f(tdp_w),
        eff_gemm=f(eff_gemm),
        eff_attn=f(eff_attn),
        eff_mem=f(eff_mem),
        eff_link=f(eff_link),
        layer_latency_s=f(layer_latency_s),
        step_latency_s=f(step_latency_s),
        core_sram_bytes=f(core_sram_bytes),
        mesh_hop_latency_s=f(mesh_hop_latency_s),
        eff_lowp=f(eff_lowp),
    )
