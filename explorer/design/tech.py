"""Technology constants: :class:`Tech` holds the constants of configs/cost.toml (and the
memory energies and static fraction of configs/physics.toml); it is loaded once by
:func:`load_tech`, at the edge."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax

from explorer.design.variables import SRAM_KINDS
from explorer.model import units
from explorer.model.chip import PRECISIONS, TOPOLOGIES
from explorer.model.configio import CONFIG_DIR, ConfigError, Field, check_table, read_toml
from explorer.model.efficiency import load_efficiency, load_physics


@dataclasses.dataclass(frozen=True)
class NodeTech:
    """One process node (SI, areas in mm²). formats: low-precision formats at 2x/4x;
    speedup_*: the peak of that format over BF16 that :func:`format_speedups` derives
    from them (numbers, so a search can batch nodes as traced arrays)."""

    compute_flops_per_s_per_mm2: float
    sram_bits_per_mm2: float
    flop_energy_j: float
    sram_bank_j_per_byte: float
    wafer_usd: float
    defects_per_mm2: float
    formats: tuple[str, ...]
    speedup_fp8: float
    speedup_fp4: float
    speedup_int8: float


NODE_NUMBERS = (
    "compute_flops_per_s_per_mm2",
    "sram_bits_per_mm2",
    "flop_energy_j",
    "sram_bank_j_per_byte",
    "wafer_usd",
    "defects_per_mm2",
    "speedup_fp8",
    "speedup_fp4",
    "speedup_int8",
)


def format_speedups(formats: tuple[str, ...]) -> dict[str, float]:
    """Peak of fp8, fp4 and int8 over BF16 for a node implementing ``formats``.

    fp8 and int8 run at 2x, fp4 at 4x when implemented; a missing format falls back as
    in explorer.model.chip (fp4 -> fp8 -> bf16, int8 -> fp8 -> bf16).
    """
    fp8 = 2.0 if "fp8" in formats else 1.0
    return {
        "speedup_fp8": fp8,
        "speedup_fp4": 4.0 if "fp4" in formats else fp8,
        "speedup_int8": 2.0 if "int8" in formats else fp8,
    }


@dataclasses.dataclass(frozen=True)
class MemoryTech:
    """One off-chip memory technology, per stack / device / x64 package."""

    stack_bytes: float
    stack_bw_bytes_per_s: float
    phy_mm2: float
    shoreline_mm: float
    footprint_mm2: float
    on_package: bool
    usd_per_byte: float
    energy_j_per_byte: float


@dataclasses.dataclass(frozen=True)
class SramTech:
    """One SRAM kind: area efficiency, bandwidth per byte [1/s], wire run [mm]."""

    efficiency: float
    bw_per_byte: float
    wire_run_mm: float


@dataclasses.dataclass(frozen=True)
class PackageTech:
    """One package class: largest interposer/package area and cost = base + per mm²."""

    max_area_mm2: float
    base_usd: float
    usd_per_mm2: float


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Economics:
    """Data-centre economics (SI; a pytree, so TCO can be differentiated by them).

    electricity_usd_per_j, pue, depreciation_s (accelerator life), facility_usd_per_w
    (capex per W of critical IT), facility_s (facility life), utilisation,
    server_network_usd_per_chip (server and network share per accelerator),
    server_power_fraction (server share of IT power, relative to the chip's).
    """

    electricity_usd_per_j: float
    pue: float
    depreciation_s: float
    facility_usd_per_w: float
    facility_s: float
    utilisation: float
    server_network_usd_per_chip: float
    server_power_fraction: float


@dataclasses.dataclass(frozen=True, eq=False)
class Tech:
    """Every constant of the design and cost model (configs/cost.toml + physics.toml).

    Hashable by identity, so it can be a static argument of ``jax.jit``.
    """

    nodes: Mapping[str, NodeTech]
    memories: Mapping[str, MemoryTech]
    sram_kinds: Mapping[str, SramTech]
    sram_wire_j_per_byte_mm: float
    link_phy_mm2_per_byte_s: float
    link_energy_j_per_byte: float
    d2d_interface_bw_bytes_per_s: float
    d2d_phy_mm2_per_byte_s: float
    reticle_mm2: float
    aspect_long_to_short: float
    overhead_fraction: float
    wafer_diameter_mm: float
    wafer_scale_usable_mm2: float
    interposer_margin: float
    packages: Mapping[str, PackageTech]
    yield_alpha: float
    harvest_fraction: float
    wafer_redundant_fraction: float
    power_density_limit_w_per_mm2: float
    static_fraction: float
    test_assembly_fraction: float
    economics: Economics
    interconnect: Mapping[str, float]
    fabrics: Mapping[str, Mapping[str, Any]]
    efficiency: Mapping[str, Mapping[str, float]]
    references: Mapping[str, Mapping[str, Any]]
    raw: Mapping[str, Any]


def _num(required: bool = True) -> Field:
    return Field(float, required=required, positive=True)


_RANGES = Field(dict, required=False, sourced=False)
_NODE = {
    "sram_macro_mb_per_mm2": _num(),
    "compute_tflops_per_mm2": _num(),
    "flop_energy_pj": _num(),
    "sram_bank_pj_per_bit": _num(),
    "wafer_usd": _num(),
    "defect_density_per_cm2": _num(),
    "formats": Field(list),
    "ranges": _RANGES,
}
_MEMORY = {
    "stack_gb": _num(),
    "stack_tb_s": _num(),
    "phy_mm2": _num(),
    "shoreline_mm": _num(),
    "footprint_mm2": Field(float, minimum=0.0),
    "on_package": Field(bool),
    "usd_per_gb": _num(),
    "ranges": _RANGES,
}
_SRAM = {"wire_pj_per_bit_mm": _num(), "ranges": _RANGES}
_SRAM_KIND = {
    "efficiency": _num(),
    "bandwidth_tb_s_per_mb": _num(),
    "wire_run_mm": _num(),
    "ranges": _RANGES,
}
_LINK = {"phy_mm2_per_100_gb_s": _num(), "ranges": _RANGES}
_D2D = {"interface_tb_s": _num(), "phy_tb_s_per_mm2": _num(), "ranges": _RANGES}
_DIE = {
    "reticle_mm2": _num(),
    "aspect_long_to_short": _num(),
    "overhead_fraction": Field(float, minimum=0.0),
    "wafer_diameter_mm": _num(),
    "wafer_scale_usable_mm2": _num(),
    "interposer_margin": Field(float, minimum=0.0),
    "ranges": _RANGES,
}
_PACKAGE = {
    "max_area_mm2": _num(),
    "base_usd": Field(float, minimum=0.0),
    "usd_per_mm2": Field(float, minimum=0.0),
    "ranges": _RANGES,
}
_YIELD = {
    "alpha": _num(),
    "harvest_fraction": Field(float, minimum=0.0),
    "wafer_redundant_fraction": Field(float, minimum=0.0),
    "ranges": _RANGES,
}
_POWER = {"density_limit_w_per_mm2": _num(), "ranges": _RANGES}
_MANUFACTURING = {"test_assembly_fraction": Field(float, minimum=0.0), "ranges": _RANGES}
_ECONOMICS = {
    "electricity_usd_per_kwh": _num(),
    "pue": Field(float, minimum=1.0),
    "depreciation_years": _num(),
    "facility_usd_per_w": Field(float, minimum=0.0),
    "facility_years": _num(),
    "utilisation": _num(),
    "server_network_usd_per_chip": Field(float, minimum=0.0),
    "server_power_fraction": Field(float, minimum=0.0),
    "ranges": _RANGES,
}
_INTERCONNECT = {
    "link_latency_us": Field(float, minimum=0.0),
    "domain_chips": Field(int, positive=True),
    "scale_out_gb_s_per_direction": _num(),
    "scale_out_latency_us": Field(float, minimum=0.0),
}
_FABRIC = {
    "topology": Field(str, choices=TOPOLOGIES),
    "link_latency_us": Field(float, minimum=0.0),
    "domain_chips": Field(int, positive=True),
    "ranges": _RANGES,
}
_REFERENCE = {
    "mem_stacks": Field(int, required=False, minimum=0),
    "package": Field(str, required=False),
    "manufacturing_usd": _num(required=False),
}
_TOP = {
    "node": Field(dict),
    "sram": Field(dict),
    "sram_kind": Field(dict),
    "memory": Field(dict),
    "link": Field(dict),
    "d2d": Field(dict),
    "die": Field(dict),
    "package": Field(dict),
    "yield": Field(dict),
    "power": Field(dict),
    "manufacturing": Field(dict),
    "economics": Field(dict),
    "interconnect": Field(dict),
    "fabric": Field(dict),
    "reference": Field(dict),
}


def _section(table: dict[str, Any], schema: dict[str, Field], where: str) -> dict[str, Any]:
    """check_table, plus: each ``ranges`` entry names a key and brackets its value."""
    check_table(table, schema, where)
    for key, rng in table.get("ranges", {}).items():
        ok = (
            key in table
            and isinstance(rng, list)
            and len(rng) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng)
        )
        if not ok or not rng[0] <= table[key] <= rng[1]:
            raise ConfigError(
                f"{where}: ranges.{key} must be [lo, hi] around the value of '{key}', got {rng!r}"
            )
    return table


def _named(
    table: dict[str, Any], schema: dict[str, Field], where: str
) -> dict[str, dict[str, Any]]:
    return {name: _section(sub, schema, f"{where}.{name}") for name, sub in table.items()}


def load_tech(path: str | Path | None = None, calibrated: bool = False) -> Tech:
    """Load and validate configs/cost.toml (or ``path``) into a Tech (SI units).

    Memory energies per bit and the static-power fraction come from configs/physics.toml
    (same memory names); link energy is its SerDes entry. ``efficiency`` holds the knobs
    of every family of configs/efficiency.toml (the fitted ones of
    configs/calibration.toml when ``calibrated``).
    """
    path = Path(path) if path is not None else CONFIG_DIR / "cost.toml"
    where = str(path)
    data = check_table(read_toml(path), _TOP, where, need_sources=False)
    physics = load_physics()
    mem_energy = physics["memory_energy_pj_per_bit"]
    e_byte = units.pj_per_bit_to_j_per_byte

    nodes = {}
    for name, t in _named(data["node"], _NODE, f"{where}: node").items():
        bad = [f for f in t["formats"] if f not in PRECISIONS]
        if bad:
            raise ConfigError(f"{where}: node.{name}.formats: unknown {bad} (known {PRECISIONS})")
        nodes[name] = NodeTech(
            compute_flops_per_s_per_mm2=t["compute_tflops_per_mm2"] * units.TERA,
            sram_bits_per_mm2=t["sram_macro_mb_per_mm2"] * units.MB,
            flop_energy_j=t["flop_energy_pj"] * units.PJ,
            sram_bank_j_per_byte=e_byte(t["sram_bank_pj_per_bit"]),
            wafer_usd=float(t["wafer_usd"]),
            defects_per_mm2=t["defect_density_per_cm2"] / 100.0,
            formats=tuple(t["formats"]),
            **format_speedups(tuple(t["formats"])),
        )
    memories = {}
    for name, t in _named(data["memory"], _MEMORY, f"{where}: memory").items():
        if name not in mem_energy:
            raise ConfigError(
                f"{where}: memory.{name} has no energy in configs/physics.toml "
                f"(known: {', '.join(sorted(mem_energy))})"
            )
        memories[name] = MemoryTech(
            stack_bytes=t["stack_gb"] * units.GB,
            stack_bw_bytes_per_s=t["stack_tb_s"] * units.TB,
            phy_mm2=float(t["phy_mm2"]),
            shoreline_mm=float(t["shoreline_mm"]),
            footprint_mm2=float(t["footprint_mm2"]),
            on_package=bool(t["on_package"]),
            usd_per_byte=t["usd_per_gb"] / units.GB,
            energy_j_per_byte=e_byte(mem_energy[name]),
        )
    kinds = _named(data["sram_kind"], _SRAM_KIND, f"{where}: sram_kind")
    if set(kinds) != set(SRAM_KINDS):
        raise ConfigError(f"{where}: sram_kind must define exactly {SRAM_KINDS}")
    sram_kinds = {
        name: SramTech(
            efficiency=t["efficiency"],
            bw_per_byte=t["bandwidth_tb_s_per_mb"] * units.TB / units.MB,
            wire_run_mm=float(t["wire_run_mm"]),
        )
        for name, t in kinds.items()
    }
    sram = _section(data["sram"], _SRAM, f"{where}: sram")
    link = _section(data["link"], _LINK, f"{where}: link")
    d2d = _section(data["d2d"], _D2D, f"{where}: d2d")
    die = _section(data["die"], _DIE, f"{where}: die")
    packages = {
        name: PackageTech(float(t["max_area_mm2"]), float(t["base_usd"]), float(t["usd_per_mm2"]))
        for name, t in _named(data["package"], _PACKAGE, f"{where}: package").items()
    }
    yld = _section(data["yield"], _YIELD, f"{where}: yield")
    power = _section(data["power"], _POWER, f"{where}: power")
    manuf = _section(data["manufacturing"], _MANUFACTURING, f"{where}: manufacturing")
    econ = _section(data["economics"], _ECONOMICS, f"{where}: economics")
    inter = _section(data["interconnect"], _INTERCONNECT, f"{where}: interconnect")
    if "switch" in data["fabric"]:
        raise ConfigError(f"{where}: fabric.switch is [interconnect]; name the fabric otherwise")
    fabric_tables = _named(data["fabric"], _FABRIC, f"{where}: fabric")
    refs = _named(data["reference"], _REFERENCE, f"{where}: reference")
    for name, ref in refs.items():
        if "package" in ref and ref["package"] not in packages:
            raise ConfigError(f"{where}: reference.{name}.package '{ref['package']}' is unknown")
    families = read_toml(CONFIG_DIR / "efficiency.toml").get("family", {})
    efficiency = {f: load_efficiency(f, where, calibrated) for f in families}
    return Tech(
        nodes=nodes,
        memories=memories,
        sram_kinds=sram_kinds,
        sram_wire_j_per_byte_mm=e_byte(sram["wire_pj_per_bit_mm"]),
        link_phy_mm2_per_byte_s=link["phy_mm2_per_100_gb_s"] / (100.0 * units.GB),
        link_energy_j_per_byte=e_byte(physics["link_energy_pj_per_bit"]["serdes"]),
        d2d_interface_bw_bytes_per_s=d2d["interface_tb_s"] * units.TB,
        d2d_phy_mm2_per_byte_s=1.0 / (d2d["phy_tb_s_per_mm2"] * units.TB),
        reticle_mm2=float(die["reticle_mm2"]),
        aspect_long_to_short=float(die["aspect_long_to_short"]),
        overhead_fraction=float(die["overhead_fraction"]),
        wafer_diameter_mm=float(die["wafer_diameter_mm"]),
        wafer_scale_usable_mm2=float(die["wafer_scale_usable_mm2"]),
        interposer_margin=float(die["interposer_margin"]),
        packages=packages,
        yield_alpha=float(yld["alpha"]),
        harvest_fraction=float(yld["harvest_fraction"]),
        wafer_redundant_fraction=float(yld["wafer_redundant_fraction"]),
        power_density_limit_w_per_mm2=float(power["density_limit_w_per_mm2"]),
        static_fraction=float(physics["power"]["static_fraction_of_tdp"]),
        test_assembly_fraction=float(manuf["test_assembly_fraction"]),
        economics=Economics(
            electricity_usd_per_j=econ["electricity_usd_per_kwh"] / units.KWH,
            pue=float(econ["pue"]),
            depreciation_s=econ["depreciation_years"] * units.YEAR,
            facility_usd_per_w=float(econ["facility_usd_per_w"]),
            facility_s=econ["facility_years"] * units.YEAR,
            utilisation=float(econ["utilisation"]),
            server_network_usd_per_chip=float(econ["server_network_usd_per_chip"]),
            server_power_fraction=float(econ["server_power_fraction"]),
        ),
        interconnect={
            "link_latency_s": inter["link_latency_us"] * units.US,
            "domain_chips": float(inter["domain_chips"]),
            "scale_out_bw_bytes_per_s": inter["scale_out_gb_s_per_direction"] * units.GB,
            "scale_out_latency_s": inter["scale_out_latency_us"] * units.US,
        },
        fabrics={
            "switch": {
                "topology": "switch",
                "link_latency_s": inter["link_latency_us"] * units.US,
                "domain_chips": float(inter["domain_chips"]),
            },
            **{
                name: {
                    "topology": t["topology"],
                    "link_latency_s": t["link_latency_us"] * units.US,
                    "domain_chips": float(t["domain_chips"]),
                }
                for name, t in fabric_tables.items()
            },
        },
        efficiency=efficiency,
        references=refs,
        raw=data,
    )
