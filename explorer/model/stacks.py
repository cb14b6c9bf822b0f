"""The knobs a chip gets by default: its family's centre, half-way to its own stacks.

configs/calibration.toml holds, per chip family, a centre ([family.X], fitted over all
its stacks) and one table per software stack ([stack."X/name-YYYY"]) that records how
many of its points were measured on each chip (``chips``). A user asking about chip c
at year y (None: any year) gets

    knobs = (1 - OWN_SHARE) x centre + OWN_SHARE x sum_s w_s x knobs_s,
    w_s = points of stack s on c / points of all such stacks on c,

over the stacks s of c's family dated y or earlier that measured c; a chip no stack
measured gets the centre. Under leave-one-source-out (docs/results.md, "default
knobs") this beat a single matching stack (28.8% median APE) and the chip's own
stacks alone (25.4%), and tied the bare centre (23.2%) with a lower p90 and half the
error on the SRAM-heavy sources. Pure functions; reading the file is the loader's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OWN_SHARE = 0.5  # weight of the chip's own stacks against the family centre


def stack_year(name: str) -> int:
    """The year a stack name ends with ("vllm-mlperf-2024" -> 2024)."""
    tail = name.rsplit("-", 1)[-1]
    if not tail.isdigit():
        raise ValueError(f"stack name '{name}' does not end with a year (-YYYY)")
    return int(tail)


def chip_weights(
    counts: Mapping[str, int], chip_id: str, year: int | None = None
) -> dict[str, float]:
    """w_s of the stacks that measured ``chip_id``, dated ``year`` or earlier.

    counts: points on this chip per stack name (one family's stacks); stacks with
    none, or dated after ``year``, get no weight. Empty when none is left.
    """
    own = {
        name: float(n)
        for name, n in counts.items()
        if n > 0 and (year is None or stack_year(name) <= year)
    }
    total = sum(own.values())
    return {name: n / total for name, n in own.items()}


def blend(centre: Any, rows: Mapping[str, Any], weights: Mapping[str, float]) -> Any:
    """(1 - OWN_SHARE) x centre + OWN_SHARE x sum_s w_s x rows[s]; the centre alone
    when ``weights`` is empty. Works on arrays and on dicts of numbers (key by key)."""
    if not weights:
        return centre
    if isinstance(centre, Mapping):
        return {
            key: blend(value, {s: rows[s][key] for s in weights}, weights)
            for key, value in centre.items()
        }
    own = sum(w * rows[s] for s, w in weights.items())
    return (1.0 - OWN_SHARE) * centre + OWN_SHARE * own


def stack_counts(stacks: Mapping[str, Mapping[str, Any]], family: str, chip_id: str):
    """Points on ``chip_id`` per stack name of ``family``, from the [stack] tables of
    configs/calibration.toml (keyed "family/stack", each with ``chips``)."""
    return {
        key.split("/", 1)[1]: int(dict(table.get("chips", {})).get(chip_id, 0))
        for key, table in stacks.items()
        if key.split("/", 1)[0] == family
    }
