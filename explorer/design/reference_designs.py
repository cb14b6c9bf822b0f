"""Reference chips as Designs, and the check of the design and cost model against them.

:func:`reference_design` reads a chip config (configs/chips/<id>.toml) and the chip's
entry in configs/cost.toml [reference.*] and builds the Design that reproduces its
datasheet: compute = dense BF16 peak (FP16 where the chip has no BF16), SRAM = tier 0
capacity and bandwidth, memory = tier 1 kind with its stacks (the [reference] count, else
capacity / per-stack capacity rounded) and per-stack capacity and bandwidth from the
datasheet totals, link bandwidth, dies from [area], node from ``process_node``. A third
memory tier (DDR, LPDDR behind HBM) is not part of a Design and is left out.

:func:`validate` compares modelled area, full-load power and manufacturing cost with
the published die area, TDP and manufacturing estimate (or price) of each chip. Only
datasheet facts go in; the constants of configs/cost.toml are what may be tuned, within
their ranges. This module reads configs (an edge, like explorer.model.chip).
"""

from __future__ import annotations

import re
from typing import Any

from explorer.design.area_power import area, power
from explorer.design.cost import manufacturing_cost
from explorer.design.tech import Tech, load_tech
from explorer.design.variables import MEMORY_NONE, Design, make_design
from explorer.model.chip import PRECISIONS
from explorer.model.chip_config import load_chip, load_chip_info
from explorer.model.configio import ConfigError

VALIDATION_CHIPS = ("h100-sxm", "b200", "mi300x", "groq-lpu", "wse-3")

# Nodes of the same family as one in configs/cost.toml (N6 is an N7 derivative; GF 14
# and TSMC 16/12 nm are one class; 4N/4NP are NVIDIA's N4/N5-family variants).
_NODE_ALIASES = {"N6": "N7", "16nm": "14nm", "12nm": "14nm"}


def parse_node(process_node: str) -> str:
    """A cost.toml node name from a config's ``process_node`` text (first node named).

    "TSMC 4N" / "TSMC 4NP" -> N4; "TSMC N5 (XCD) + N6 (IOD)" -> N5; "TSMC 5nm" -> N5;
    "TSMC 7nm (N7)" -> N7; "GlobalFoundries 14nm" -> 14nm; "TSMC 6nm" -> N7 (alias).
    Raises ConfigError when no node is named ("not disclosed").
    """
    text = process_node.replace("-", " ")
    patterns = (
        (r"\bN(\d)[A-Z]?\b", "N{}"),  # N5, N3P, N2
        (r"\b(\d)NP?\b", "N{}"),  # NVIDIA 4N, 4NP
        (r"\b(\d+)\s*nm\b", "{}nm"),  # 5nm, 14nm
    )
    for pattern, fmt in patterns:
        m = re.search(pattern, text)
        if m:
            name = fmt.format(m.group(1))
            if name.endswith("nm") and int(m.group(1)) < 10:
                name = f"N{m.group(1)}"
            return _NODE_ALIASES.get(name, name)
    raise ConfigError(f"process node '{process_node}' names no node (e.g. N5, 4N, 14nm)")


def reference_design(chip_id: str, tech: Tech | None = None, node: str | None = None) -> Design:
    """The Design of a built-in chip (see the module docstring).

    node: override the node parsed from ``process_node`` (needed where it is not
    disclosed). Wafer scale when the published area per die exceeds the reticle.
    """
    tech = load_tech() if tech is None else tech
    chip = load_chip(chip_id, calibrated=False)
    info = load_chip_info(chip_id)
    raw = info.raw
    ref = tech.references.get(chip_id, {})
    node = parse_node(info.process_node) if node is None else node
    if node not in tech.nodes:
        raise ConfigError(
            f"{chip_id}: node '{node}' (from '{info.process_node}') is not in configs/cost.toml"
        )
    area_t = raw.get("area", {})
    dies = float(area_t.get("dies", 1))
    wafer_scale = "die_area_mm2" in area_t and area_t["die_area_mm2"] / dies > tech.reticle_mm2
    tiers = raw["memory"]
    sram_kind = "cache" if "cache" in tiers[0]["kind"].lower() else "scratchpad"
    common = dict(
        compute_flops_per_s=float(chip.peak_flops_per_s[PRECISIONS.index("bf16")]),
        sram_bytes=float(chip.mem_capacity_bytes[0]),
        sram_bw_bytes_per_s=float(chip.mem_bw_bytes_per_s[0]),
        link_bw_bytes_per_s=float(chip.link_bw_bytes_per_s),
        dies=dies,
        node=node,
        sram_kind=sram_kind,
        package=ref.get("package", "auto"),
        wafer_scale=wafer_scale,
    )
    if len(tiers) == 1:
        return make_design(memory=MEMORY_NONE, mem_stacks=0.0, **common)
    kind = tiers[1]["kind"]
    if kind not in tech.memories:
        raise ConfigError(
            f"{chip_id}: memory kind '{kind}' is not in configs/cost.toml "
            f"(known: {', '.join(sorted(tech.memories))})"
        )
    cap = float(chip.mem_capacity_bytes[1])
    bw = float(chip.mem_bw_bytes_per_s[1])
    stacks = ref.get("mem_stacks", max(1, round(cap / tech.memories[kind].stack_bytes)))
    return make_design(
        memory=kind,
        mem_stacks=float(stacks),
        mem_stack_bytes=cap / stacks,
        mem_stack_bw_bytes_per_s=bw / stacks,
        **common,
    )


