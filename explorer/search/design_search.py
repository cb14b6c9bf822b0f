"""Design search: the cheapest chip design that meets latency targets for a model.

For each discrete choice (memory technology; chips per replica and their tp/pp split,
batched under vmap) the continuous design variables (dense compute, SRAM capacity,
memory stacks, link bandwidth, dies) are optimised by :func:`explorer.search.solver.minimise`
through the model in smooth mode:

    minimise  log objective(design)   (cost per Mtok, manufacturing cost, power or area
                                       of the replica)
    s.t.      1 - TPOT / target >= 0,  1 - TTFT / target >= 0,  memory slack >= 0,
              the design's physical constraints (reticle, package, shoreline, power
              density, optional power cap)

Integer quantities (stacks, dies) are then rounded up and everything is re-evaluated in
exact mode; the answer is feasible only if every constraint holds exactly.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from explorer.design.area_power import area, power
from explorer.design.constraints import constraints
from explorer.design.cost import cost_per_mtok, manufacturing_cost, tco_per_hour
from explorer.design.tech import NODE_NUMBERS, NodeTech, Tech
from explorer.design.to_chip import design_to_chip
from explorer.design.variables import Design, make_design
from explorer.model import units
from explorer.model.chip import TOPOLOGIES, Chip
from explorer.model.configio import ConfigError
from explorer.model.mapping import Mapping
from explorer.model.perf import Metrics, predict
from explorer.model.smooth import EXACT, Mode
from explorer.model.workload import Model, Scenario
from explorer.search.solver import minimise

OBJECTIVES = ("tco_per_mtok", "cost", "power", "area")
SEARCH_NODE = "_searched"  # the traced process node of a batched search
MARGIN = 0.005  # relative slack the smooth search keeps on every constraint
SEARCH_MODE = Mode(smooth=True, sharpness=100.0)
CHIP_COUNTS = (1, 2, 4, 8, 16, 32, 64)
# Efficiency knobs of a purpose-built design (configs/efficiency.toml family.design).
DESIGN_FAMILY = "design"


def fabric_spec(fabric: str, tech: Tech) -> dict[str, Any]:
    """Topology, link latency [s] and domain [chips] of a scale-up fabric: "switch" is
    configs/cost.toml [interconnect] (an 8-chip NVLink-class node), the others its
    [fabric.*] tables ("torus": a statically scheduled chip-to-chip fabric as Groq's)."""
    if fabric not in tech.fabrics:
        known = ", ".join(sorted(tech.fabrics))
        raise ConfigError(f"search: fabric '{fabric}' unknown (known: {known})")
    return dict(tech.fabrics[fabric])


def _with_fabric(chip: Chip, fabric: str, tech: Tech) -> Chip:
    """The chip on a fabric of fabric_spec (topology one-hot, latency, domain)."""
    spec = fabric_spec(fabric, tech)
    return chip.replace(
        topology=[float(spec["topology"] == t) for t in TOPOLOGIES],
        link_latency_s=spec["link_latency_s"],
        domain_chips=spec["domain_chips"],
    )


VARS = ("compute", "sram", "stacks", "link", "dies")
LOWER = {"compute": 1e13, "sram": 1e6, "stacks": 0.5, "link": 1e10, "dies": 1.0}
UPPER = {"compute": 1e17, "sram": 2e11, "stacks": 16.0, "link": 5e12, "dies": 64.0}


@dataclasses.dataclass(frozen=True)
class Targets:
    """What the design must do, and what it minimises."""

    tpot_s: float
    ttft_s: float = float("inf")
    objective: str = "tco_per_mtok"
    max_power_w: float | None = None


@dataclasses.dataclass(frozen=True)
class Found:
    """A searched design, re-evaluated exactly."""

    design: Design
    n_chips: int
    mapping: Mapping
    metrics: Metrics
    objective: float
    constraints: dict[str, float]
    feasible: bool
    binding: str
    violation: float
    iterations: int
    fabric: str = "switch"


def fabric_for(memory: str) -> str:
    """The scale-up fabric a design of this memory is built with: HBM parts in switched
    nodes; SRAM-only parts ("none") in a deterministic chip-to-chip fabric."""
    return "torus" if memory == "none" else "switch"


def best_of(found: list[Found]) -> Found:
    """The feasible answer with the least objective, else the least infeasible one."""
    feasible = [f for f in found if f.feasible]
    if feasible:
        return min(feasible, key=lambda f: f.objective)
    return min(found, key=lambda f: f.violation)


def _design(y: dict[str, jax.Array], memory: str, node: str) -> Design:
    return Design(
        compute_flops_per_s=y["compute"],
        sram_bytes=y["sram"],
        mem_stacks=y["stacks"] if memory != "none" else y["stacks"] * 0.0,
        link_bw_bytes_per_s=y["link"],
        dies=y["dies"],
        memory=memory,
        node=node,
        # SRAM-only designs need silicon area, not memory shoreline: a multi-die
        # CoWoS-L interposer rather than the organic package "auto" would pick.
        package="cowos-l" if memory == "none" else "auto",
    )


def _candidate(args) -> dict[str, Any]:
    """Candidate args as a dict: a tuple (n, tp, pp) or (n, tp, pp, tpot target [s]), or
    a dict with n, tp, pp and optionally tpot_s, ttft_s, max_power_w [s, s, W], scenario
    (a Scenario) and node (the NODE_NUMBERS of a process node, possibly traced)."""
    if isinstance(args, dict):
        return args
    c = dict(n=args[0], tp=args[1], pp=args[2])
    if len(args) > 3:
        c["tpot_s"] = args[3]
    return c


def _node_tech(tech: Tech, values: dict[str, Any]) -> Tech:
    """tech with one more node, SEARCH_NODE, of the given (traced) numbers."""
    node = NodeTech(**values, formats=())
    return dataclasses.replace(tech, nodes={**tech.nodes, SEARCH_NODE: node})


def node_columns(tech: Tech, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The NODE_NUMBERS of each named node, one array per field (for a batched search)."""
    return {f: np.asarray([float(getattr(tech.nodes[n], f)) for n in names]) for f in NODE_NUMBERS}


def _evaluate(y, args, model, scenario, targets, tech, memory, node, mode, fabric="switch"):
    """(objective value, slacks, Metrics) of design y on candidate args (see _candidate;
    the dict's entries override scenario, targets' numbers and node)."""
    c = _candidate(args)
    n, tp, pp = c["n"], c["tp"], c["pp"]
    tpot_target = c.get("tpot_s", targets.tpot_s)
    scenario = c.get("scenario", scenario)
    if "node" in c:
        tech, node = _node_tech(tech, c["node"]), SEARCH_NODE
    d = _design(y, memory, node)
    chip = design_to_chip(d, tech, family=DESIGN_FAMILY)
    chip = _with_fabric(chip, fabric, tech)
    m = predict(chip, model, scenario, Mapping(tp=tp, pp=pp, ep=jnp.asarray(1.0)), mode)
    mfg = manufacturing_cost(d, tech)["total_usd"]
    full_w = power(d, tech)["total_w"]
    if targets.objective == "tco_per_mtok":
        tco = tco_per_hour(mfg, full_w, tech.economics)["total_usd_per_h"]
        value = cost_per_mtok(tco, m.tokens_per_s_per_chip, tech.economics.utilisation)
    elif targets.objective == "cost":
        value = mfg * n
    elif targets.objective == "power":
        value = full_w * n
    else:
        value = area(d, tech)["total_mm2"] * n
    max_power = None if targets.max_power_w is None else c.get("max_power_w", targets.max_power_w)
    slack = dict(constraints(d, tech, max_power))
    slack["tpot"] = 1.0 - m.tpot_s / tpot_target
    if np.isfinite(targets.ttft_s):
        slack["ttft"] = 1.0 - m.ttft_s / c.get("ttft_s", targets.ttft_s)
    slack["memory"] = m.memory_slack_bytes / jnp.maximum(m.resident_bytes, 1.0)
    return value, slack, m


def _structure(targets: Targets) -> Targets:
    """What of the targets fixes the compiled problem: the objective and which optional
    constraints exist (their numbers travel in the candidate args)."""
    return Targets(
        tpot_s=1.0,
        ttft_s=1.0 if np.isfinite(targets.ttft_s) else float("inf"),
        objective=targets.objective,
        max_power_w=None if targets.max_power_w is None else 1.0,
    )


@functools.lru_cache(maxsize=32)
def _closures(model: Model, shape: Targets, tech: Tech, memory: str, fabric: str, node: str):
    """(log objective, constraints with MARGIN) for candidate-dict args, one pair per
    static structure, so a repeated search reuses the compiled solve (optimize.py caches
    it on these functions)."""
    ev = dict(model=model, scenario=None, targets=shape, tech=tech, memory=memory,
              node=node, fabric=fabric)  # fmt: skip

    def objective(y, a):
        return jnp.log(_evaluate(y, a, **ev, mode=SEARCH_MODE)[0])

    def cons(y, a):
        # aim MARGIN inside every bound, so rounding and the exact re-check keep it
        return {k: v - MARGIN for k, v in _evaluate(y, a, **ev, mode=SEARCH_MODE)[1].items()}

    return objective, cons


def _problem(ev: dict[str, Any]):
    """(log objective, constraints with MARGIN, start) of a search on evaluation args ev;
    candidate args must be dicts with a scenario and the numbers of the targets (see
    _args). With only model and memory in ev, the functions are None (the start alone)."""
    y0 = start(ev["model"], ev["memory"])
    if "tech" not in ev:
        return None, None, y0
    key = (ev["model"], _structure(ev["targets"]), ev["tech"], ev["memory"])
    return (*_closures(*key, ev.get("fabric", "switch"), ev["node"]), y0)


def _args(rows: np.ndarray, scenario: Scenario, targets: Targets, nodes: dict | None):
    """Candidate-dict args for rows of (n, tp, pp, tpot [s]); nodes: NODE_NUMBERS columns
    per row (or None for the static node)."""
    k = len(rows)
    col = {name: jnp.asarray(rows[:, i]) for i, name in enumerate(("n", "tp", "pp", "tpot_s"))}
    col["scenario"] = jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(jnp.asarray(x), (k, *jnp.shape(x))), scenario
    )
    if np.isfinite(targets.ttft_s):
        col["ttft_s"] = jnp.full(k, targets.ttft_s)
    if targets.max_power_w is not None:
        col["max_power_w"] = jnp.full(k, targets.max_power_w)
    if nodes is not None:
        col["node"] = {f: jnp.asarray(v) for f, v in nodes.items()}
    return col


def start(model: Model, memory: str) -> dict[str, jax.Array]:
    """The first start of a search: a design that holds the model on 32 chips in SRAM
    alone when there is no off-chip memory (a start far from "fits" stalls there)."""
    sram_only = memory == "none"
    weights = model.total_params * 2.0
    y0 = {
        "compute": jnp.asarray(1e15),
        "sram": jnp.asarray(min(1.5 * weights / 32, 1e11) if sram_only else 2e9),
        "stacks": jnp.asarray(4.0),
        "link": jnp.asarray(4e11),
        "dies": jnp.asarray(4.0 if sram_only else 2.0),
    }
    return y0


def candidates(model: Model, counts=CHIP_COUNTS) -> np.ndarray:
    """(n, tp, pp) rows: all-tensor and all-pipeline splits of each chip count."""
    rows = []
    for n in counts:
        rows.append((n, n, 1))
        if 1 < n <= model.n_layers:
            rows.append((n, 1, n))
    return np.asarray(rows, dtype=float)


def search(
    model: Model,
    scenario: Scenario,
    targets: Targets,
    tech: Tech,
    memory: str = "HBM3E",
    node: str | tuple[str, ...] = "N4",
    steps: int = 150,
    outer: int = 8,
    starts: int = 2,
    rho0: float = 100.0,
    fabric: str = "switch",
) -> Found:
    """The best design for one memory technology and fabric (module docstring), on one
    process node or the best of several: every (node, chips, tp, pp) candidate is solved
    in the same vmapped run, the node's constants entering as traced numbers, so more
    nodes cost run time but no further compilation."""
    if targets.objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    names = (node,) if isinstance(node, str) else tuple(node)
    for name in names:
        if name not in tech.nodes:
            raise ConfigError(f"search: node '{name}' unknown (known: {', '.join(tech.nodes)})")
    cands = candidates(model)
    node_of = np.repeat(np.arange(len(names)), len(cands))
    rows = np.column_stack([np.tile(cands, (len(names), 1)), np.full(len(node_of), targets.tpot_s)])
    nodes = {f: v[node_of] for f, v in node_columns(tech, names).items()}
    ev = dict(model=model, scenario=scenario, targets=targets, tech=tech, memory=memory)
    ev.update(node=SEARCH_NODE, fabric=fabric)
    objective, cons, y0 = _problem(ev)
    r = minimise(
        objective, cons, y0, _args(rows, scenario, targets, nodes), lower=LOWER, upper=UPPER,
        steps=steps, outer=outer, batched_args=True, starts=starts, rho0=rho0,
    )  # fmt: skip
    k = r.params["_candidate"]
    n, tp, pp = (float(x) for x in rows[k, :3])
    y = {v: jnp.asarray(float(r.params[v])) for v in VARS}
    return finalise(y, (n, tp, pp), dict(ev, node=names[node_of[k]]), r.iterations)


def finalise(
    y: dict[str, Any], cand: tuple[float, float, float], ev: dict, iterations: int
) -> Found:
    """Round integer quantities up, re-evaluate exactly, judge feasibility."""
    y = {k: jnp.asarray(float(v)) for k, v in y.items()}
    y["stacks"] = jnp.ceil(y["stacks"] - 1e-6)
    y["dies"] = jnp.ceil(y["dies"] - 1e-6)
    n, tp, pp = cand
    args = (jnp.asarray(n), jnp.asarray(tp), jnp.asarray(pp))
    value, slack, m = _evaluate(y, args, **ev, mode=EXACT)
    slack = {k: float(v) for k, v in slack.items()}
    worst = min(slack, key=slack.get)
    d = _design(y, ev["memory"], ev["node"])
    return Found(
        design=make_design(
            compute_flops_per_s=float(d.compute_flops_per_s),
            sram_bytes=float(d.sram_bytes),
            mem_stacks=float(d.mem_stacks),
            link_bw_bytes_per_s=float(d.link_bw_bytes_per_s),
            dies=float(d.dies),
            memory=d.memory,
            node=d.node,
            package=d.package,
        ),
        n_chips=int(n),
        mapping=Mapping(tp=jnp.asarray(tp), pp=jnp.asarray(pp), ep=jnp.asarray(1.0)),
        metrics=m,
        objective=float(value),
        constraints=slack,
        feasible=slack[worst] >= -1e-6,
        binding=worst,
        violation=max(0.0, -slack[worst]),
        iterations=iterations,
        fabric=ev.get("fabric", "switch"),
    )


def summary(found: Found) -> dict[str, Any]:
    """Plain numbers for reports."""
    d = found.design
    return {
        "feasible": found.feasible,
        "design": {
            "compute_tflops": float(d.compute_flops_per_s) / units.TERA,
            "sram_gb": float(d.sram_bytes) / units.GB,
            "memory": d.memory,
            "mem_stacks": float(d.mem_stacks),
            "link_gb_s": float(d.link_bw_bytes_per_s) / units.GB,
            "dies": float(d.dies),
            "node": d.node,
        },
        "fabric": found.fabric,
        "chips_per_replica": found.n_chips,
        "mapping": {"tp": int(found.mapping.tp), "pp": int(found.mapping.pp), "ep": 1},
        "metrics": {
            "tpot_ms": float(found.metrics.tpot_s) / units.MS,
            "ttft_ms": float(found.metrics.ttft_s) / units.MS,
            "tokens_per_s_per_user": float(found.metrics.tokens_per_s_per_user),
            "tokens_per_s_per_chip": float(found.metrics.tokens_per_s_per_chip),
            "fits_in_memory": bool(found.metrics.fits),
        },
        "constraints": found.constraints,
        "binding": found.binding,
        "violation": found.violation,
        "objective": found.objective,
        "iterations": found.iterations,
    }


def pareto(
    model: Model,
    scenario: Scenario,
    targets: Targets,
    tpot_targets_s: list[float],
    tech: Tech,
    memory: str,
    fabric: str,
    node: str = "N4",
    steps: int = 120,
    outer: int = 8,
) -> list[Found]:
    """One optimisation per TPOT target, all targets and candidates in one vmapped run;
    each answer rounded and re-checked exactly."""
    cands = candidates(model)
    k = len(cands)
    rows = np.concatenate([np.column_stack([cands, np.full(k, t)]) for t in tpot_targets_s])
    group = np.repeat(np.arange(len(tpot_targets_s)), k)
    ev = dict(model=model, scenario=scenario, targets=targets, tech=tech, memory=memory)
    ev.update(node=SEARCH_NODE, fabric=fabric)
    objective, cons, y0 = _problem(ev)
    nodes = {f: np.repeat(v, len(rows)) for f, v in node_columns(tech, (node,)).items()}
    args = _args(rows, scenario, targets, nodes)
    best = minimise(
        objective, cons, y0, args, lower=LOWER, upper=UPPER, steps=steps, outer=outer,
        batched_args=True, groups=group, rho0=100.0,
    )  # fmt: skip
    found = []
    for g, t in enumerate(tpot_targets_s):
        r = best[g]
        row = rows[r.params["_candidate"]]
        y = {v: r.params[v] for v in VARS}
        ev_t = dict(ev, node=node, targets=dataclasses.replace(targets, tpot_s=float(t)))
        found.append(finalise(y, tuple(float(x) for x in row[:3]), ev_t, r.iterations))
    return found
