"""Choosing a mapping when the user gives none.

All candidate (tp, pp, ep) splits of the replica's chips are evaluated at once with
``vmap``; the best is the feasible one with the lowest TPOT (then TTFT). When none
fits, the one with the most memory slack is returned, flagged as not fitting.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from explorer.model.chip import Chip
from explorer.model.configio import ConfigError
from explorer.model.mapping import Mapping, candidate_mappings, make_mapping, stack_mappings
from explorer.model.perf import Metrics, predict
from explorer.model.smooth import EXACT, Mode
from explorer.model.workload import PRECISION_BYTES, Model, Scenario

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


def complete_split(
    chips: int, tp: int | None, pp: int | None, ep: int | None
) -> tuple[int, int, int]:
    """(tp, pp, ep) of a replica of ``chips`` chips from the parts a user gave: a missing
    tp or pp takes the rest of the chips (at least 1), a missing ep is 1."""
    tp_, pp_, ep_ = tp or 1, pp or 1, ep or 1
    if tp is None and pp is not None:
        tp_ = max(chips // pp_, 1)
    if pp is None:
        pp_ = max(chips // tp_, 1)
    return tp_, pp_, ep_


def chip_counts(lower: float, limit: int) -> list[int]:
    """Replica sizes to try, ascending: numbers 2^a 3^b (1, 2, 3, 4, 6, 8, ..., 576, ...)
    from ``lower`` up to ``limit`` — the sizes servers and pods are built in."""
    counts = {2**a * 3**b for a in range(13) for b in range(8)}
    return sorted(n for n in counts if lower <= n <= limit)


def min_chips(
    chip: Chip, model: Model, scenario: Scenario, limit: int = 4096
) -> tuple[int, Mapping, Metrics]:
    """Fewest chips per replica (a 2^a 3^b count) whose best mapping holds the model.

    The model must fit in SRAM and main memory (tiers 0-1); a slow capacity tier (DDR)
    is used only if nothing else fits by ``limit``. Returns (chips, Mapping, Metrics);
    if nothing fits at all, the largest count tried, flagged as not fitting.
    """
    cap = np.asarray(chip.mem_capacity_bytes)
    fast = float(cap[0] + cap[1])
    weights = model.total_params * PRECISION_BYTES[scenario.weight_precision]
    lower = max(1.0, weights / max(float(np.sum(cap)), 1.0))
    first_fit = None
    last = None
    for n in chip_counts(np.floor(lower), limit):
        mapping, metrics = choose_mapping(chip, model, scenario, n)
        last = (n, mapping, metrics)
        if bool(metrics.fits) and float(metrics.resident_bytes) <= fast:
            return last
        if bool(metrics.fits) and first_fit is None:
            first_fit = last
    if last is None:
        raise ConfigError(f"min_chips: no chip count between {lower:.0f} and {limit}")
    return first_fit or last
