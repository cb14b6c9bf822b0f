"""One chip designed for a fleet: column generation priced by the fleet's duals.

The continuous relaxation of the fleet mix
(:func:`explorer.fleet.integer_program.solve_relaxed`) prices one more output token/s of
tier t at pi_t ($/yr per token/s: the demand row's dual) and one more watt under the
power cap at lam ($/yr per W). A new chip serving tier t at
cost c_t(d) per token/s-year (TCO of its replica / its rate) and power p_t(d) per
token/s lowers the relaxed fleet cost, to first order, by

    saving_t(d) = D_t x (pi_t - c_t(d) - lam x p_t(d))       (its reduced cost x demand)

so the design that saves most minimises c_t(d) + lam p_t(d) subject to tier t's SLOs
(TTFT and continuous-batching TPOT), memory fit and the design's physical constraints.
That pricing problem is solved through the model in smooth mode by
:func:`explorer.search.solver.minimise`, for every tier at once (one group per tier; chips per
replica, tp/pp and batch are discrete candidates under vmap), for an HBM3E design and an
SRAM-only design. The best design is rounded (stacks, dies up), costed at its
manufacturing cost x the scenario's markup, added to the catalogue, and the fleet is
planned again exactly (integer program over every tier): the reported saving is that
exact difference, with the first-order estimate beside it.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from explorer.design.area_power import power
from explorer.design.constraints import constraints
from explorer.design.cost import manufacturing_cost, tco_per_hour
from explorer.design.design_file import render_design
from explorer.design.tech import Tech
from explorer.design.to_chip import design_to_chip
from explorer.fleet import plan as fleet
from explorer.fleet import report as fleet_report
from explorer.fleet.integer_program import DEMAND
from explorer.fleet.scenario import Option
from explorer.model import units
from explorer.model.mapping import Mapping
from explorer.model.perf import predict
from explorer.model.workload import load_model, make_scenario
from explorer.search import design_search as search
from explorer.search.solver import minimise

BATCHES = (1.0, 8.0, 64.0, 512.0)
MEMORIES = ("HBM3E", "none")  # each with its fabric, design_search.fabric_for


def prices(plan: fleet.FleetPlan) -> tuple[dict[str, float], float]:
    """(pi per tier [$/yr per token/s], lam [$/yr per W]) from the relaxation's duals."""
    p, duals = plan.problem, plan.relaxed.duals
    pi = {
        name.removeprefix("demand "): -float(d)
        for name, kind, d in zip(p.rows, p.kinds, duals, strict=True)
        if kind == DEMAND
    }
    return pi, -float(duals[p.rows.index("power cap")])


def _evaluate(y, args, model, precision, tier_arrays, tech, memory, markup, lam, mode):
    """(cost per token/s-year incl. power price, slacks) of design y serving a tier on
    candidate args = (n, tp, pp, batch, tier index)."""
    n, tp, pp, b, k = args
    ttft_slo, tpot_slo, prompt, output = (a[k.astype(int)] for a in tier_arrays)
    d = search._design(y, memory, "N4")
    chip = search._with_fabric(design_to_chip(d, tech, family=search.DESIGN_FAMILY),
                               search.fabric_for(memory), tech)  # fmt: skip
    sc = make_scenario(1, 1, 1, precision=precision)
    sc = dataclasses.replace(sc, batch=b, prefill_batch=b * 0 + 1.0, prompt_tokens=prompt,
                             output_tokens=output)  # fmt: skip
    m = predict(chip, model, sc, Mapping(tp=tp, pp=pp, ep=jnp.asarray(1.0)), mode)
    capex = manufacturing_cost(d, tech)["total_usd"] * markup
    full_w = power(d, tech)["total_w"]
    tco_year = (
        tco_per_hour(capex, full_w, tech.economics)["total_usd_per_h"] * units.YEAR / units.HOUR
    )
    p_it = full_w * (1.0 + tech.economics.server_power_fraction)
    rate = m.tokens_per_s_per_replica
    value = n * (tco_year + lam * p_it) / rate
    slack = dict(constraints(d, tech, None))
    slack["tpot"] = 1.0 - b / rate / tpot_slo
    slack["ttft"] = 1.0 - m.ttft_s / ttft_slo
    slack["memory"] = m.memory_slack_bytes / jnp.maximum(m.resident_bytes, 1.0)
    return value, slack


