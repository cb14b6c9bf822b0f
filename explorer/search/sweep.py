"""Sweeps: one chip parameter over many values with ``vmap``, and its gradient.

A chip field (or one element of a vector field, e.g. tier 0 of
``mem_capacity_bytes``) is set to each value in turn; the model is evaluated for all
values at once. ``sweep_grad`` also returns d metric / d field at each value.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from explorer.model.chip import Chip
from explorer.model.mapping import Mapping
from explorer.model.perf import Metrics, predict
from explorer.model.smooth import EXACT, Mode
from explorer.model.workload import Model, Scenario


def with_value(chip: Chip, field: str, value: jax.Array, index: int | None = None) -> Chip:
    """``chip`` with ``field`` (or ``field[index]``) set to ``value``."""
    old = getattr(chip, field)
    new = value if index is None else jnp.asarray(old).at[index].set(value)
    return chip.replace(**{field: new})


def sweep(
    chip: Chip,
    model: Model,
    scenario: Scenario,
    mapping: Mapping,
    field: str,
    values: Any,
    index: int | None = None,
    mode: Mode = EXACT,
) -> Metrics:
    """Metrics at every value of one chip field (leading axis = value)."""
    return jax.vmap(_at(chip, model, scenario, mapping, field, index, mode))(jnp.asarray(values))


def sweep_grad(
    chip: Chip,
    model: Model,
    scenario: Scenario,
    mapping: Mapping,
    field: str,
    values: Any,
    index: int | None = None,
    metric: str = "tpot_s",
    mode: Mode = EXACT,
) -> tuple[jax.Array, jax.Array]:
    """(metric, d metric / d field) at every value of one chip field."""

    at = _at(chip, model, scenario, mapping, field, index, mode)
    return jax.vmap(jax.value_and_grad(lambda v: getattr(at(v), metric)))(jnp.asarray(values))


def _at(chip, model, scenario, mapping, field, index, mode):
    """v -> Metrics with the chip's ``field`` (or ``field[index]``) set to v."""
    return lambda v: predict(with_value(chip, field, v, index), model, scenario, mapping, mode)
