"""Fleet scenarios: demand tiers, a catalogue of chip options and caps, from TOML.

A scenario file (``configs/scenarios/<id>.toml`` or any path)::

    id = "frontier-2026"
    objective = "tco"              # tco | power | chips
    power_cap_mw = 300.0           # optional: IT power of the whole fleet
    disaggregation = true          # optional: allow prefill on one chip, decode on another
    design_markup = 1.5            # optional: price of a designed chip / its manufacturing cost
    [sources]
    power_cap_mw = "..."

    [[tier]]                       # one per demand tier
    id = "premium-70b"
    model = "llama-3.1-70b"
    precision = "fp8"
    output_tokens_per_s = 1.0e7    # output tokens per second the tier must sustain
    prompt_tokens = 2048
    output_tokens = 512
    ttft_slo_ms = 500.0
    tpot_slo_ms = 2.0
    [tier.sources]
    output_tokens_per_s = "..."

    [[option]]                     # one per chip type on offer
    chip = "b200"                  # a built-in chip id, or design = "path.toml"
    max_units = 50000              # optional: chips of this type available
    max_mw = 100.0                 # optional: IT power of this type
    price_usd = 35000.0            # optional: overrides the chip's configured price
    [option.sources]
    max_units = "..."

    [economics]                    # optional: overrides of configs/cost.toml [economics]
    electricity_usd_per_kwh = 0.05 # also pue, depreciation_years, facility_usd_per_w,
    [economics.sources]            # utilisation, server_network_usd_per_chip
    electricity_usd_per_kwh = "..."

Design paths are relative to the scenario file. SLOs, prompt and output lengths are
the buyer's choices and need no source; demand, caps and prices do.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from explorer.model import units
from explorer.model.chip import PRECISIONS
from explorer.model.configio import CONFIG_DIR, ConfigError, Field, check_table, list_ids, read_toml

OBJECTIVES = ("tco", "power", "chips")

_TOP = {
    "id": Field(str),
    "description": Field(str, required=False),
    "objective": Field(str, required=False, choices=OBJECTIVES),
    "power_cap_mw": Field(float, required=False, positive=True),
    "disaggregation": Field(bool, required=False),
    "design_markup": Field(float, required=False, positive=True),
    "economics": Field(dict, required=False),
    "tier": Field(list),
    "option": Field(list),
}
_TIER = {
    "id": Field(str),
    "model": Field(str),
    "precision": Field(str, required=False, choices=PRECISIONS),
    "output_tokens_per_s": Field(float, positive=True),
    "prompt_tokens": Field(float, minimum=1.0, sourced=False),
    "output_tokens": Field(float, minimum=1.0, sourced=False),
    "ttft_slo_ms": Field(float, positive=True, sourced=False),
    "tpot_slo_ms": Field(float, positive=True, sourced=False),
}
# TCO constants a scenario may override (configs/cost.toml [economics]): key -> (field of
# explorer.design.tech.Economics, factor to SI)
_ECONOMICS = {
    "electricity_usd_per_kwh": ("electricity_usd_per_j", 1.0 / units.KWH),
    "pue": ("pue", 1.0),
    "depreciation_years": ("depreciation_s", units.YEAR),
    "facility_usd_per_w": ("facility_usd_per_w", 1.0),
    "utilisation": ("utilisation", 1.0),
    "server_network_usd_per_chip": ("server_network_usd_per_chip", 1.0),
}
_OPTION = {
    "chip": Field(str, required=False),
    "design": Field(str, required=False),
    "name": Field(str, required=False),
    "max_units": Field(float, required=False, minimum=0.0),
    "max_mw": Field(float, required=False, minimum=0.0),
    "price_usd": Field(float, required=False, positive=True),
}


@dataclasses.dataclass(frozen=True)
class Tier:
    """One demand tier: a model served at a speed, in SI units."""

    id: str
    model: str
    precision: str
    demand_tokens_per_s: float  # output tokens/s the tier must sustain
    prompt_tokens: float
    output_tokens: float
    ttft_slo_s: float
    tpot_slo_s: float


@dataclasses.dataclass(frozen=True)
class Option:
    """One chip type on offer. ``chip`` is a built-in id; ``design`` a design file."""

    name: str
    chip: str | None = None
    design: Path | None = None
    max_units: float = float("inf")
    max_w: float = float("inf")
    price_usd: float | None = None


@dataclasses.dataclass(frozen=True)
class FleetScenario:
    id: str
    description: str
    objective: str
    power_cap_w: float
    disaggregation: bool
    design_markup: float  # a designed chip's price over its manufacturing cost
    economics: dict[str, float]  # Economics fields (SI) that override configs/cost.toml
    tiers: tuple[Tier, ...]
    options: tuple[Option, ...]


def parse_scenario(data: dict[str, Any], where: str, base: Path | None = None) -> FleetScenario:
    """A FleetScenario from a scenario file's contents (ConfigError on bad input)."""
    sourced = "power_cap_mw" in data or "design_markup" in data
    check_table(data, _TOP, where, need_sources=sourced)
    tiers = tuple(_tier(t, f"{where}: tier[{i}]") for i, t in enumerate(data["tier"]))
    options = tuple(_option(o, f"{where}: option[{i}]", base) for i, o in enumerate(data["option"]))
    for kind, items in (("tier", tiers), ("option", options)):
        if not items:
            raise ConfigError(f"{where}: needs at least one [[{kind}]]")
        names = [x.id if kind == "tier" else x.name for x in items]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(f"{where}: {kind} '{sorted(dup)[0]}' appears twice")
    cap = data.get("power_cap_mw")
    return FleetScenario(
        id=data["id"],
        description=data.get("description", ""),
        objective=data.get("objective", "tco"),
        power_cap_w=float("inf") if cap is None else cap * units.MEGA,
        disaggregation=data.get("disaggregation", False),
        design_markup=float(data.get("design_markup", 1.0)),
        economics=_economics(data.get("economics"), f"{where}: economics"),
        tiers=tiers,
        options=options,
    )


