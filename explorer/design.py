"""Chip designs: continuous design variables -> a Chip, its area, power and constraints.

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
their peak bandwidth, the convention :func:`explorer.hardware.flop_energy` uses to read
a datasheet TDP. SRAM bandwidth, when a design gives none, is S x (bandwidth per byte of
the SRAM kind); per-stack capacity and bandwidth, when not given, are those of the
memory technology. Constraints are relative slacks, positive when satisfied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from explorer import units
from explorer.configio import CONFIG_DIR, ConfigError, Field, check_table, read_toml
from explorer.hardware import (
    PRECISIONS,
    TOPOLOGIES,
    Chip,
    efficiency_fields,
    load_efficiency,
    load_physics,
)

MEMORY_NONE = "none"
SRAM_KINDS = ("scratchpad", "cache")
PACKAGE_AUTO = "auto"
CONTINUOUS = (
    "compute_flops_per_s",
    "sram_bytes",
    "mem_stacks",
    "link_bw_bytes_per_s",
    "dies",
    "sram_bw_bytes_per_s",
    "mem_stack_bytes",
    "mem_stack_bw_bytes_per_s",
)


def _f(x: Any) -> jax.Array:
    """A strongly typed array of the default float dtype (float64 under x64)."""
    return jnp.asarray(x, dtype=jnp.result_type(float))


# --- design -----------------------------------------------------------------------


def _static(default: Any) -> Any:
    return dataclasses.field(default=default, metadata=dict(static=True))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Design:
    """A chip design. Continuous fields are arrays (traced, batched, differentiated).

    compute_flops_per_s: dense BF16 (or BF16-equivalent) peak [FLOP/s].
    sram_bytes: on-chip SRAM capacity (tier 0) [B].
    mem_stacks: HBM stacks / GDDR devices / LPDDR x64 packages, a relaxed integer [-].
    link_bw_bytes_per_s: scale-up bandwidth per direction [B/s].
    dies: compute dies per package, a relaxed integer [-] (ignored at wafer scale).
    sram_bw_bytes_per_s: SRAM bandwidth [B/s]; None: sram_bytes x the per-byte rate of
      the SRAM kind (configs/cost.toml sram_kind.*.bandwidth_tb_s_per_mb), so it grows
      with capacity (more banks in parallel).
    mem_stack_bytes, mem_stack_bw_bytes_per_s: per stack [B], [B/s]; None: the memory
      technology's values (reference chips set them from their datasheets).
    Static: memory (a [memory.*] name of configs/cost.toml, or "none"), node (a
    [node.*] name), sram_kind ("scratchpad" or "cache"), package (a [package.*] name or
    "auto": wafer at wafer scale, cowos-l with on-package memory, else organic),
    wafer_scale (one die = the usable wafer).
    """

    compute_flops_per_s: jax.Array
    sram_bytes: jax.Array
    mem_stacks: jax.Array
    link_bw_bytes_per_s: jax.Array
    dies: jax.Array
    sram_bw_bytes_per_s: jax.Array | None = None
    mem_stack_bytes: jax.Array | None = None
    mem_stack_bw_bytes_per_s: jax.Array | None = None
    memory: str = _static("HBM3E")
    node: str = _static("N4")
    sram_kind: str = _static("scratchpad")
    package: str = _static(PACKAGE_AUTO)
    wafer_scale: bool = _static(False)

    def replace(self, **changes: Any) -> Design:
        """A copy with some fields changed (numbers become float arrays)."""
        conv = {k: (_f(v) if k in CONTINUOUS and v is not None else v) for k, v in changes.items()}
        return dataclasses.replace(self, **conv)


def make_design(
    *,
    compute_flops_per_s: float,
    sram_bytes: float = 0.0,
    mem_stacks: float = 0.0,
    link_bw_bytes_per_s: float = 0.0,
    dies: float = 1.0,
    sram_bw_bytes_per_s: float | None = None,
    mem_stack_bytes: float | None = None,
    mem_stack_bw_bytes_per_s: float | None = None,
    memory: str = "HBM3E",
    node: str = "N4",
    sram_kind: str = "scratchpad",
    package: str = PACKAGE_AUTO,
    wafer_scale: bool = False,
) -> Design:
    """A Design from SI numbers; checks signs and the SRAM kind (ConfigError).

    Names of memory, node and package are checked against a Tech when it is used.
    """
    if not compute_flops_per_s > 0 or not dies > 0:
        raise ConfigError("design: compute_flops_per_s and dies must be > 0")
    for key, value in (
        ("sram_bytes", sram_bytes),
        ("mem_stacks", mem_stacks),
        ("link_bw_bytes_per_s", link_bw_bytes_per_s),
    ):
        if not value >= 0:
            raise ConfigError(f"design: '{key}' must be >= 0, got {value!r}")
    if sram_kind not in SRAM_KINDS:
        raise ConfigError(f"design: sram_kind '{sram_kind}' not one of {SRAM_KINDS}")

    def opt(x):
        return None if x is None else _f(x)

    return Design(
        compute_flops_per_s=_f(compute_flops_per_s),
        sram_bytes=_f(sram_bytes),
        mem_stacks=_f(mem_stacks),
        link_bw_bytes_per_s=_f(link_bw_bytes_per_s),
        dies=_f(dies),
        sram_bw_bytes_per_s=opt(sram_bw_bytes_per_s),
        mem_stack_bytes=opt(mem_stack_bytes),
        mem_stack_bw_bytes_per_s=opt(mem_stack_bw_bytes_per_s),
        memory=memory,
        node=node,
        sram_kind=sram_kind,
        package=package,
        wafer_scale=wafer_scale,
    )


# --- technology constants ---------------------------------------------------------


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
    in explorer.hardware (fp4 -> fp8 -> bf16, int8 -> fp8 -> bf16).
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


# --- lookups (static names) -------------------------------------------------------


def _lookup(table: Mapping[str, Any], name: str, what: str) -> Any:
    if name not in table:
        raise ConfigError(f"design: {what} '{name}' is unknown (known: {', '.join(sorted(table))})")
    return table[name]


def node_tech(design: Design, tech: Tech) -> NodeTech:
    """The constants of the design's process node."""
    return _lookup(tech.nodes, design.node, "node")


