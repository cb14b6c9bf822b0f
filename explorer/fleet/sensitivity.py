"""How the relaxed fleet cost moves with a chip's parameters: a gradient through the model.

The continuous relaxation V(theta) = min c . x s.t. A(theta) x <= b depends on a chip's
parameters theta through the rates in A: the output tokens/s (or prompts/s) of each
column at its operating point (replica size, mapping and batch held fixed). Prices and
TDPs are datasheet facts, so c and the power rows do not move. At the relaxation's
optimum x* with marginals m = dV/db (envelope theorem; the optimal basis does not change
under a small enough step):

    dV/dtheta = - m . (dA/dtheta) x* = sum_j x*_j w_j dr_j/dtheta

    w_j = m_demand(t)                   serving column (its rate is in its tier's demand row)
        = m_demand(t) - m_pair / O_t    decode column of a pair (demand and prefill supply)
        = m_pair                        prefill column of a pair

and dr_j/dtheta is ``jax.grad`` of the model (:func:`column_rate`). This is what makes
the relaxation differentiable in a chip's parameters; ``tests/test_fleet.py`` checks it
against finite differences of re-solved relaxations.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from explorer.fleet.plan import DECODE, PREFILL, Column, FleetPlan, column_metrics
from explorer.fleet.scenario import Tier
from explorer.model.chip import Chip
from explorer.model.smooth import EXACT, Mode
from explorer.model.workload import Model, load_model


def column_rate(chip: Chip, model: Model, tier: Tier, c: Column, mode: Mode = EXACT):
    """The column's rate on ``chip`` at its fixed operating point (a JAX scalar):
    output tokens/s per replica (serving, decode) or prompts/s (prefill), as
    :mod:`explorer.fleet.plan` defines them."""
    m = column_metrics(chip, model, tier, c, mode)
    if c.role == PREFILL:
        return c.batch / m.ttft_s
    if c.role == DECODE:
        return c.batch / m.tpot_s
    return m.tokens_per_s_per_replica


def weights(plan: FleetPlan) -> np.ndarray:
    """w_j of the module docstring, from the relaxation's marginals."""
    p, m = plan.problem, plan.relaxed.duals
    row = {name: i for i, name in enumerate(p.rows)}
    tiers = {t.id: t for t in plan.scenario.tiers}
    w = np.zeros(len(plan.columns))
    for j, c in enumerate(plan.columns):
        demand = m[row[f"demand {c.tier}"]]
        pair = m[row[f"prefill supply {c.tier} {c.pair}"]] if c.pair else 0.0
        if c.role == PREFILL:
            w[j] = pair
        elif c.role == DECODE:
            w[j] = demand - pair / tiers[c.tier].output_tokens
        else:
            w[j] = demand
    return w


def gradient(plan: FleetPlan, option: str) -> Chip:
    """dV/d(every field of ``option``'s chip), V the relaxed fleet objective."""
    offer = next(o for o in plan.offers if o.name == option)
    tiers = {t.id: t for t in plan.scenario.tiers}
    w, x = weights(plan), plan.relaxed.x
    used = [j for j, c in enumerate(plan.columns) if c.option == option and x[j] > 0]

    def value(chip: Chip) -> jax.Array:
        total = jnp.asarray(0.0)
        for j in used:
            c = plan.columns[j]
            rate = column_rate(chip, load_model(tiers[c.tier].model), tiers[c.tier], c)
            total = total + x[j] * w[j] * rate
        return total

    return jax.grad(value)(offer.chip)
