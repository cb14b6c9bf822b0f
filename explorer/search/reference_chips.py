"""The reference chips a design is compared with: each at the fewest chips that hold a
model (``explorer compare``), at x1, x2 and x4 of that count (the points beside a Pareto
front), and the cheapest configuration that meets a design's latency targets."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.design.economics import economics
from explorer.design.tech import Tech, load_tech
from explorer.model import units
from explorer.model.chip import ChipInfo
from explorer.model.chip_config import load_chip, load_chip_info
from explorer.model.configio import list_ids
from explorer.model.mapping import Mapping
from explorer.model.perf import Metrics
from explorer.model.workload import Model, Scenario
from explorer.search.design_search import CHIP_COUNTS, Targets
from explorer.search.mapping_choice import choose_mapping, min_chips

COMPARE_CHIPS = (
    "a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "gb200", "mi300x", "mi325x", "mi355x",
    "tpu-v5e", "tpu-v6e", "gaudi3", "sn40l", "wse-3", "groq-lpu",
)  # fmt: skip


def fewest_chips(model: Model, scenario: Scenario) -> list[tuple[ChipInfo, Mapping, Metrics]]:
    """Each reference chip with a config, at the fewest chips (2^a 3^b) that hold the
    model, with its best mapping (:func:`~explorer.search.mapping_choice.min_chips`)."""
    rows = []
    for chip_id in COMPARE_CHIPS:
        if chip_id not in list_ids("chips"):
            continue
        chip, info = load_chip(chip_id), load_chip_info(chip_id)
        n, mapping, metrics = min_chips(chip, model, scenario)
        rows.append((info, mapping, metrics))
    return rows


def front_points(
    model: Model, scenario: Scenario, tech: Tech, objective: str
) -> dict[str, list[dict[str, float]]]:
    """Each reference chip at x1, x2 and x4 the fewest chips that hold the model: chips,
    TPOT [ms] and the objective (cost per Mtok for "tco_per_mtok" where the chip has a
    price, else None), for the configurations that fit."""
    refs: dict[str, list[dict[str, float]]] = {}
    for cid in COMPARE_CHIPS:
        chip, info = load_chip(cid), load_chip_info(cid)
        n0, _, _ = min_chips(chip, model, scenario)
        for n in sorted({n0, 2 * n0, 4 * n0}):
            mapping, m = choose_mapping(chip, model, scenario, n)
            if not bool(m.fits):
                continue
            econ = economics(m, chip, info, tech)
            value = econ["cost_usd_per_mtok"] if objective == "tco_per_mtok" else None
            value = value if value is not None and np.isfinite(value) else None  # no price
            refs.setdefault(cid, []).append(
                {"chips": n, "tpot_ms": float(m.tpot_s) * 1e3, "objective": value}
            )
    return refs


def cheapest_reference(
    model: Model, scenario: Scenario, targets: Targets, chip_ids: tuple[str, ...]
) -> dict[str, Any] | None:
    """The reference chip configuration (chip, count, mapping) with the least cost per
    million tokens that meets the same TPOT/TTFT targets at the same batch."""
    tech = load_tech()
    best = None
    for cid in chip_ids:
        chip, info = load_chip(cid), load_chip_info(cid)
        for n in (*CHIP_COUNTS, 128, 256, 576):
            mapping, m = choose_mapping(chip, model, scenario, n)
            meets = bool(m.fits) and float(m.tpot_s) <= targets.tpot_s
            meets = meets and float(m.ttft_s) <= targets.ttft_s
            if not meets:
                continue
            econ = economics(m, chip, info, tech)
            row = {
                "chip": cid,
                "chips": n,
                "mapping": mapping.as_dict(),
                "tpot_ms": float(m.tpot_s) / units.MS,
                "ttft_ms": float(m.ttft_s) / units.MS,
                "cost_usd_per_mtok": econ["cost_usd_per_mtok"],
                "chip_cost_basis": econ["chip_cost_basis"],
            }
            if best is None or row["cost_usd_per_mtok"] < best["cost_usd_per_mtok"]:
                best = row
            break  # fewest chips that meet the targets for this chip
    return best
