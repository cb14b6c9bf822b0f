"""The efficiency knobs of a chip family: defaults (configs/efficiency.toml), fitted
(configs/calibration.toml, per family and per software stack), and their provenance.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from explorer.model.chip import Chip, ChipInfo, efficiency_fields
from explorer.model.configio import (
    CONFIG_DIR,
    ConfigError,
    Field,
    check_table,
    read_toml,
)
from explorer.model.stacks import blend, chip_weights, stack_counts

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
    half-way to the stacks that measured it up to ``year``: explorer.model.stacks), else
    the defaults of configs/efficiency.toml."""
    path = CONFIG_DIR / "calibration.toml"
    if calibrated and path.exists():
        fitted = read_toml(path).get("family", {})
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


def own_stack_weights(family: str, chip_id: str | None, year: int | None = None):
    """{stack: w_s} of the fitted stacks of ``family`` that measured ``chip_id`` up to
    ``year`` (explorer.model.stacks.chip_weights); empty for no chip or no such stack."""
    path = CONFIG_DIR / "calibration.toml"
    if chip_id is None or not path.exists():
        return {}
    stacks = read_toml(path).get("stack", {})
    return chip_weights(stack_counts(stacks, family, chip_id), chip_id, year)


def knob_provenance(
    info: ChipInfo, calibrated: bool = True, stack: str | None = None, year: int | None = None
) -> dict:
    """Where a chip's efficiency knobs come from, for predict's confidence label.

    Returns {"knobs": "calibrated" (measured points of this chip were fitted) |
    "family default" (fitted on other chips of its family, or the family's defaults of
    configs/efficiency.toml when it has no fitted points), "table": the table used,
    "stack": its stack(s), "own_stacks": {stack: w_s} blended half-way into the family
    centre for this chip (explorer.model.stacks), "points": fitted points,
    "points_on_chip": of this chip}.
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


def with_stack(chip: Chip, info: ChipInfo, stack: str) -> Chip:
    """The chip with the efficiency knobs fitted for ``stack`` (e.g. "vllm-2024") instead of
    its family's main stack."""
    return dataclasses.replace(chip, **efficiency_fields(stack_efficiency(info.family, stack)))
