"""Chip configs (configs/chips/*.toml): the schema, its checks, and loading a Chip.

A precision the chip lacks falls back to the rate of the next wider format it has
(weights dequantised on the fly): fp4 -> fp8 -> bf16, int8 -> fp8 -> bf16,
fp16 <-> bf16.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from explorer.model import units
from explorer.model.chip import (
    N_TIERS,
    PRECISIONS,
    TOPOLOGIES,
    Chip,
    ChipInfo,
    _arr,
    efficiency_fields,
    flop_energy,
)
from explorer.model.configio import (
    ConfigError,
    Field,
    check_table,
    config_path,
    read_toml,
)
from explorer.model.efficiency import load_efficiency, load_physics

_FALLBACK = {
    "fp16": ("fp16", "bf16"),
    "bf16": ("bf16", "fp16"),
    "fp8": ("fp8", "bf16", "fp16"),
    "fp4": ("fp4", "fp8", "bf16", "fp16"),
    "int8": ("int8", "fp8", "bf16", "fp16"),
}


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


def parse_chip(
    data: dict[str, Any], where: str, calibrated: bool = True, year: int | None = None
) -> tuple[Chip, ChipInfo]:
    """Validate a chip config table and build (Chip, ChipInfo).

    calibrated: use the fitted efficiency knobs of the chip's family when they exist
    (configs/calibration.toml; blended with the chip's own stacks up to ``year``, see
    explorer.model.stacks), else the uncalibrated defaults.
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
    limits the chip's own stacks blended into its knobs (explorer.model.stacks).
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