def _economics(table: Any, where: str) -> dict[str, float]:
    if table is None:
        return {}
    schema = {k: Field(float, positive=True) for k in _ECONOMICS}
    schema = {k: dataclasses.replace(f, required=False) for k, f in schema.items()}
    check_table(table, schema, where)
    if table.get("utilisation", 0.5) > 1.0:
        raise ConfigError(f"{where}: key 'utilisation' must be <= 1, got {table['utilisation']!r}")
    return {_ECONOMICS[k][0]: v * _ECONOMICS[k][1] for k, v in table.items() if k != "sources"}


def _tier(t: Any, where: str) -> Tier:
    check_table(t, _TIER, where)
    if t["model"] not in list_ids("models"):
        raise ConfigError(f"{where}: unknown model id '{t['model']}' (see `explorer models`)")
    return Tier(
        id=t["id"],
        model=t["model"],
        precision=t.get("precision", "bf16"),
        demand_tokens_per_s=float(t["output_tokens_per_s"]),
        prompt_tokens=float(t["prompt_tokens"]),
        output_tokens=float(t["output_tokens"]),
        ttft_slo_s=t["ttft_slo_ms"] * units.MS,
        tpot_slo_s=t["tpot_slo_ms"] * units.MS,
    )


def _option(o: Any, where: str, base: Path | None) -> Option:
    check_table(o, _OPTION, where, need_sources=any(k in o for k in _NEED_SOURCE))
    if ("chip" in o) == ("design" in o):
        raise ConfigError(f"{where}: give exactly one of 'chip' (an id) or 'design' (a file)")
    design = None
    if "chip" in o and o["chip"] not in list_ids("chips"):
        raise ConfigError(f"{where}: unknown chip id '{o['chip']}' (see `explorer chips`)")
    if "design" in o:
        design = Path(o["design"])
        design = design if design.is_absolute() or base is None else base / design
        if not design.exists():
            raise ConfigError(f"{where}: design file '{o['design']}' not found")
    mw = o.get("max_mw")
    return Option(
        name=o.get("name") or o.get("chip") or design.stem,
        chip=o.get("chip"),
        design=design,
        max_units=float(o.get("max_units", float("inf"))),
        max_w=float("inf") if mw is None else mw * units.MEGA,
        price_usd=o.get("price_usd"),
    )


_NEED_SOURCE = ("max_units", "max_mw", "price_usd")


def load_scenario(name_or_path: str) -> FleetScenario:
    """A built-in scenario id (configs/scenarios/) or a path to a scenario file."""
    path = Path(name_or_path)
    if not path.suffix:
        known = list_ids("scenarios")
        if name_or_path not in known:
            raise ConfigError(
                f"unknown scenario '{name_or_path}' (built-in: {', '.join(known)}; "
                "or give a path to a .toml file)"
            )
        path = CONFIG_DIR / "scenarios" / f"{name_or_path}.toml"
    return parse_scenario(read_toml(path), str(path), path.parent)
