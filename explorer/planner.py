"""Choosing a mapping when the user gives none.

All candidate (tp, pp, ep) splits of the replica's chips are evaluated at once with
``vmap``; the best is the feasible one with the lowest TPOT (then TTFT). When none
fits, the one with the most memory slack is returned, flagged as not fitting.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from explorer.hardware import Chip
from explorer.mapping import Mapping, candidate_mappings, make_mapping, stack_mappings
from explorer.perf import Metrics, predict
from explorer.smooth import EXACT, Mode
from explorer.workload import Model, Scenario

PAD = 32


def evaluate_mappings(
    chip: Chip, model: Model, scenario: Scenario, n_chips: int, mode: Mode = EXACT
) -> tuple[list[tuple[int, int, int]], Metrics]:
    """Every candidate mapping of n_chips and its Metrics (leading axis = candidate)."""
    cands = candidate_mappings(model, n_chips)
    # Pad to a multiple of PAD so that one compiled function serves every chip count.
    padded = cands + [cands[0]] * (-len(cands) % PAD)
    metrics = _evaluate(chip, model, scenario, stack_mappings(padded), mode)
    return cands, jax.tree_util.tree_map(lambda x: x[: len(cands)], metrics)


@functools.partial(jax.jit, static_argnames=("model", "mode"))
def _evaluate(chip, model, scenario, mappings, mode):
    return jax.vmap(lambda mp: predict(chip, model, scenario, mp, mode))(mappings)


def choose_mapping(
    chip: Chip, model: Model, scenario: Scenario, n_chips: int
) -> tuple[Mapping, Metrics]:
    """The best feasible mapping of n_chips chips (see module docstring) and its Metrics."""
    cands, metrics = evaluate_mappings(chip, model, scenario, n_chips)
    fits = np.asarray(metrics.fits)
    tpot = np.asarray(metrics.tpot_s)
    ttft = np.asarray(metrics.ttft_s)
    if fits.any():
        order = np.lexsort((ttft, tpot, ~fits))
    else:
        order = np.argsort(-np.asarray(metrics.memory_slack_bytes))
    best = int(order[0])
    tp, pp, ep = cands[best]
    mapping = make_mapping(tp, pp, ep, model)
    return mapping, jax.tree_util.tree_map(lambda x: x[best], metrics)
