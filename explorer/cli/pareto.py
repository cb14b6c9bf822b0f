"""``explorer pareto``: optimised designs across TPOT targets vs reference chips."""

from __future__ import annotations

import argparse
import time
from typing import Any

from explorer.cli.common import save_figure, scenario_from_args
from explorer.model.chip import PRECISIONS
from explorer.model.configio import ConfigError
from explorer.model.workload import load_model


def add_parser(sub: Any) -> None:
    pa = sub.add_parser("pareto", help="optimised designs across TPOT targets vs reference chips")
    pa.add_argument("--model", default="llama-3.1-70b")
    pa.add_argument("--tpot-ms", default="1,2,5,10,20,50", help="comma-separated targets")
    pa.add_argument("--batch", type=float, default=1)
    pa.add_argument("--prompt", type=float, default=1024)
    pa.add_argument("--output", type=float, default=256)
    pa.add_argument("--precision", default="bf16", choices=PRECISIONS)
    pa.add_argument(
        "--objective", default="tco_per_mtok", choices=("tco_per_mtok", "cost", "power", "area")
    )
    pa.add_argument(
        "--memory", default="all", help="memory technology of the designs (all: HBM3E and none)"
    )
    pa.add_argument("--plot", help="save the front and the reference chips (PNG/PDF/SVG)")
    pa.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from explorer.design.tech import load_tech
    from explorer.search import design_search, reference_chips

    try:
        targets_ms = [float(x) for x in args.tpot_ms.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(
            f"pareto: --tpot-ms must be numbers separated by commas, got {args.tpot_ms!r}"
        ) from None
    if not targets_ms or min(targets_ms) <= 0:
        raise ConfigError("pareto: --tpot-ms needs positive targets")
    tech = load_tech()
    memories = ["HBM3E", "none"] if args.memory == "all" else [args.memory]
    for mem in memories:
        if mem != "none" and mem not in tech.memories:
            raise ConfigError(f"pareto: --memory '{mem}' unknown")
    model = load_model(args.model)
    scenario = scenario_from_args(args)
    base = design_search.Targets(tpot_s=1.0, objective=args.objective)
    start = time.perf_counter()
    per_memory = [
        design_search.pareto(model, scenario, base, [t / 1e3 for t in targets_ms], tech, mem,
                             design_search.fabric_for(mem))
        for mem in memories
    ]  # fmt: skip
    found = [design_search.best_of(list(options)) for options in zip(*per_memory, strict=True)]
    seconds = time.perf_counter() - start
    front = []
    for t, f in zip(targets_ms, found, strict=True):
        row = design_search.summary(f)
        row["target_tpot_ms"] = t
        front.append(row)
    refs = reference_chips.front_points(model, scenario, tech, args.objective)
    out = {"model": args.model, "objective": args.objective, "front": front,
           "references": refs, "seconds": seconds}  # fmt: skip
    if args.plot:
        from explorer.plots import figures as plots

        kinds = "HBM3E or SRAM-only" if args.memory == "all" else args.memory
        fig = plots.pareto_front(
            [(r["metrics"]["tpot_ms"], r["objective"], r["feasible"]) for r in front],
            {
                k: [(p["tpot_ms"], p["objective"]) for p in v if p["objective"] is not None]
                for k, v in refs.items()
            },
            f"{args.model}, batch {args.batch:g}: optimised designs ({kinds}; "
            "manufacturing cost, no margin) vs reference chips (price where published)",
        )
        save_figure(fig, args.plot)
    return out


def text(out: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [f"{out['model']}: optimised designs per TPOT target ({out['objective']})"]
    for r in out["front"]:
        d = r["design"]
        status = "ok" if r["feasible"] else f"INFEASIBLE ({r['binding']} by {r['violation']:.3f})"
        lines.append(
            f"  target {r['target_tpot_ms']:g} ms: TPOT {r['metrics']['tpot_ms']:.3f} ms, "
            f"{out['objective']} {r['objective']:.4g}, {r['chips_per_replica']} chips "
            f"(tp {r['mapping']['tp']} pp {r['mapping']['pp']}), {d['compute_tflops']:.0f} TF, "
            f"SRAM {d['sram_gb']:.2f} GB, {d['memory']} x {d['mem_stacks']:g}, "
            f"{d['dies']:g} dies: {status}"
        )
    lines.append("  reference chips (fewest chips that hold the model, x2, x4):")
    for cid, pts in out["references"].items():
        points = ", ".join(
            f"{p['chips']} chips {p['tpot_ms']:.2f} ms "
            + (f"${p['objective']:.3g}" if p["objective"] is not None else "(no price)")
            for p in pts
        )
        lines.append(f"    {cid}: {points}")
    lines.append(f"  {out['seconds']:.1f} s for the front")
    return "\n".join(lines)
