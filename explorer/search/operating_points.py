"""Operating points: the throughput-maximising batch and mapping under memory and SLOs.

For a system of ``n_chips`` chips, every replica size n that divides it, every mapping
of n chips and every batch on a grid are evaluated at once (``vmap``); the winner
maximises total output tokens/s = (n_chips / n) x tokens/s per replica among the
points that fit in memory and meet the TTFT and TPOT bounds. This is how MLPerf
Offline (no bounds) and Server/Interactive (p99 TTFT/TPOT bounds, met here by the
mean) are modelled, and what ``explorer predict --batch auto`` does.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from explorer.model.chip import Chip
from explorer.model.mapping import Mapping, candidate_mappings, make_mapping
from explorer.model.perf import Metrics, predict
from explorer.model.smooth import EXACT, Mode
from explorer.model.workload import Model, Scenario

BATCHES = tuple(float(2**i) for i in range(13))  # 1 .. 4096


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
    """The chosen batch, mapping and replica count, and the Metrics there."""

    batch: float
    mapping: Mapping
    replicas: int
    metrics: Metrics
    feasible: bool
    reason: str  # why infeasible ('' when feasible)


@functools.partial(jax.jit, static_argnames=("model", "mode"))
def _grid(chip, model, scenario, tps, pps, eps, batches, mode):
    def one(tp, pp, ep, b):
        sc = dataclasses.replace(
            scenario,
            batch=b,
            prefill_batch=jnp.minimum(scenario.prefill_batch, b),
        )
        return predict(chip, model, sc, Mapping(tp=tp, pp=pp, ep=ep), mode)

    over_batch = jax.vmap(one, in_axes=(None, None, None, 0))
    return jax.vmap(over_batch, in_axes=(0, 0, 0, None))(tps, pps, eps, batches)


def best_operating_point(
    chip: Chip,
    model: Model,
    scenario: Scenario,
    n_chips: int,
    ttft_slo_s: float = np.inf,
    tpot_slo_s: float = np.inf,
    batches: tuple[float, ...] = BATCHES,
    static_prefill: bool = True,
    mode: Mode = EXACT,
) -> OperatingPoint:
    """Max total tokens/s over replica size, mapping and batch (see module docstring).

    static_prefill: prefill_batch follows the batch (static batching); otherwise
    the scenario's prefill_batch (capped at the batch) is kept.
    """
    pb = scenario.batch * 0 + (1e9 if static_prefill else scenario.prefill_batch)
    sc = dataclasses.replace(scenario, prefill_batch=pb)
    cands, m = operating_grid(chip, model, sc, n_chips, batches, mode)
    arr = np.asarray(cands, dtype=float)
    replicas = (n_chips / arr[:, 3])[:, None]
    total = m.tokens_per_s_per_replica * replicas
    fits = m.fits
    # Under continuous batching (no static prefill) a sequence's inter-token time also
    # carries the prefills of the requests that replace finished ones: batch / rate.
    tpot = m.tpot_s if static_prefill else np.asarray(batches)[None, :] / m.tokens_per_s_per_replica
    meets = fits & (m.ttft_s <= ttft_slo_s) & (tpot <= tpot_slo_s)
    if meets.any():
        score, reason = np.where(meets, total, -np.inf), ""
    else:
        reason = why_not(fits, m.ttft_s, tpot, m, ttft_slo_s, tpot_slo_s)
        score = -violation(m, m.ttft_s, tpot, ttft_slo_s, tpot_slo_s)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    tp, pp, ep, n = cands[i]
    metrics = jax.tree_util.tree_map(lambda x: x[i, j], m)
    return OperatingPoint(
        batch=float(batches[j]),
        mapping=make_mapping(tp, pp, ep, model),
        replicas=n_chips // n,
        metrics=metrics,
        feasible=bool(meets.any()),
        reason=reason,
    )


def operating_grid(
    chip: Chip,
    model: Model,
    scenario: Scenario,
    n_chips: int,
    batches: tuple[float, ...] = BATCHES,
    mode: Mode = EXACT,
) -> tuple[list[tuple[int, int, int, int]], Metrics]:
    """Metrics of every (replica size n | n_chips, mapping of n) x batch, evaluated at once.

    Returns the candidates as (tp, pp, ep, n) rows and Metrics as numpy arrays shaped
    (candidates, batches). The prefill batch is the scenario's, capped at each batch.
    """
    cands = []
    for n in range(1, n_chips + 1):
        if n_chips % n == 0:
            cands += [(tp, pp, ep, n) for tp, pp, ep in _safe_candidates(model, n)]
    arr = np.asarray(cands, dtype=float)
    pad = -len(cands) % 32  # a few padded shapes, so few compilations
    arr = np.concatenate([arr, np.repeat(arr[:1], pad, axis=0)])
    m = _grid(chip, model, scenario, arr[:, 0], arr[:, 1], arr[:, 2], jnp.asarray(batches), mode)
    return cands, jax.tree_util.tree_map(lambda x: np.asarray(x)[: len(cands)], m)


def _safe_candidates(model: Model, n: int) -> list[tuple[int, int, int]]:
    try:
        return candidate_mappings(model, n)
    except ValueError:
        return []


def violation(m, ttft, tpot, ttft_slo_s, tpot_slo_s):
    """How far each point is from feasible (0 = feasible), relative units."""
    short = np.maximum(-m.memory_slack_bytes, 0.0) / np.maximum(m.resident_bytes, 1.0)
    late_ttft = np.maximum(ttft / ttft_slo_s - 1.0, 0.0)
    late_tpot = np.maximum(tpot / tpot_slo_s - 1.0, 0.0)
    return short + late_ttft + late_tpot


def why_not(fits, ttft, tpot, m, ttft_slo_s, tpot_slo_s) -> str:
    if not fits.any():
        worst = float(np.max(m.memory_slack_bytes))
        return f"does not fit in memory (best case {-worst / 1e9:.2f} GB per chip short)"
    best_tpot = float(np.min(np.where(fits, tpot, np.inf)))
    best_ttft = float(np.min(np.where(fits, ttft, np.inf)))
    parts = []
    if best_tpot > tpot_slo_s:
        parts.append(f"TPOT bound {tpot_slo_s * 1e3:.3g} ms < best {best_tpot * 1e3:.3g} ms")
    if best_ttft > ttft_slo_s:
        parts.append(f"TTFT bound {ttft_slo_s * 1e3:.3g} ms < best {best_ttft * 1e3:.3g} ms")
    return "; ".join(parts) or "no batch meets both bounds at once"
