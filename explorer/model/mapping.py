"""Mapping: how one model replica is laid over chips.

tp: tensor parallelism inside a pipeline stage (weights and heads split tp ways).
pp: pipeline stages (layers split pp ways; a token traverses every stage).
ep: expert parallelism inside a stage (ep <= tp); MoE layers exchange tokens by two
all-to-alls (dispatch, combine) instead of an all-reduce.
A replica uses tp x pp chips. The fields are float arrays, so candidate mappings
vmap; they are integers in value.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from explorer.model.configio import ConfigError
from explorer.model.workload import Model


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Mapping:
    """Parallelism of one replica (values are integers stored as floats)."""

    tp: jax.Array
    pp: jax.Array
    ep: jax.Array

    @property
    def n_chips(self) -> jax.Array:
        return self.tp * self.pp

    def as_dict(self) -> dict[str, int]:
        return {"tp": int(self.tp), "pp": int(self.pp), "ep": int(self.ep)}


def make_mapping(tp: int = 1, pp: int = 1, ep: int = 1, model: Model | None = None) -> Mapping:
    """Build and check a Mapping (ConfigError names the bad field)."""
    for name, value in (("tp", tp), ("pp", pp), ("ep", ep)):
        if int(value) != value or value < 1:
            raise ConfigError(f"mapping: '{name}' must be a positive integer, got {value!r}")
    if ep > tp:
        raise ConfigError(f"mapping: 'ep' ({ep}) must not exceed 'tp' ({tp})")
    if model is not None:
        if pp > model.n_layers:
            raise ConfigError(
                f"mapping: 'pp' ({pp}) exceeds the {model.n_layers} layers of {model.id}"
            )
        if ep > 1 and not model.is_moe:
            raise ConfigError(f"mapping: 'ep' > 1 needs an MoE model; {model.id} is dense")
        if ep > 1 and model.n_experts % ep:
            raise ConfigError(
                f"mapping: 'ep' ({ep}) must divide the {model.n_experts} experts of {model.id}"
            )
    f = lambda x: jnp.asarray(float(x))  # noqa: E731
    return Mapping(tp=f(tp), pp=f(pp), ep=f(ep))


def candidate_mappings(model: Model, n_chips: int) -> list[tuple[int, int, int]]:
    """All (tp, pp, ep) with tp * pp = n_chips that make sense for ``model``.

    tp divides the attention heads (serving stacks do not split a head across chips);
    only when no such split of n_chips exists (e.g. 568 chips for 32 heads and 32
    layers, a dataflow compiler's layout) are the other tp values allowed. pp <=
    n_layers; ep in {1, tp} for MoE models when tp divides the experts.
    """
    whole = _splits(model, n_chips, heads_whole=True)
    return whole or _splits(model, n_chips, heads_whole=False)  # tp = n_chips always fits


def _splits(model: Model, n_chips: int, heads_whole: bool) -> list[tuple[int, int, int]]:
    out = []
    for tp in range(1, n_chips + 1):
        if n_chips % tp or (heads_whole and model.n_heads % tp):
            continue
        pp = n_chips // tp
        if pp > model.n_layers:
            continue
        out.append((tp, pp, 1))
        if model.is_moe and tp > 1 and model.n_experts % tp == 0:
            out.append((tp, pp, tp))
    return out


def stack_mappings(cands: list[tuple[int, int, int]]) -> Mapping:
    """Candidates as one Mapping with a leading axis (for vmap)."""
    arr = jnp.asarray(cands, dtype=float)
    return Mapping(tp=arr[:, 0], pp=arr[:, 1], ep=arr[:, 2])
