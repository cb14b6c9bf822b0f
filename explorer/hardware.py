"""Chip: a frozen pytree of floats in SI units, and loading of chip configs.

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
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from explorer import units
from explorer.configio import (
    CONFIG_DIR,
    ConfigError,
    Field,
    check_table,
    config_path,
    read_toml,
)
from explorer.stacks import blend, chip_weights, stack_counts

PRECISIONS = ("fp16", "bf16", "fp8", "fp4", "int8")
TOPOLOGIES = ("switch", "mesh", "ring", "torus")
N_TIERS = 3
BREAKDOWN = ("compute", "sram", "mem", "ext", "comm", "fixed")

_FALLBACK = {
    "fp16": ("fp16", "bf16"),
    "bf16": ("bf16", "fp16"),
    "fp8": ("fp8", "bf16", "fp16"),
    "fp4": ("fp4", "fp8", "bf16", "fp16"),
    "int8": ("int8", "fp8", "bf16", "fp16"),
}


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


# --- schema ---------------------------------------------------------------------

_TOP = {
    "id": Field(str),
    "vendor": Field(str),
    "name": Field(str),
    "family": Field(str),
    "year": Field(int, sourced=False),
    "status": Field(str, choices=("shipping", "announced")),
    "process_node": Field(str),
    "notes": Field(str, required=False),
    "compute": Field(dict),
    "memory": Field(list),
    "scale_up": Field(dict),
    "scale_out": Field(dict),
    "power": Field(dict),
    "area": Field(dict, required=False),
    "price": Field(dict, required=False),
    "core_mesh": Field(dict, required=False),
}
# The on-chip core mesh of a spatial (wafer-scale) chip: docs/model.md section 6.5.
_CORE_MESH = {
    "kind": Field(str),
    "sram_kib_per_core": Field(float, positive=True),
}
# One router cycle at ~1 GHz: the mesh hop latency of a family that gives none.
DEFAULT_MESH_HOP_S = 1e-9
_COMPUTE = {f"{p}_tflops": Field(float, required=False, positive=True) for p in PRECISIONS[:4]}
_COMPUTE["int8_tops"] = Field(float, required=False, positive=True)
_MEMORY = {
    "kind": Field(str),
    "energy_kind": Field(str, required=False),
    "on_chip": Field(bool),
    "capacity_gb": Field(float, minimum=0.0),
    "bandwidth_tb_s": Field(float, positive=True),
}
_SCALE_UP = {
    "kind": Field(str),
    "topology": Field(str, choices=TOPOLOGIES),
    "bandwidth_gb_s_per_direction": Field(float, positive=True),
    "domain_chips": Field(int, positive=True),
    "latency_us": Field(float, minimum=0.0),
}
_SCALE_OUT = {
    "bandwidth_gb_s_per_direction": Field(float, positive=True),
    "latency_us": Field(float, minimum=0.0),
}
_POWER = {
    "tdp_w": Field(float, positive=True),
    "scope": Field(str, choices=("chip", "card", "package", "system")),
}
_AREA = {
    "die_area_mm2": Field(float, positive=True),
    "dies": Field(int, positive=True),
}
_EFFICIENCY = {
    "gemm": Field(float, positive=True),
    "attention": Field(float, positive=True),
    "sram_bw": Field(float, positive=True),
    "mem_bw": Field(float, positive=True),
    "link_bw": Field(float, positive=True),
    "layer_latency_us": Field(float, minimum=0.0),
    "step_latency_us": Field(float, minimum=0.0),
    "mesh_hop_ns": Field(float, required=False, minimum=0.0),
    "low_precision": Field(float, positive=True),
}
_EFFICIENCY_FITTED = dict(
    _EFFICIENCY,
    # a file written before this knob existed: the family default fills it in
    low_precision=Field(float, required=False, positive=True),
    points=Field(list),
    chips=Field(dict, required=False),  # fitted points per chip id
    stack=Field(str, required=False),
    train_median_ape=Field(float, minimum=0.0, sourced=False),
)
_PRICE = {
    "usd": Field(float, positive=True),
    "kind": Field(str, choices=("list", "estimate")),
    "low_usd": Field(float, required=False, positive=True),
    "high_usd": Field(float, required=False, positive=True),
}


def _peaks(compute: dict[str, Any], where: str) -> np.ndarray:
    have = {p: compute.get(f"{p}_tflops") for p in PRECISIONS[:4]}
    have["int8"] = compute.get("int8_tops")
    peaks = []
    for p in PRECISIONS:
        rate = next((have[q] for q in _FALLBACK[p] if have[q] is not None), None)
        if rate is None:
            raise ConfigError(f"{where}: needs bf16_tflops or fp16_tflops (a 16-bit peak)")
        peaks.append(rate * units.TERA)
    return np.array(peaks)


def _tiers(memory: list[Any], where: str, physics: dict[str, Any]) -> tuple[np.ndarray, ...]:
    if not 1 <= len(memory) <= N_TIERS:
        raise ConfigError(f"{where}: 'memory' must list 1 to {N_TIERS} tiers, got {len(memory)}")
    tiers = [check_table(t, _MEMORY, f"{where}: memory[{i}]") for i, t in enumerate(memory)]
    if not tiers[0]["on_chip"]:
        raise ConfigError(f"{where}: memory[0] must be the on-chip SRAM tier (on_chip = true)")
    for i, t in enumerate(tiers[1:], start=1):
        if t["on_chip"]:
            raise ConfigError(f"{where}: memory[{i}] is off-chip; only memory[0] may be on_chip")
    for i in range(1, len(tiers)):
        if tiers[i]["bandwidth_tb_s"] > tiers[i - 1]["bandwidth_tb_s"]:
            raise ConfigError(
                f"{where}: memory[{i}] is faster than memory[{i - 1}]; list tiers fastest first"
            )
    energy = physics["memory_energy_pj_per_bit"]
    cap, bw, e = np.zeros(N_TIERS), np.ones(N_TIERS), np.zeros(N_TIERS)
    for i, t in enumerate(tiers):
        kind = t.get("energy_kind", "SRAM" if t["on_chip"] else t["kind"])
        if kind not in energy:
            raise ConfigError(
                f"{where}: memory[{i}] kind '{kind}' has no energy in configs/physics.toml "
                f"(known: {', '.join(sorted(energy))})"
            )
        cap[i] = t["capacity_gb"] * units.GB
        bw[i] = t["bandwidth_tb_s"] * units.TB
        e[i] = units.pj_per_bit_to_j_per_byte(energy[kind])
    # An absent tier keeps zero capacity and a nominal bandwidth so nothing divides by 0.
    if len(tiers) == 2:
        bw[2] = bw[1]
        e[2] = e[1]
    elif len(tiers) == 1:
        bw[1:] = bw[0]
        e[1:] = e[0]
    kinds = tuple(t["kind"] for t in tiers) + ("none",) * (N_TIERS - len(tiers))
    return cap, bw, e, kinds


def load_physics() -> dict[str, Any]:
    """The physical constants of configs/physics.toml (energy per bit, static power...)."""
    return read_toml(CONFIG_DIR / "physics.toml")


def load_efficiency(
    family: str,
    where: str,
    calibrated: bool = True,
    chip_id: str | None = None,
    year: int | None = None,
) -> dict[str, float]:
    """Efficiency knobs of a chip family: the fitted ones of configs/calibration.toml
    when ``calibrated`` and the family was fitted (for ``chip_id``, its family centre
    half-way to the stacks that measured it up to ``year``: explorer.stacks), else the
    defaults of configs/efficiency.toml."""
    path = CONFIG_DIR / "calibration.toml"
    if calibrated and path.exists():
        data = read_toml(path)
        fitted = data.get("family", {})
        if family in fitted:
            where = f"configs/calibration.toml: family.{family}"
            centre = _fitted_knobs(family, fitted[family], where)
            weights = own_stack_weights(family, chip_id, year)
            rows = {s: stack_efficiency(family, s) for s in weights}
            knobs = {k: centre[k] for k in _EFFICIENCY if k in centre}
            return {**centre, **blend(knobs, rows, weights)}
    table = read_toml(CONFIG_DIR / "efficiency.toml")
    families = table.get("family", {})
    if family not in families:
        raise ConfigError(
            f"{where}: key 'family' = '{family}' is not in configs/efficiency.toml "
            f"(known: {', '.join(sorted(families))})"
        )
    return check_table(families[family], _EFFICIENCY, f"configs/efficiency.toml: family.{family}")


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


def stack_efficiency(family: str, stack: str) -> dict[str, float]:
    """The knobs fitted for one software stack of a family ([stack."family/stack"] of
    configs/calibration.toml); an unknown stack names the known ones."""
    fitted = read_toml(CONFIG_DIR / "calibration.toml").get("stack", {})
    key = f"{family}/{stack}"
    if key not in fitted:
        known = sorted(k.split("/", 1)[1] for k in fitted if k.startswith(f"{family}/"))
        raise ConfigError(
            f"stack '{stack}' has no fitted knobs for family '{family}' in "
            f"configs/calibration.toml (known: {', '.join(known) or 'none'})"
        )
    return _fitted_knobs(family, fitted[key], f'configs/calibration.toml: stack."{key}"')


def _fitted_knobs(family: str, table: dict[str, Any], where: str) -> dict[str, Any]:
    """A checked table of configs/calibration.toml over the family defaults, so the
    knobs a file written before they existed lacks take their default."""
    knobs = check_table(table, _EFFICIENCY_FITTED, where, need_sources=False)
    return {**load_efficiency(family, where, calibrated=False), **knobs}


def knob_provenance(
    info: ChipInfo, calibrated: bool = True, stack: str | None = None, year: int | None = None
) -> dict:
    """Where a chip's efficiency knobs come from, for predict's confidence label.

    Returns {"knobs": "calibrated" (measured points of this chip were fitted) |
    "family default" (fitted on other chips of its family, or the family's defaults of
    configs/efficiency.toml when it has no fitted points), "table": the table used,
    "stack": its stack(s), "own_stacks": {stack: w_s} blended half-way into the family
    centre for this chip (explorer.stacks), "points": fitted points, "points_on_chip":
    of this chip}.
    """
    fitted = {}
    path = CONFIG_DIR / "calibration.toml"
    if calibrated and path.exists():
        data = read_toml(path)
        key = f"{info.family}/{stack}" if stack else info.family
        fitted = data.get("stack" if stack else "family", {}).get(key, {})
    if not fitted:
        return {
            "knobs": "family default",
            "table": f"configs/efficiency.toml: family.{info.family} (no measured point)",
            "stack": None,
            "own_stacks": {},
            "points": 0,
            "points_on_chip": 0,
        }
    on_chip = dict(fitted.get("chips", {})).get(info.id, 0)
    return {
        "knobs": "calibrated" if on_chip else "family default",
        "table": f"configs/calibration.toml: {'stack' if stack else 'family'}.{info.family}",
        "stack": fitted.get("stack", stack),
        "own_stacks": {} if stack else own_stack_weights(info.family, info.id, year),
        "points": len(fitted.get("points", [])),
        "points_on_chip": on_chip,
    }


def own_stack_weights(family: str, chip_id: str | None, year: int | None = None):
    """{stack: w_s} of the fitted stacks of ``family`` that measured ``chip_id`` up to
    ``year`` (explorer.stacks.chip_weights); empty for no chip or no such stack."""
    path = CONFIG_DIR / "calibration.toml"
    if chip_id is None or not path.exists():
        return {}
    stacks = read_toml(path).get("stack", {})
    return chip_weights(stack_counts(stacks, family, chip_id), chip_id, year)


def with_stack(chip: Chip, info: ChipInfo, stack: str) -> Chip:
    """The chip with the efficiency knobs fitted for ``stack`` (e.g. "vllm-2024") instead of
    its family's main stack."""
    return dataclasses.replace(chip, **efficiency_fields(stack_efficiency(info.family, stack)))


