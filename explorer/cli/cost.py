"""``explorer cost``: area, power, cost and TCO of a chip or design."""

from __future__ import annotations

import argparse
from typing import Any

from explorer.model.chip_config import load_chip, load_chip_info
from explorer.model.configio import ConfigError


def add_parser(sub: Any) -> None:
    co = sub.add_parser("cost", help="area, power, cost and TCO of a chip or design")
    co.add_argument("--chip", help="built-in chip id")
    co.add_argument("--chip-file", help="a design TOML file ([design] table)")
    co.add_argument("--validate", action="store_true", help="model vs published figures")
    co.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from explorer.design import area_power, constraints
    from explorer.design import cost as costmod
    from explorer.design.economics import chip_capex
    from explorer.design.reference_designs import reference_design, validate
    from explorer.design.tech import load_tech

    tech = load_tech()
    if args.validate:
        if args.chip or args.chip_file:
            raise ConfigError("cost: --validate takes no --chip or --chip-file")
        return {"validate": validate(tech=tech)}
    if (args.chip is None) == (args.chip_file is None):
        raise ConfigError("cost: give exactly one of --chip ID, --chip-file FILE or --validate")
    if args.chip_file:
        from explorer.design.design_file import load_design_chip

        chip, info, design = load_design_chip(args.chip_file, tech)
    else:
        info = load_chip_info(args.chip)
        chip, design = load_chip(args.chip), reference_design(args.chip, tech)
    f = lambda d: {k: float(v) for k, v in d.items()}  # noqa: E731
    mfg = f(costmod.manufacturing_cost(design, tech))
    capex, basis = chip_capex(info, tech, design if args.chip_file else None)
    server = 0.0 if info.tdp_scope == "system" else None
    tco = f(costmod.tco_per_hour(capex, float(chip.tdp_w), tech.economics, server))
    return {
        "chip": info.id,
        "design": {
            "node": design.node,
            "memory": design.memory,
            "dies": float(design.dies),
            "mem_stacks": float(design.mem_stacks),
            "wafer_scale": design.wafer_scale,
        },
        "area_mm2": f(area_power.area(design, tech)),
        "dies_per_wafer": mfg["dies_per_wafer"],
        "yield": mfg["yield"],
        "power_w": f(area_power.power(design, tech)),
        "tdp_w": float(chip.tdp_w),
        "manufacturing_cost_usd": mfg,
        "capex_usd": capex,
        "capex_basis": basis,
        "tco_usd_per_hour": tco,
        "constraints_slack": f(constraints.constraints(design, tech)),
        "sources": "configs/cost.toml (every constant with its source), configs/physics.toml",
    }


def text(out: dict[str, Any], args: argparse.Namespace) -> str:
    if "validate" in out:
        from explorer.design.reference_designs import validation_table

        return validation_table(out["validate"])
    d = out["design"]

    def join(values: dict[str, float], suffix: str, fmt: str) -> str:
        return ", ".join(f"{k.removesuffix(suffix)} {format(v, fmt)}" for k, v in values.items())

    wafer = " (wafer scale)" if d["wafer_scale"] else ""
    mfg = {k: v for k, v in out["manufacturing_cost_usd"].items() if k.endswith("_usd")}
    return "\n".join(
        [
            f"{out['chip']}: {d['node']}, memory {d['memory']} x {d['mem_stacks']:g}, "
            f"dies {d['dies']:g}{wafer}",
            "  area mm2: " + join(out["area_mm2"], "_mm2", ",.0f"),
            f"  dies per wafer {out['dies_per_wafer']:.1f}, yield {out['yield']:.1%}",
            "  power W at full load: "
            + join(out["power_w"], "_w", ",.0f")
            + f" (TDP in config {out['tdp_w']:,.0f})",
            "  manufacturing $: " + join(mfg, "_usd", ",.0f"),
            f"  capex ${out['capex_usd']:,.0f} ({out['capex_basis']})",
            "  TCO $/h: " + join(out["tco_usd_per_hour"], "_usd_per_h", ".3f"),
            "  constraint slack (>0 satisfied): " + join(out["constraints_slack"], "", "+.2f"),
            f"  sources: {out['sources']}",
        ]
    )
