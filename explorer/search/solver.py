"""Constrained minimisation with Optax: bounded positive parameters, augmented Lagrangian.

One entry point, in the spirit of ``optimistix.minimise``::

    result = minimise(objective, constraints, y0, args, lower=..., upper=...)

``objective(y, args) -> scalar`` and ``constraints(y, args) -> dict[name, slack]``
(slack >= 0 means satisfied; scale each to order one, e.g. 1 - value / limit) take a
pytree ``y`` of positive parameters and fixed ``args``.

Method:
* Bounds and positivity by reparametrisation: y = exp(log lo + (log hi - log lo)
  sigmoid(u)), so every iterate is inside [lo, hi] and steps are relative changes.
* Inequality constraints by the augmented Lagrangian of Rockafellar (1973) /
  Nocedal & Wright (2006, section 17.4):
      L(u; lam, rho) = f + sum_i [max(0, lam_i - rho g_i)^2 - lam_i^2] / (2 rho)
      lam_i <- max(0, lam_i - rho g_i),  rho <- growth x rho   (outer loop)
* Inner loop: any ``optax.GradientTransformation`` (default Adam, learning rate
  0.05 decaying to 0.0025 within each inner loop: its per-coordinate normalisation
  suits parameters in logit space whose gradients differ by orders of magnitude, and
  the decay lets iterates settle on an active constraint), run with ``lax.scan``; the
  outer loop is a ``lax.scan`` too, so a whole solve is one compiled function, and
  ``vmap`` runs many starts at once.
* The answer is the best feasible start (max violation <= tol) with the lowest
  objective; if none is feasible, the total squared violation alone is minimised from
  every start and the least-violating point is returned, flagged infeasible, with the
  binding constraint named and by how much.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

PyTree = Any


@dataclasses.dataclass(frozen=True)
class Result:
    """Outcome of :func:`minimise` (numpy values, exact re-evaluation included)."""

    params: PyTree
    objective: float
    constraints: dict[str, float]
    feasible: bool
    binding: str  # most violated (infeasible) or tightest (feasible) constraint
    violation: float  # max(0, -min slack)
    history: np.ndarray  # objective after each outer iteration, best start
    iterations: int  # inner steps in total
    starts: int


def _to_y(u, log_lo, log_hi):
    return jax.tree_util.tree_map(
        lambda a, lo, hi: jnp.exp(lo + (hi - lo) * jax.nn.sigmoid(a)), u, log_lo, log_hi
    )


def _to_u(y, log_lo, log_hi):
    def inv(v, lo, hi):
        frac = jnp.clip((jnp.log(v) - lo) / (hi - lo), 1e-6, 1 - 1e-6)
        return jnp.log(frac / (1 - frac))

    return jax.tree_util.tree_map(inv, y, log_lo, log_hi)


def _slacks(constraints, y, args) -> jax.Array:
    values = constraints(y, args)
    return jnp.stack([jnp.asarray(values[k], dtype=float) for k in sorted(values)])


@functools.lru_cache(maxsize=16)
def _default_optimizer(steps: int) -> optax.GradientTransformation:
    """Adam, learning rate 0.05 decaying to 0.0025 over an inner loop (one object per
    ``steps``, so compiled solves can be reused)."""
    return optax.adam(optax.exponential_decay(0.05, steps, 0.05))


def _bounds_key(lower: PyTree, upper: PyTree) -> tuple:
    """A hashable form of the bounds (tree structure and float leaves)."""
    lo, tree = jax.tree_util.tree_flatten(lower)
    hi, tree_hi = jax.tree_util.tree_flatten(upper)
    if tree != tree_hi:
        raise ValueError("minimise: lower and upper must have the same structure")
    return tree, tuple(float(x) for x in lo), tuple(float(x) for x in hi)


def _log_bounds(bounds: tuple) -> tuple[PyTree, PyTree]:
    tree, lo, hi = bounds
    return (
        jax.tree_util.tree_unflatten(tree, [jnp.log(x) for x in lo]),
        jax.tree_util.tree_unflatten(tree, [jnp.log(x) for x in hi]),
    )


@functools.lru_cache(maxsize=64)
def _compiled_solve(objective, constraints, opt, steps, outer, rho0, growth, bounds, n_cons,
                    batched):  # fmt: skip
    """The jitted, vmapped augmented-Lagrangian solve of one problem structure.

    Cached on the (hashable) functions and settings, so a repeated minimise of the same
    objective and constraints reuses the compiled program; everything that changes
    between calls of one structure must travel in ``args``.
    """
    log_lo, log_hi = _log_bounds(bounds)

    def lagrangian(u, lam, rho, args):
        y = _to_y(u, log_lo, log_hi)
        g = _slacks(constraints, y, args)
        shifted = jnp.maximum(0.0, lam - rho * g)
        return objective(y, args) + jnp.sum(shifted**2 - lam**2) / (2.0 * rho)

    def solve(u, args):
        def outer_step(carry, _):
            u, lam, rho = carry

            def inner(c, _):
                u, state = c
                grad = jax.grad(lagrangian)(u, lam, rho, args)
                updates, state = opt.update(grad, state, u)
                return (optax.apply_updates(u, updates), state), None

            (u, _), _ = jax.lax.scan(inner, (u, opt.init(u)), None, length=steps)
            y = _to_y(u, log_lo, log_hi)
            g = _slacks(constraints, y, args)
            lam = jnp.maximum(0.0, lam - rho * g)
            return (u, lam, rho * growth), objective(y, args)

        init = (u, jnp.zeros(n_cons), jnp.asarray(rho0, dtype=float))
        (u, lam, _), history = jax.lax.scan(outer_step, init, None, length=outer)
        return u, history

    return jax.jit(jax.vmap(solve, in_axes=(0, 0 if batched else None)))


@functools.lru_cache(maxsize=64)
def _compiled_judge(judge):
    """judge(y, args) -> (objective, constraints), jitted and vmapped over (y, args)."""
    return jax.jit(jax.vmap(judge))


@functools.lru_cache(maxsize=64)
def _judges(objective, constraints):
    def judge(y, a):
        return objective(y, a), constraints(y, a)

    return judge


def minimise(
    objective: Callable[[PyTree, Any], jax.Array],
    constraints: Callable[[PyTree, Any], dict[str, jax.Array]],
    y0: PyTree,
    args: Any,
    *,
    lower: PyTree,
    upper: PyTree,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 200,
    outer: int = 10,
    rho0: float = 10.0,
    growth: float = 1.0,
    tol: float = 1e-3,
    starts: int = 1,
    key: jax.Array | None = None,
    exact: Callable[[PyTree, Any], tuple[jax.Array, dict[str, jax.Array]]] | None = None,
    closest: bool = False,
    batched_args: bool = False,
    groups: np.ndarray | None = None,
) -> Result | dict[int, Result]:
    """Minimise objective(y, args) s.t. constraints(y, args)[k] >= 0, lower <= y <= upper.

    Args:
      objective, constraints: pure JAX functions of (y, args) (smooth for gradients).
      y0: starting point (a pytree of positive arrays); with ``starts`` > 1, further
        starts are drawn log-uniformly inside the bounds (``key``, default PRNGKey(0)).
      lower, upper: positive bounds, pytrees shaped like y0.
      optimizer: an optax.GradientTransformation (default Adam with a learning rate
        decaying from 0.05 to 0.0025 over each inner loop, so iterates settle).
      steps, outer: inner steps per outer iteration, and outer iterations.
      rho0, growth: initial penalty and its growth per outer iteration (default 1:
        the multiplier update alone converges, and a growing penalty makes the inner
        problem stiff).
      tol: largest violation (in slack units) that still counts as feasible.
      exact: optional (y, args) -> (objective, constraints) used to re-evaluate and
        judge the answer exactly (e.g. the model in exact mode); default: the smooth
        functions themselves.
      closest: internal; set when minimising the violation of an infeasible problem.
      batched_args: ``args`` carries a leading axis of K discrete candidates (e.g.
        chip counts and mappings); every candidate is solved from every start, all at
        once under vmap, and the best feasible (candidate, start) wins.
        ``Result.params`` then includes the winning candidate's index as
        ``params["_candidate"]``.
      groups: with batched_args, a group id per candidate (e.g. the index of a latency
        target); the best (candidate, start) of each group is returned, as a dict
        group -> Result, all groups solved in the same vmapped run (infeasible groups
        report their least-violating end point, without a second phase).
    Returns:
      Result with the exact re-evaluation of the best start.
    """
    opt = optimizer or _default_optimizer(steps)
    bounds = _bounds_key(lower, upper)
    log_lo, log_hi = _log_bounds(bounds)
    u0 = _to_u(y0, log_lo, log_hi)
    if starts > 1:
        key = jax.random.PRNGKey(0) if key is None else key
        leaves, tree = jax.tree_util.tree_flatten(u0)
        keys = jax.random.split(key, len(leaves))
        rand = [
            jax.random.normal(k, (starts - 1, *jnp.shape(leaf))) * 2.0
            for k, leaf in zip(keys, leaves, strict=True)
        ]
        stacked = [jnp.concatenate([leaf[None], r]) for leaf, r in zip(leaves, rand, strict=True)]
        u_all = jax.tree_util.tree_unflatten(tree, stacked)
    else:
        u_all = jax.tree_util.tree_map(lambda x: x[None], u0)
    k_args = int(jax.tree_util.tree_leaves(args)[0].shape[0]) if batched_args else 1
    arg0 = jax.tree_util.tree_map(lambda x: x[0], args) if batched_args else args
    n_cons = len(constraints(y0, arg0))
    n_starts = int(jax.tree_util.tree_leaves(u_all)[0].shape[0])
    # every (candidate, start) pair: candidate-major
    u_all = jax.tree_util.tree_map(lambda x: jnp.tile(x, (k_args,) + (1,) * (x.ndim - 1)), u_all)
    cand = np.repeat(np.arange(k_args), n_starts)
    if batched_args:
        args_all = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[cand], args)
    else:
        args_all = args

    solve = _compiled_solve(
        objective, constraints, opt, steps, outer, float(rho0), float(growth), bounds, n_cons,
        batched_args,
    )  # fmt: skip
    u_fin, histories = solve(u_all, args_all)
    ys = jax.vmap(lambda u: _to_y(u, log_lo, log_hi))(u_fin)
    judge = exact or _judges(objective, constraints)
    n = int(jax.tree_util.tree_leaves(u_all)[0].shape[0])

    def arg_of(i):
        return jax.tree_util.tree_map(lambda x: x[i], args_all) if batched_args else args

    # every end point judged at once (one compiled call, reused across calls)
    every = args_all if batched_args else jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), args)  # fmt: skip
    f_all, c_all = _compiled_judge(judge)(ys, every)
    c_np = {k: np.asarray(v) for k, v in c_all.items()}
    evaluated = [
        (f_all[i], {k: v[i] for k, v in c_np.items()}) for i in range(n)
    ]  # fmt: skip
    objs = np.asarray(f_all, dtype=float)
    viol = np.maximum(0.0, -np.min(np.stack(list(c_np.values())), axis=0))
    feasible = viol <= tol
    if groups is not None:
        group_of = np.asarray(groups)[cand]
        out = {}
        for g in np.unique(group_of):
            sel = group_of == g
            if (feasible & sel).any():
                i = int(np.argmin(np.where(feasible & sel, objs, np.inf)))
            else:
                i = int(np.argmin(np.where(sel, viol, np.inf)))
            cons = {k: float(v) for k, v in evaluated[i][1].items()}
            out[int(g)] = Result(
                params={**jax.tree_util.tree_map(lambda x, i=i: np.asarray(x[i]), ys),
                        "_candidate": int(cand[i])},
                objective=float(objs[i]),
                constraints=cons,
                feasible=bool(feasible[i]),
                binding=min(cons, key=cons.get),
                violation=float(viol[i]),
                history=np.asarray(histories[i]),
                iterations=steps * outer,
                starts=int(sel.sum()),
            )  # fmt: skip
        return out
    if feasible.any():
        best = int(np.argmin(np.where(feasible, objs, np.inf)))
    elif not closest:
        best = int(np.argmin(viol))
        starts_y = jax.vmap(lambda u: _to_y(u, log_lo, log_hi))(u_all)
        one = jax.tree_util.tree_map(lambda x: x[best : best + 1], starts_y)
        r = _closest(constraints, one, arg_of(best), lower, upper, judge, steps, outer)
        if batched_args:
            r = dataclasses.replace(r, params={**r.params, "_candidate": int(cand[best])})
        return r
    else:
        best = int(np.argmin(viol))
    cons = {k: float(v) for k, v in evaluated[best][1].items()}
    binding = min(cons, key=cons.get)
    params = jax.tree_util.tree_map(lambda x: np.asarray(x[best]), ys)
    if batched_args:
        params = {**params, "_candidate": int(cand[best])}
    return Result(
        params=params,
        objective=float(objs[best]),
        constraints=cons,
        feasible=bool(feasible[best]),
        binding=binding,
        violation=float(viol[best]),
        history=np.asarray(histories[best]),
        iterations=steps * outer,
        starts=n,
    )


@functools.lru_cache(maxsize=64)
def _violation_problem(constraints):
    """(total squared violation, no constraints) of a problem, one pair per constraints
    function so that its compiled solve is reused."""

    def violation(y, a):
        g = _slacks(constraints, y, a)
        return jnp.sum(jnp.maximum(0.0, -g) ** 2)

    def always(y, a):
        return {"_": jnp.asarray(1.0)}

    return violation, always


def _closest(constraints, ys, args, lower, upper, judge, steps, outer) -> Result:
    """No start is feasible: minimise the total squared violation alone, from every
    start point (end points may sit in a saturated corner of the bounds), so the report
    says how far the problem is from feasible and which constraint binds, independent
    of the objective's pull."""

    violation, always = _violation_problem(constraints)
    n = int(jax.tree_util.tree_leaves(ys)[0].shape[0])

    results = [
        minimise(
            violation,
            always,
            jax.tree_util.tree_map(lambda x, i=i: x[i], ys),
            args,
            lower=lower,
            upper=upper,
            steps=steps,
            outer=outer,
            closest=True,
        )
        for i in range(n)
    ]
    best = min(results, key=lambda r: r.objective)
    f, cons = judge(best.params, args)
    cons = {k: float(v) for k, v in cons.items()}
    viol = max(0.0, -min(cons.values()))
    return dataclasses.replace(
        best,
        objective=float(f),
        constraints=cons,
        feasible=viol <= 0.0,
        binding=min(cons, key=cons.get),
        violation=viol,
        iterations=2 * steps * outer,
        starts=n,
    )