def parse_chip(
    data: dict[str, Any], where: str, calibrated: bool = True, year: int | None = None
) -> tuple[Chip, ChipInfo]:
    """Validate a chip config table and build (Chip, ChipInfo).

    calibrated: use the fitted efficiency knobs of the chip's family when they exist
    (configs/calibration.toml; blended with the chip's own stacks up to ``year``, see
    explorer.stacks), else the uncalibrated defaults.
    """
    check_table(data, _TOP, where, need_sources=False)
    compute = check_table(data["compute"], _COMPUTE, f"{where}: compute")
    scale_up = check_table(data["scale_up"], _SCALE_UP, f"{where}: scale_up")
    scale_out = check_table(data["scale_out"], _SCALE_OUT, f"{where}: scale_out")
    power = check_table(data["power"], _POWER, f"{where}: power")
    if "area" in data:
        check_table(data["area"], _AREA, f"{where}: area")
    price = check_table(data["price"], _PRICE, f"{where}: price") if "price" in data else None
    mesh = data.get("core_mesh")
    if mesh is not None:
        check_table(mesh, _CORE_MESH, f"{where}: core_mesh")
    core_sram = 0.0 if mesh is None else mesh["sram_kib_per_core"] * units.KIB
    physics = load_physics()
    eff = load_efficiency(data["family"], where, calibrated, data.get("id"), year)
    peaks = _peaks(compute, f"{where}: compute")
    cap, bw, mem_e, kinds = _tiers(data["memory"], where, physics)

    tdp = float(power["tdp_w"])
    static = physics["power"]["static_fraction_of_tdp"] * tdp
    flop_e = flop_energy(tdp, static, peaks, cap, bw, mem_e)
    # Scale-up links leave the package: SerDes energy for every reference chip.
    link_e = units.pj_per_bit_to_j_per_byte(physics["link_energy_pj_per_bit"]["serdes"])
    topo = np.array([float(scale_up["topology"] == t) for t in TOPOLOGIES])

    chip = Chip(
        peak_flops_per_s=_arr(peaks),
        mem_capacity_bytes=_arr(cap),
        mem_bw_bytes_per_s=_arr(bw),
        mem_energy_j_per_byte=_arr(mem_e),
        link_bw_bytes_per_s=_arr(scale_up["bandwidth_gb_s_per_direction"] * units.GB),
        link_latency_s=_arr(scale_up["latency_us"] * units.US),
        domain_chips=_arr(float(scale_up["domain_chips"])),
        scale_out_bw_bytes_per_s=_arr(scale_out["bandwidth_gb_s_per_direction"] * units.GB),
        scale_out_latency_s=_arr(scale_out["latency_us"] * units.US),
        topology=_arr(topo),
        flop_energy_j=_arr(flop_e),
        link_energy_j_per_byte=_arr(link_e),
        static_power_w=_arr(static),
        tdp_w=_arr(tdp),
        core_sram_bytes=_arr(core_sram),
        **efficiency_fields(eff),
    )
    estimated = tuple(
        f"{section}.{key}"
        for section in ("compute", "scale_up", "scale_out", "power", "core_mesh")
        if section in data
        for key, text in data[section]["sources"].items()
        if str(text).lower().startswith("estimate")
    ) + tuple(
        f"memory[{i}].{key}"
        for i, t in enumerate(data["memory"])
        for key, text in t["sources"].items()
        if str(text).lower().startswith("estimate")
    )
    info = ChipInfo(
        id=data["id"],
        vendor=data["vendor"],
        name=data["name"],
        family=data["family"],
        year=data["year"],
        process_node=data["process_node"],
        tier_kinds=kinds,
        topology=scale_up["topology"],
        tdp_scope=power["scope"],
        estimated=estimated,
        notes=data.get("notes", ""),
        price_usd=None if price is None else float(price["usd"]),
        raw=data,
    )
    return chip, info


def load_chip_file(
    path: str | Path, calibrated: bool = True, year: int | None = None
) -> tuple[Chip, ChipInfo]:
    """Load a chip from any TOML file (same format as configs/chips/)."""
    path = Path(path)
    return parse_chip(read_toml(path), str(path), calibrated, year)


def load_chip_info(chip_id: str) -> ChipInfo:
    """The ChipInfo of a built-in chip id."""
    return _load_builtin(chip_id)[1]


def load_chip(chip_id: str, calibrated: bool = True, year: int | None = None) -> Chip:
    """The Chip of a built-in chip id, e.g. ``load_chip("h100-sxm")``.

    calibrated=False gives the datasheet-only defaults of the efficiency knobs; year
    limits the chip's own stacks blended into its knobs (explorer.stacks).
    """
    return _load_builtin(chip_id, calibrated, year)[0]


def _load_builtin(
    chip_id: str, calibrated: bool = True, year: int | None = None
) -> tuple[Chip, ChipInfo]:
    path = config_path("chips", chip_id)
    chip, info = load_chip_file(path, calibrated, year)
    if info.id != chip_id:
        raise ConfigError(f"{path}: key 'id' = '{info.id}' does not match the file name")
    return chip, info


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
