"""Cost per token of a configuration: chip capex, TCO per hour, $ per million tokens.

Capex of a reference chip is its published price (list or estimate, as its config
marks it); a chip without a price, and a design, get the cost model's manufacturing
cost (no margin: a lower bound on what a buyer pays). TCO per hour and $/Mtok follow
:func:`explorer.design.cost.tco_per_hour` and :func:`explorer.design.cost.cost_per_mtok` at the
chip's TDP (provisioned power) and the default utilisation of configs/cost.toml.
"""

from __future__ import annotations

from typing import Any

from explorer.design.cost import cost_per_mtok, manufacturing_cost, tco_per_hour
from explorer.design.tech import Tech
from explorer.design.variables import Design
from explorer.model.chip import Chip, ChipInfo
from explorer.model.configio import ConfigError
from explorer.model.perf import Metrics


def chip_capex(info: ChipInfo, tech: Tech, design: Design | None = None) -> tuple[float, str]:
    """(capex per chip [$], where the number comes from)."""
    if design is not None:
        usd = float(manufacturing_cost(design, tech)["total_usd"])
        return usd, "cost model: manufacturing cost of the design (no margin)"
    if info.price_usd is not None:
        kind = info.raw.get("price", {}).get("kind", "estimate")
        source = info.raw.get("price", {}).get("sources", {}).get("usd", "")
        return info.price_usd, f"published price ({kind}): {source}"
    from explorer.design.reference_designs import reference_design

    try:
        usd = float(manufacturing_cost(reference_design(info.id, tech), tech)["total_usd"])
    except ConfigError as err:
        return float("nan"), f"unknown: no price and no cost model ({err})"
    return usd, "cost model: manufacturing cost (no published price; no margin)"


def economics(
    metrics: Metrics, chip: Chip, info: ChipInfo, tech: Tech, design: Design | None = None
) -> dict[str, Any]:
    """chip_cost_usd, its basis, TCO per chip-hour (and split), cost_usd_per_mtok."""
    capex, basis = chip_capex(info, tech, design)
    server = 0.0 if info.tdp_scope == "system" else None
    tco = tco_per_hour(capex, float(chip.tdp_w), tech.economics, server)
    util = tech.economics.utilisation
    per_mtok = cost_per_mtok(tco["total_usd_per_h"], metrics.tokens_per_s_per_chip, util)
    return {
        "chip_cost_usd": capex,
        "chip_cost_basis": basis,
        "tco_usd_per_hour_per_chip": float(tco["total_usd_per_h"]),
        "tco_split_usd_per_hour": {k: float(v) for k, v in tco.items()},
        "utilisation": float(util),
        "cost_usd_per_mtok": float(per_mtok),
    }
