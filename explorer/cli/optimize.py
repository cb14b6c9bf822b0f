"""``explorer optimize``: the cheapest chip design meeting latency targets, beside the
cheapest reference-chip configuration."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from explorer.cli.common import scenario_from_args
from explorer.model.chip import PRECISIONS
from explorer.model.configio import ConfigError
from explorer.model.workload import load_model

MEMORIES = ("HBM3E", "HBM4", "none")  # searched when --memory is not given


def add_parser(sub: Any) -> None:
    op = sub.add_parser("optimize", help="the cheapest chip design meeting latency targets")
    op.add_argument("--model", default="llama-3.1-70b")
    op.add_argument("--target-tpot-ms", type=float, default=1.0, help="default 1 (1000 tok/s)")
    op.add_argument("--target-ttft-ms", type=float)
    op.add_argument("--batch", type=float, default=1)
    op.add_argument("--prompt", type=float, default=1024)
    op.add_argument("--output", type=float, default=256)
    op.add_argument("--precision", default="bf16", choices=PRECISIONS)
    op.add_argument(
        "--objective", default="tco_per_mtok", choices=("tco_per_mtok", "cost", "power", "area")
    )
    op.add_argument("--max-power-w", type=float)
    op.add_argument("--memory", help="one memory technology (default: HBM3E, HBM4, none)")
    op.add_argument("--node", help="one process node (default: every node, searched together)")
    op.add_argument("--out", help="write the design file (TOML) here")
    op.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from explorer.calibration.calibration_file import write_atomic
    from explorer.design.design_file import render_design
    from explorer.design.tech import load_tech
    from explorer.search import design_search, reference_chips

    tech = load_tech()
    memories = [args.memory] if args.memory else list(MEMORIES)
    for mem in memories:
        if mem != "none" and mem not in tech.memories:
            known = ", ".join(["none", *sorted(tech.memories)])
            raise ConfigError(f"optimize: --memory '{mem}' unknown (known: {known})")
    if args.node is not None and args.node not in tech.nodes:
        raise ConfigError(f"optimize: --node '{args.node}' unknown ({', '.join(tech.nodes)})")
    nodes = args.node or tuple(tech.nodes)
    for name in ("target_tpot_ms", "target_ttft_ms", "max_power_w"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise ConfigError(f"optimize: --{name.replace('_', '-')} must be > 0")
    model = load_model(args.model)
    scenario = scenario_from_args(args)
    targets = design_search.Targets(
        tpot_s=args.target_tpot_ms / 1e3,
        ttft_s=float("inf") if args.target_ttft_ms is None else args.target_ttft_ms / 1e3,
        objective=args.objective,
        max_power_w=args.max_power_w,
    )
    start = time.perf_counter()
    found = [
        design_search.search(
            model, scenario, targets, tech, m, nodes, fabric=design_search.fabric_for(m)
        )
        for m in memories
    ]
    best = design_search.best_of(found)
    seconds = time.perf_counter() - start
    out = design_search.summary(best)
    out["seconds"] = seconds
    out["objective_name"] = args.objective
    out["searched"] = [
        {"memory": f.design.memory, "node": f.design.node, "fabric": f.fabric,
         "feasible": f.feasible,
         "objective": f.objective, "binding": f.binding, "violation": f.violation}
        for f in found
    ]  # fmt: skip
    out["reference"] = reference_chips.cheapest_reference(
        model, scenario, targets, reference_chips.COMPARE_CHIPS
    )
    if args.out:
        m = best.mapping
        extra = (
            f'\n[provenance]\nmodel = "{args.model}"\nchips = {best.n_chips}\n'
            f"tp = {int(m.tp)}\npp = {int(m.pp)}\nbatch = {args.batch:g}\n"
            f'target_tpot_ms = {args.target_tpot_ms:g}\nobjective = "{args.objective}"\n'
        )
        toml = render_design(
            best.design,
            f"optimized-{args.model}",
            family=design_search.DESIGN_FAMILY,
            extra=extra,
            fabric=design_search.fabric_spec(best.fabric, tech),
        )
        write_atomic(Path(args.out), toml)
        out["written"] = args.out
    return out


def text(out: dict[str, Any], args: argparse.Namespace) -> str:
    d, m = out["design"], out["metrics"]
    lines = [
        ("FEASIBLE" if out["feasible"] else "INFEASIBLE")
        + f": {out['objective_name']} = {out['objective']:.4g}"
        + (
            ""
            if out["feasible"]
            else f"; binding: {out['binding']} short by {out['violation']:.3f}"
        ),
        f"  design: {d['compute_tflops']:.0f} TFLOP/s bf16, SRAM {d['sram_gb']:.2f} GB, "
        f"{d['memory']} x {d['mem_stacks']:g}, link {d['link_gb_s']:.0f} GB/s, "
        f"{d['dies']:g} dies, {d['node']}",
        f"  replica: {out['chips_per_replica']} chips, "
        f"tp {out['mapping']['tp']} pp {out['mapping']['pp']}",
        f"  TPOT {m['tpot_ms']:.3f} ms ({m['tokens_per_s_per_user']:.0f} tok/s/user), "
        f"TTFT {m['ttft_ms']:.1f} ms, {m['tokens_per_s_per_chip']:.1f} tok/s/chip",
        "  constraints (slack > 0 holds): "
        + ", ".join(f"{k} {v:+.3f}" for k, v in out["constraints"].items()),
        "  searched: "
        + "; ".join(
            f"{s['memory']} {'ok' if s['feasible'] else 'infeasible (' + s['binding'] + ')'}"
            for s in out["searched"]
        ),
        f"  {out['iterations']} steps per start, {out['seconds']:.1f} s",
    ]
    ref = out["reference"]
    if ref:
        lines.append(
            f"  cheapest reference meeting the targets: {ref['chips']} x {ref['chip']} "
            f"(tp {ref['mapping']['tp']} pp {ref['mapping']['pp']}), TPOT {ref['tpot_ms']:.2f} ms, "
            f"${ref['cost_usd_per_mtok']:.3f}/Mtok"
        )
    else:
        lines.append("  no reference chip configuration meets these targets")
    if "written" in out:
        lines.append(f"  wrote {out['written']}")
    return "\n".join(lines)
