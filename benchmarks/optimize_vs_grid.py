"""Gradient search against a dense grid on two- and three-variable design problems.

Problem: an SRAM-only design (torus fabric, 8 chips as 8 pipeline stages) serving
llama-3.1-8b at batch 1 with TPOT <= 2 ms, least cost per million tokens. Free
variables: dense compute and SRAM capacity (2-D), plus link bandwidth (3-D); dies and
the rest are held fixed. The grid is log-spaced over the same bounds and evaluated
in exact mode; the gradient answer is re-evaluated exactly. Prints both optima and
how many model evaluations each used.

    python -m benchmarks.optimize_vs_grid [--points N]
"""

from __future__ import annotations

import argparse
import itertools
import time

import jax
import jax.numpy as jnp
import numpy as np

import explorer as ex
from explorer.search import design_search as search
from explorer.search.solver import minimise

FIXED = {"stacks": 1.0, "dies": 4.0, "link": 2e11}
BOUNDS = {"compute": (2e13, 2e15), "sram": (1e9, 1e10), "link": (2e10, 2e12)}


def problem(tpot_s: float = 2e-3):
    ev = dict(
        model=ex.load_model("llama-3.1-8b"),
        scenario=ex.make_scenario(1, 512, 128),
        targets=search.Targets(tpot_s=tpot_s),
        tech=ex.load_tech(),
        memory="none",
        node="N4",
        fabric="torus",
    )
    cand = (jnp.asarray(8.0), jnp.asarray(1.0), jnp.asarray(8.0))
    return ev, cand


def full(y: dict, names) -> dict:
    out = {k: jnp.asarray(v) for k, v in FIXED.items()}
    out.update({k: y[k] for k in names})
    return out


def evaluate(y, names, ev, cand, mode):
    value, slack, _ = search._evaluate(full(y, names), cand, **ev, mode=mode)
    return value, slack


def gradient(names, ev, cand, steps=120, outer=8, starts=1):
    """(best objective exact, feasible, evaluations) of the gradient search."""

    def obj(y, a):
        return jnp.log(evaluate(y, names, ev, cand, search.SEARCH_MODE)[0])

    def cons(y, a):
        return {
            k: v - search.MARGIN
            for k, v in evaluate(y, names, ev, cand, search.SEARCH_MODE)[1].items()
        }

    def exact(y, a):
        return evaluate(y, names, ev, cand, ex.EXACT)

    y0 = {k: jnp.asarray(np.sqrt(BOUNDS[k][0] * BOUNDS[k][1])) for k in names}
    lo = {k: BOUNDS[k][0] for k in names}
    hi = {k: BOUNDS[k][1] for k in names}
    r = minimise(obj, cons, y0, None, lower=lo, upper=hi, steps=steps, outer=outer,
                 starts=starts, exact=exact)  # fmt: skip
    evaluations = steps * outer * starts  # each a value-and-gradient of the model
    return r.objective, r.feasible, evaluations, r.params


def grid(names, ev, cand, points):
    """(best feasible objective, evaluations) of a dense log grid, exact mode, vmapped."""
    axes = [np.geomspace(*BOUNDS[k], points) for k in names]
    mesh = np.array(list(itertools.product(*axes)))

    @jax.jit
    def batch(rows):
        def one(row):
            y = {k: row[i] for i, k in enumerate(names)}
            value, slack = evaluate(y, names, ev, cand, ex.EXACT)
            worst = jnp.min(jnp.stack(list(slack.values())))
            return value, worst

        return jax.vmap(one)(rows)

    values, worst = [], []
    for chunk in np.array_split(mesh, max(1, len(mesh) // 4096)):
        v, w = batch(jnp.asarray(chunk))
        values.append(np.asarray(v))
        worst.append(np.asarray(w))
    values, worst = np.concatenate(values), np.concatenate(worst)
    feasible = worst >= 0
    best = float(np.min(np.where(feasible, values, np.inf)))
    return best, len(mesh)


def compare(names, points):
    ev, cand = problem()
    t0 = time.perf_counter()
    g_obj, g_ok, g_evals, params = gradient(names, ev, cand)
    t1 = time.perf_counter()
    grid_obj, grid_evals = grid(names, ev, cand, points)
    t2 = time.perf_counter()
    return {
        "variables": list(names),
        "gradient_objective": g_obj,
        "gradient_feasible": g_ok,
        "gradient_evaluations": g_evals,
        "gradient_seconds": t1 - t0,
        "grid_objective": grid_obj,
        "grid_evaluations": grid_evals,
        "grid_seconds": t2 - t1,
        "relative_gap": g_obj / grid_obj - 1.0,
        "evaluation_ratio": grid_evals / g_evals,
        "params": {k: float(v) for k, v in params.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=0, help="grid points per axis")
    args = parser.parse_args()
    for names, default in ((("compute", "sram"), 320), (("compute", "sram", "link"), 48)):
        r = compare(names, args.points or default)
        print(
            f"{len(names)} variables {r['variables']}: "
            f"gradient ${r['gradient_objective']:.4f}/Mtok "
            f"({'feasible' if r['gradient_feasible'] else 'INFEASIBLE'}, "
            f"{r['gradient_evaluations']} evaluations, {r['gradient_seconds']:.1f} s) vs grid "
            f"${r['grid_objective']:.4f}/Mtok ({r['grid_evaluations']} evaluations, "
            f"{r['grid_seconds']:.1f} s): gap {100 * r['relative_gap']:+.2f}%, "
            f"{r['evaluation_ratio']:.0f}x fewer evaluations"
        )


if __name__ == "__main__":
    main()
