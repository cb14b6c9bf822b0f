"""The fleet mix as an integer program: replicas per column at least cost.

    minimise   c . x
    subject to A x <= b,   x >= 0 integer (replicas of each column)

A column is one way of serving one tier (a chip type at its operating point, or one
half of a prefill/decode pair); the rows are each tier's demand, each pair's prefill
supply, and the caps (:mod:`explorer.fleet.plan` builds them). Three solutions of the
same problem:

- :func:`solve_integer`: exact, with HiGHS's branch and bound (``scipy.optimize.milp``);
- :func:`solve_relaxed`: the continuous relaxation (x real), a lower bound, with its
  duals: the price of one more token/s of each tier and of each binding cap;
- :func:`brute_force`: enumeration, for checking the other two on small cases.

When the caps cannot all be met, :func:`cap_shortfall` relaxes each cap by an
elastic variable and minimises their sum relative to each cap (phase 1 of the
simplex method): the caps left with a shortfall are the binding ones, by that much.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

DEMAND, COUPLING, CAP = "demand", "coupling", "cap"


@dataclasses.dataclass(frozen=True)
class MixProblem:
    """minimise cost . x s.t. a_ub x <= b_ub, 0 <= x (<= upper), x integer.

    rows: a name per row; kinds: DEMAND, COUPLING or CAP per row.
    """

    cost: np.ndarray
    a_ub: np.ndarray
    b_ub: np.ndarray
    rows: tuple[str, ...]
    kinds: tuple[str, ...]

    def __post_init__(self) -> None:
        n_rows, n_cols = self.a_ub.shape
        if self.cost.shape != (n_cols,) or self.b_ub.shape != (n_rows,):
            raise ValueError("MixProblem: cost, a_ub and b_ub shapes disagree")
        if len(self.rows) != n_rows or len(self.kinds) != n_rows:
            raise ValueError("MixProblem: one name and one kind per row")


@dataclasses.dataclass(frozen=True)
class MixSolution:
    """x: replicas per column (integers from solve_integer); objective: cost . x;
    feasible: False when no x meets every row; duals: d objective / d b per row (from
    solve_relaxed; <= 0 for a binding <= row), else None; optimal: proven optimal."""

    x: np.ndarray
    objective: float
    feasible: bool
    duals: np.ndarray | None = None
    optimal: bool = True  # False: a time limit stopped the search before proof


def _scale(p: MixProblem) -> float:
    return float(np.max(np.abs(p.cost))) or 1.0


def _finite_rows(p: MixProblem) -> np.ndarray:
    return np.isfinite(p.b_ub)


def solve_integer(p: MixProblem, time_limit_s: float = 60.0) -> MixSolution:
    """The least-cost integer mix (HiGHS branch and bound, relative gap 1e-6)."""
    keep = _finite_rows(p)
    n = p.cost.size
    res = milp(
        p.cost / _scale(p),
        integrality=np.ones(n),
        bounds=Bounds(np.zeros(n), np.full(n, np.inf)),
        constraints=LinearConstraint(p.a_ub[keep], -np.inf, p.b_ub[keep]),
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-6},
    )
    if res.x is None:
        return MixSolution(x=np.zeros(n), objective=float("inf"), feasible=False)
    x = np.round(res.x)
    # status 1: the time limit ended the search with a feasible, unproven mix
    return MixSolution(x=x, objective=float(p.cost @ x), feasible=True, optimal=res.status == 0)


def solve_relaxed(p: MixProblem) -> MixSolution:
    """The continuous relaxation (x >= 0 real) and its duals (HiGHS simplex)."""
    keep = _finite_rows(p)
    res = linprog(p.cost, A_ub=p.a_ub[keep], b_ub=p.b_ub[keep], bounds=(0, None), method="highs")
    if res.status != 0:
        return MixSolution(x=np.zeros(p.cost.size), objective=float("inf"), feasible=False)
    duals = np.zeros(len(p.rows))
    duals[keep] = res.ineqlin.marginals
    return MixSolution(x=res.x, objective=float(res.fun), feasible=True, duals=duals)


def brute_force(p: MixProblem, max_replicas: int) -> MixSolution:
    """Enumerate every x in {0..max_replicas}^columns (small cases only)."""
    best = MixSolution(x=np.zeros(p.cost.size), objective=float("inf"), feasible=False)
    for combo in itertools.product(range(max_replicas + 1), repeat=p.cost.size):
        x = np.asarray(combo, dtype=float)
        if np.all(p.a_ub @ x <= p.b_ub + 1e-9) and p.cost @ x < best.objective:
            best = MixSolution(x=x, objective=float(p.cost @ x), feasible=True)
    return best


def cap_shortfall(p: MixProblem) -> dict[str, float]:
    """When the caps cannot all be met: each cap row's least shortfall (in its units),
    from one integer program that may exceed caps by elastic amounts s >= 0 and
    minimises sum(s / cap). Rows that need no excess are left out."""
    keep = _finite_rows(p)
    caps = np.flatnonzero(keep & (np.asarray(p.kinds) == CAP))
    n = p.cost.size
    elastic = np.zeros((len(p.rows), caps.size))
    elastic[caps, np.arange(caps.size)] = -1.0
    a = np.hstack([p.a_ub, elastic])[keep]
    weight = 1.0 / np.maximum(np.abs(p.b_ub[caps]), 1.0)
    # a tiny cost on x breaks ties towards the cheaper way of exceeding the caps
    c = np.concatenate([1e-9 * p.cost / _scale(p), weight])
    res = milp(
        c,
        integrality=np.concatenate([np.ones(n), np.zeros(caps.size)]),
        bounds=Bounds(np.zeros(n + caps.size), np.full(n + caps.size, np.inf)),
        constraints=LinearConstraint(a, -np.inf, p.b_ub[keep]),
        options={"time_limit": 60.0},
    )
    if res.x is None:  # the demand or coupling rows themselves cannot be met
        return {}
    s = res.x[n:]
    return {p.rows[r]: float(v) for r, v in zip(caps, s, strict=True) if v > 1e-6 * abs(p.b_ub[r])}