def _err(model: float, published: float | None) -> float | None:
    return None if published is None else model / published - 1.0


def validate(
    chip_ids: tuple[str, ...] = VALIDATION_CHIPS, tech: Tech | None = None
) -> list[dict[str, Any]]:
    """Modelled vs published area, power and cost of reference chips (one dict per chip).

    Keys: chip, node, memory, package; area_model_mm2 (total silicon), area_published_mm2,
    area_error; power_model_w (full load), tdp_w, tdp_scope, power_error;
    cost_model_usd (manufacturing), cost_published_usd (manufacturing estimate,
    configs/cost.toml [reference]; None where none is published), cost_error;
    price_usd, price_low_usd, price_high_usd (configs/chips [price]) and
    cost_to_price. Errors are model / published - 1.
    """
    tech = load_tech() if tech is None else tech
    rows = []
    for chip_id in chip_ids:
        d = reference_design(chip_id, tech)
        info = load_chip_info(chip_id)
        raw = info.raw
        a = float(area(d, tech)["total_mm2"])
        p = float(power(d, tech)["total_w"])
        c = float(manufacturing_cost(d, tech)["total_usd"])
        a_pub = raw.get("area", {}).get("die_area_mm2")
        tdp = float(raw["power"]["tdp_w"])
        c_pub = tech.references.get(chip_id, {}).get("manufacturing_usd")
        price = raw.get("price", {})
        rows.append(
            dict(
                chip=chip_id,
                node=d.node,
                memory=d.memory,
                package=d.package,
                area_model_mm2=a,
                area_published_mm2=a_pub,
                area_error=_err(a, a_pub),
                power_model_w=p,
                tdp_w=tdp,
                tdp_scope=raw["power"]["scope"],
                power_error=_err(p, tdp),
                cost_model_usd=c,
                cost_published_usd=c_pub,
                cost_error=_err(c, c_pub),
                price_usd=price.get("usd"),
                price_low_usd=price.get("low_usd"),
                price_high_usd=price.get("high_usd"),
                cost_to_price=None if "usd" not in price else c / price["usd"],
            )
        )
    return rows


def validation_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width text table of :func:`validate` rows (for reports and the CLI)."""

    def pct(x):
        return "-" if x is None else f"{100 * x:+.0f}%"

    def num(x, fmt="{:,.0f}"):
        return "-" if x is None else fmt.format(x)

    head = (
        f"{'chip':<10} {'area mm2':>17} {'err':>5}  {'power W':>15} {'err':>5}  "
        f"{'mfg cost $':>19} {'err':>5}  {'price $':>10} {'cost/price':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['chip']:<10} "
            f"{num(r['area_model_mm2']):>8}/{num(r['area_published_mm2']):>8} "
            f"{pct(r['area_error']):>5}  "
            f"{num(r['power_model_w']):>7}/{num(r['tdp_w']):>7} {pct(r['power_error']):>5}  "
            f"{num(r['cost_model_usd']):>9}/{num(r['cost_published_usd']):>9} "
            f"{pct(r['cost_error']):>5}  {num(r['price_usd']):>10} "
            f"{num(r['cost_to_price'], '{:.2f}'):>10}"
        )
    return "\n".join(lines)