def memory_tech(design: Design, tech: Tech) -> MemoryTech | None:
    """The constants of the design's memory technology (None for "none")."""
    if design.memory == MEMORY_NONE:
        return None
    return _lookup(tech.memories, design.memory, "memory")


def package_class(design: Design, tech: Tech) -> str:
    """The package class: the design's, or "auto" -> wafer / cowos-l / organic."""
    if design.package != PACKAGE_AUTO:
        _lookup(tech.packages, design.package, "package")
        return design.package
    if design.wafer_scale:
        return "wafer"
    mem = memory_tech(design, tech)
    return "cowos-l" if mem is not None and mem.on_package else "organic"


def sram_bandwidth(design: Design, tech: Tech) -> jax.Array:
    """SRAM bandwidth [B/s]: the design's, else capacity x the kind's rate."""
    if design.sram_bw_bytes_per_s is not None:
        return design.sram_bw_bytes_per_s
    kind = _lookup(tech.sram_kinds, design.sram_kind, "sram_kind")
    return design.sram_bytes * kind.bw_per_byte


def sram_energy_j_per_byte(design: Design, tech: Tech) -> float:
    """SRAM access energy [J/B] = bank energy of the node + wire energy x run of the kind."""
    kind = _lookup(tech.sram_kinds, design.sram_kind, "sram_kind")
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


# --- area, power, constraints -----------------------------------------------------


def area(design: Design, tech: Tech) -> dict[str, jax.Array]:
    """Silicon area per block and per die [mm²] (equations in the module docstring).

    Returns compute_mm2, sram_mm2, mem_phy_mm2, link_mm2, d2d_mm2, overhead_mm2 and
    total_mm2 (their sum: the silicon the design needs, all dies together), and die_mm2
    (total / dies; at wafer scale the usable wafer area, which total_mm2 must not
    exceed). d2d_mm2: the PHYs of the dies - 1 die-to-die interfaces, one on each of
    the two dies an interface joins (0 for one die and at wafer scale).
    """
    node = node_tech(design, tech)
    kind = _lookup(tech.sram_kinds, design.sram_kind, "sram_kind")
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


# --- the Chip a design makes ------------------------------------------------------


def peak_rates(design: Design, tech: Tech) -> jax.Array:
    """Dense peak per precision (PRECISIONS order) [FLOP/s].

    Assumption: fp16 = bf16 = the design's rate; each halving of the format doubles it
    (fp8, int8: 2x; fp4: 4x) when the node's ``formats`` include it, as vendors do at
    constant power; a missing format falls back as in explorer.hardware (fp4 -> fp8 ->
    bf16, int8 -> fp8 -> bf16).
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
    bandwidth of the tier above (as explorer.hardware does). TDP: full-load
    :func:`power`; static power its static share. Efficiency knobs and fixed latencies:
    those of ``family`` in ``tech.efficiency`` (configs/efficiency.toml, "other" by
    default); links, latencies and scale-out: ``tech.interconnect``. Replace fields with
    ``dataclasses.replace`` for anything else.
    """
    if topology not in TOPOLOGIES:
        raise ConfigError(f"design_to_chip: topology '{topology}' not one of {TOPOLOGIES}")
    eff = _lookup(tech.efficiency, family, "efficiency family")
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


def stack_designs(designs: list[Design]) -> Design:
    """Stack designs (same static names) along a new leading axis, for ``jax.vmap``."""
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *designs)
