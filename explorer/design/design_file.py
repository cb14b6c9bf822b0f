"""Design files: a chip design as TOML, the format ``explorer optimize`` writes.

    [design]
    compute_tflops = 989.4        # dense BF16 peak
    sram_gb = 2.0                 # on-chip SRAM
    sram_tb_s = 40.0              # optional; default: capacity x the SRAM kind's rate
    memory = "HBM3E"              # HBM3E | HBM4 | GDDR7 | LPDDR5X | none
    mem_stacks = 4
    link_gb_s = 450.0             # scale-up, per direction
    dies = 1
    node = "N4"
    sram_kind = "scratchpad"      # scratchpad | cache
    wafer_scale = false
    family = "other"              # efficiency knobs (configs/efficiency.toml)
    topology = "switch"

``explorer predict --chip-file`` accepts these as well as chip configs; a file with a
``[design]`` table is a design.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from explorer.design.tech import Tech, load_tech
from explorer.design.to_chip import design_to_chip
from explorer.design.variables import Design, make_design
from explorer.model import units
from explorer.model.chip import TOPOLOGIES, Chip, ChipInfo
from explorer.model.configio import ConfigError, Field, check_table, read_toml

_DESIGN = {
    "name": Field(str, required=False),
    "compute_tflops": Field(float, positive=True),
    "sram_gb": Field(float, minimum=0.0),
    "sram_tb_s": Field(float, required=False, positive=True),
    "memory": Field(str),
    "mem_stacks": Field(float, minimum=0.0),
    "link_gb_s": Field(float, minimum=0.0),
    "dies": Field(float, positive=True),
    "node": Field(str),
    "sram_kind": Field(str, required=False, choices=("scratchpad", "cache")),
    "wafer_scale": Field(bool, required=False),
    "family": Field(str, required=False),
    "package": Field(str, required=False),
    "topology": Field(str, required=False, choices=TOPOLOGIES),
    "link_latency_us": Field(float, required=False, minimum=0.0),
    "domain_chips": Field(float, required=False, positive=True),
}


def is_design_file(data: dict[str, Any]) -> bool:
    return "design" in data


def parse_design(data: dict[str, Any], where: str, tech: Tech) -> tuple[Design, dict]:
    """(Design, the validated [design] table) from a design file's contents."""
    if set(data) - {"design", "metrics", "constraints", "provenance"}:
        extra = sorted(set(data) - {"design", "metrics", "constraints", "provenance"})
        raise ConfigError(f"{where}: unknown table '{extra[0]}' (expected [design])")
    t = check_table(data["design"], _DESIGN, f"{where}: design", need_sources=False)
    if t["memory"] != "none" and t["memory"] not in tech.memories:
        known = ", ".join(["none", *sorted(tech.memories)])
        raise ConfigError(f"{where}: design: memory '{t['memory']}' unknown (known: {known})")
    if t["node"] not in tech.nodes:
        known = ", ".join(sorted(tech.nodes))
        raise ConfigError(f"{where}: design: node '{t['node']}' unknown (known: {known})")
    design = make_design(
        compute_flops_per_s=t["compute_tflops"] * units.TERA,
        sram_bytes=t["sram_gb"] * units.GB,
        sram_bw_bytes_per_s=None if "sram_tb_s" not in t else t["sram_tb_s"] * units.TB,
        memory=t["memory"],
        mem_stacks=t["mem_stacks"],
        link_bw_bytes_per_s=t["link_gb_s"] * units.GB,
        dies=t["dies"],
        node=t["node"],
        sram_kind=t.get("sram_kind", "scratchpad"),
        package=t.get("package", "auto"),
        wafer_scale=t.get("wafer_scale", False),
    )
    if design.package != "auto" and design.package not in tech.packages:
        known = ", ".join(["auto", *sorted(tech.packages)])
        raise ConfigError(f"{where}: design: package '{design.package}' unknown (known: {known})")
    return design, t


def load_design_chip(path: str | Path, tech: Tech | None = None) -> tuple[Chip, ChipInfo, Design]:
    """(Chip, ChipInfo, Design) of a design file."""
    tech = load_tech() if tech is None else tech
    data = read_toml(Path(path))
    if not is_design_file(data):
        raise ConfigError(f"{path}: not a design file (no [design] table)")
    design, t = parse_design(data, str(path), tech)
    family = t.get("family", "other")
    chip = design_to_chip(design, tech, family=family, topology=t.get("topology", "switch"))
    if "link_latency_us" in t:
        chip = chip.replace(link_latency_s=t["link_latency_us"] * units.US)
    if "domain_chips" in t:
        chip = chip.replace(domain_chips=t["domain_chips"])
    info = ChipInfo(
        id=t.get("name", Path(path).stem),
        vendor="design",
        name=t.get("name", Path(path).stem),
        family=family,
        year=0,
        process_node=t["node"],
        tier_kinds=("SRAM", t["memory"], "none"),
        topology=t.get("topology", "switch"),
        tdp_scope="package",
        estimated=("all: a design evaluated by the cost model",),
        notes="",
        price_usd=None,
        raw=data,
    )
    return chip, info, design


def render_design(
    design: Design,
    name: str,
    family: str = "other",
    extra: str = "",
    fabric: dict[str, Any] | None = None,
) -> str:
    """TOML text of a design (the inverse of parse_design), plus optional extra tables.

    fabric: optional {"topology", "link_latency_s", "domain_chips"} of the scale-up fabric.
    """

    def num(x) -> str:
        return f"{float(x):.6g}"

    lines = [
        "[design]",
        f'name = "{name}"',
        f"compute_tflops = {num(design.compute_flops_per_s / units.TERA)}",
        f"sram_gb = {num(design.sram_bytes / units.GB)}",
    ]
    if design.sram_bw_bytes_per_s is not None:
        lines.append(f"sram_tb_s = {num(design.sram_bw_bytes_per_s / units.TB)}")
    lines += [
        f'memory = "{design.memory}"',
        f"mem_stacks = {num(design.mem_stacks)}",
        f"link_gb_s = {num(design.link_bw_bytes_per_s / units.GB)}",
        f"dies = {num(design.dies)}",
        f'node = "{design.node}"',
        f'sram_kind = "{design.sram_kind}"',
        f"wafer_scale = {'true' if design.wafer_scale else 'false'}",
        f'family = "{family}"',
        f'package = "{design.package}"',
    ]
    if fabric:
        lines += [
            f'topology = "{fabric["topology"]}"',
            f"link_latency_us = {num(fabric['link_latency_s'] / units.US)}",
            f"domain_chips = {num(fabric['domain_chips'])}",
        ]
    return "\n".join(lines) + "\n" + extra