def design_for_fleet(
    plan: fleet.FleetPlan,
    tech: Tech,
    steps: int = 100,
    outer: int = 6,
    memories: tuple[str, ...] = MEMORIES,
    progress: Any = None,
) -> dict[str, Any]:
    """Design one chip for the plan's fleet and re-plan with it (module docstring).

    memories: the memory technologies tried ("HBM3E", "none"); progress: an optional
    callable(model id, memory) called before each optimisation."""
    if plan.integer is None or not plan.integer.feasible or not plan.relaxed.feasible:
        return {"feasible": False, "reason": "the fleet itself is infeasible; no prices"}
    pi, lam = prices(plan)
    sc = plan.scenario
    tiers = [t for t in sc.tiers if t.id in pi]
    best = None
    for model_id in sorted({t.model for t in tiers}):
        mine = [t for t in tiers if t.model == model_id]
        model = load_model(model_id)
        arrays = tuple(
            jnp.asarray([getattr(t, f) for t in mine])
            for f in ("ttft_slo_s", "tpot_slo_s", "prompt_tokens", "output_tokens")
        )
        rows = [(*c, b, k) for k in range(len(mine)) for c in search.candidates(model)
                for b in BATCHES]  # fmt: skip
        arr = np.asarray(rows, dtype=float)
        args = tuple(jnp.asarray(arr[:, i]) for i in range(5))
        for memory in memories:
            if progress is not None:
                progress(model_id, memory)
            ev = dict(model=model, precision=mine[0].precision, tier_arrays=arrays,
                      tech=tech, memory=memory, markup=sc.design_markup, lam=lam)  # fmt: skip

            def objective(y, a, ev=ev):
                return jnp.log(_evaluate(y, a, **ev, mode=search.SEARCH_MODE)[0])

            def cons(y, a, ev=ev):
                slack = _evaluate(y, a, **ev, mode=search.SEARCH_MODE)[1]
                return {k: v - search.MARGIN for k, v in slack.items()}

            y0 = search.start(model, memory)
            found = minimise(objective, cons, y0, args, lower=search.LOWER,
                             upper=search.UPPER, steps=steps, outer=outer, batched_args=True,
                             groups=arr[:, 4].astype(int), rho0=100.0)  # fmt: skip
            for k, t in enumerate(mine):
                r = found[k]
                if not r.feasible:
                    continue
                cost = float(np.exp(r.objective))
                saving = t.demand_tokens_per_s * (pi[t.id] - cost)
                if best is None or saving > best["first_order_saving"]:
                    y = {v: float(r.params[v]) for v in search.VARS}
                    best = {"tier": t.id, "memory": memory, "y": y,
                            "first_order_saving": saving}  # fmt: skip
    if best is None:
        return {"feasible": False, "reason": "no design met any tier's SLOs"}
    return _replan(plan, tech, best)


def _replan(plan: fleet.FleetPlan, tech: Tech, best: dict[str, Any]) -> dict[str, Any]:
    """Round the design, add it to the catalogue and solve the fleet again exactly."""
    y = dict(best["y"])
    y["stacks"] = np.ceil(y["stacks"] - 1e-6)
    y["dies"] = np.ceil(y["dies"] - 1e-6)
    d = search._design({k: jnp.asarray(v) for k, v in y.items()}, best["memory"], "N4")
    fabric = search.fabric_spec(search.fabric_for(best["memory"]), tech)
    text = render_design(d, "fleet-design", family=search.DESIGN_FAMILY, fabric=fabric)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet-design.toml"
        path.write_text(text)
        offer = fleet.make_offer(Option(name="fleet-design", design=path), tech,
                                 plan.scenario.design_markup)  # fmt: skip
        again = fleet.plan(plan.scenario, tech, extra=(offer,))
    before = plan.integer.objective
    after = again.integer.objective  # feasible: the old mix is still available
    summary = fleet_report.summary(again, tech.economics)
    used = {
        t["id"]: sum(r["chips"] for r in t["columns"] if r["option"] == "fleet-design")
        for t in summary["tiers"]
    }
    return {
        "feasible": bool(again.integer.feasible),
        "designed_for_tier": best["tier"],
        "memory": best["memory"],
        "design_toml": text,
        "capex_usd": offer.capex_usd,
        "capex_basis": offer.capex_basis,
        "power_w": offer.power_w,
        "objective_before": before,
        "objective_after": after,
        "saving": before - after,
        "saving_pct": 100.0 * (before - after) / before,
        "first_order_saving": best["first_order_saving"],
        "chips_used_by_tier": used,
        "fleet": summary,
    }
