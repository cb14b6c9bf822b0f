"""The ``explorer`` command: parse, call the library, print. No model logic here.

Bad input exits 2 with one line on stderr (``--debug`` re-raises with a traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from explorer.model import units
from explorer.model.chip import PRECISIONS
from explorer.model.chip_config import load_chip, load_chip_file, load_chip_info
from explorer.model.configio import ConfigError, list_ids
from explorer.model.mapping import make_mapping
from explorer.model.perf import predict
from explorer.model.report import metrics_dict, table
from explorer.model.workload import load_model, make_scenario
from explorer.search.mapping_choice import choose_mapping, min_chips
from explorer.search.operating_points import best_operating_point

COMPARE_CHIPS = (
    "a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "gb200", "mi300x", "mi325x", "mi355x",
    "tpu-v5e", "tpu-v6e", "gaudi3", "sn40l", "wse-3", "groq-lpu",
)  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise ConfigError(f"{self.prog}: {message}")


def _add_predict(sub: Any) -> None:
    p = sub.add_parser("predict", help="latency, throughput and energy of one configuration")
    p.add_argument("--chip", help="built-in chip id (see `explorer chips`)")
    p.add_argument("--chip-file", help="a chip TOML file instead of --chip")
    p.add_argument("--chips", type=int, default=1, help="chips per replica (default 1)")
    p.add_argument("--model", required=True, help="model id (see `explorer models`)")
    p.add_argument(
        "--batch", default="1", help="sequences decoding together, or 'auto' (max throughput)"
    )
    p.add_argument("--tpot-slo-ms", type=float, help="with --batch auto: TPOT bound")
    p.add_argument("--ttft-slo-ms", type=float, help="with --batch auto: TTFT bound")
    p.add_argument("--uncalibrated", action="store_true", help="default efficiency knobs")
    p.add_argument(
        "--stack", help="the knobs fitted for this software stack (e.g. vllm-2024; default: main)"
    )
    p.add_argument("--prompt", type=float, default=1024, help="prompt tokens")
    p.add_argument("--output", type=float, default=256, help="generated tokens")
    p.add_argument("--precision", default="bf16", choices=PRECISIONS, help="weights/compute")
    p.add_argument("--kv-precision", choices=PRECISIONS, help="KV cache (default: precision)")
    p.add_argument("--tp", type=int, help="tensor parallel (with --pp, --ep; default: auto)")
    p.add_argument("--pp", type=int, help="pipeline stages")
    p.add_argument("--ep", type=int, help="expert parallel (<= tp)")
    p.add_argument(
        "--prefill-batch", type=float, help="prompts prefilled together (default: batch)"
    )
    p.add_argument("--spec-k", type=float, default=0, help="draft tokens per step")
    p.add_argument("--spec-accept", type=float, default=0.0, help="draft acceptance rate")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="explorer", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_predict(sub)
    b = sub.add_parser("benchmark", help="error against published measurements")
    b.add_argument("--json", action="store_true")
    b.add_argument("--plot", help="save a parity plot (PNG/PDF/SVG)")
    b.add_argument(
        "--folds",
        type=int,
        default=10,
        help="k-fold cross-validation (default 10; 0: leave-one-out, whose cost grows as "
        "the square of the points: about an hour on 2 cores for 230 points)",
    )
    b.add_argument("--steps", type=int, default=200, help="Adam steps per fit")
    k = sub.add_parser("calibrate", help="fit efficiency knobs to all reference points")
    k.add_argument("--out", default=None, help="default: configs/calibration.toml")
    k.add_argument("--steps", type=int, default=200, help="Adam steps")
    k.add_argument("--folds", type=int, default=10, help="as for benchmark (0: leave-one-out)")
    c = sub.add_parser("compare", help="every reference chip on one scenario (the main job)")
    c.add_argument("--model", default="llama-3.1-70b")
    c.add_argument("--batch", type=float, default=1)
    c.add_argument("--prompt", type=float, default=1024)
    c.add_argument("--output", type=float, default=256)
    c.add_argument("--precision", default="bf16", choices=PRECISIONS)
    c.add_argument("--json", action="store_true")
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
    fl = sub.add_parser("fleet", help="the least-cost fleet mix serving every latency tier")
    fl.add_argument(
        "--scenario", default="frontier-2026", help="built-in id (configs/scenarios/) or a file"
    )
    fl.add_argument(
        "--objective", choices=("tco", "power", "chips"), help="overrides the scenario's"
    )
    fl.add_argument("--design-chip", action="store_true", help="add one chip designed for it")
    fl.add_argument("--plot", help="save the fleet as stacked bars (PNG/PDF/SVG)")
    fl.add_argument("--json", action="store_true")
    co = sub.add_parser("cost", help="area, power, cost and TCO of a chip or design")
    co.add_argument("--chip", help="built-in chip id")
    co.add_argument("--chip-file", help="a design TOML file ([design] table)")
    co.add_argument("--validate", action="store_true", help="model vs published figures")
    co.add_argument("--json", action="store_true")
    ch = sub.add_parser("chips", help="list chip ids with key specs")
    ch.add_argument("--json", action="store_true")
    mo = sub.add_parser("models", help="list model ids with key sizes")
    mo.add_argument("--json", action="store_true")
    return parser


def _scenario(args: argparse.Namespace, batch: float | None = None):
    return make_scenario(
        batch=args.batch if batch is None else batch,
        prompt_tokens=args.prompt,
        output_tokens=args.output,
        prefill_batch=getattr(args, "prefill_batch", None),
        precision=args.precision,
        kv_precision=getattr(args, "kv_precision", None),
        spec_k=getattr(args, "spec_k", 0),
        spec_accept=getattr(args, "spec_accept", 0.0),
    )


def _load_any_chip(args: argparse.Namespace, calibrated: bool):
    """(Chip, ChipInfo, Design or None) from --chip ID or --chip-file (chip or design)."""
    if not args.chip_file:
        return load_chip(args.chip, calibrated), load_chip_info(args.chip), None
    from explorer.design.design_file import is_design_file, load_design_chip
    from explorer.model.configio import read_toml

    if is_design_file(read_toml(args.chip_file)):
        return load_design_chip(args.chip_file)
    chip, info = load_chip_file(args.chip_file, calibrated)
    return chip, info, None


def _with_economics(out: dict[str, Any], metrics, chip, info, design) -> dict[str, Any]:
    from explorer.design.economics import economics
    from explorer.design.tech import load_tech

    out.update(economics(metrics, chip, info, load_tech(), design))
    return out


def cmd_predict(args: argparse.Namespace) -> dict[str, Any]:
    if (args.chip is None) == (args.chip_file is None):
        raise ConfigError("predict: give exactly one of --chip ID or --chip-file FILE")
    calibrated = not args.uncalibrated
    chip, info, design = _load_any_chip(args, calibrated)
    if args.stack:
        if args.uncalibrated or design is not None:
            raise ConfigError("predict: --stack needs calibrated knobs of a chip (not a design)")
        from explorer.model.efficiency import with_stack

        chip = with_stack(chip, info, args.stack)
    model = load_model(args.model)
    if args.chips < 1:
        raise ConfigError(f"predict: --chips must be >= 1, got {args.chips}")
    if args.batch == "auto":
        out, metrics = _predict_auto(args, chip, info, model)
        return _with_confidence(_with_economics(out, metrics, chip, info, design), args, info)
    if args.tpot_slo_ms is not None or args.ttft_slo_ms is not None:
        raise ConfigError("predict: --tpot-slo-ms and --ttft-slo-ms need --batch auto")
    scenario = _scenario(args, _number(args.batch, "--batch"))
    if args.tp is None and args.pp is None and args.ep is None:
        mapping, metrics = choose_mapping(chip, model, scenario, args.chips)
        chosen_by = "auto"
    else:
        tp, pp, ep = args.tp or 1, args.pp or 1, args.ep or 1
        if args.tp is None and args.pp is not None:
            tp = max(args.chips // pp, 1)
        if args.pp is None:
            pp = max(args.chips // tp, 1)
        mapping = make_mapping(tp, pp, ep, model)
        if tp * pp != args.chips:
            raise ConfigError(f"predict: tp x pp = {tp * pp} but --chips is {args.chips}")
        metrics = predict(chip, model, scenario, mapping)
        chosen_by = "user"
    out = metrics_dict(metrics, info, model, scenario, mapping, chosen_by)
    return _with_confidence(_with_economics(out, metrics, chip, info, design), args, info)


def _with_confidence(out: dict[str, Any], args: argparse.Namespace, info) -> dict[str, Any]:
    """Add the confidence label and the provenance of the knobs (report.confidence)."""
    from explorer.model.efficiency import knob_provenance
    from explorer.model.report import confidence

    calibrated = not args.uncalibrated and not args.chip_file
    out["confidence"] = confidence(out, knob_provenance(info, calibrated, args.stack), info)
    return out


def _number(text: str, flag: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"predict: {flag} must be a number or 'auto', got {text!r}") from None


def _predict_auto(args, chip, info, model) -> dict[str, Any]:
    """--batch auto: the throughput-maximising batch and mapping under memory and SLOs."""
    inf = float("inf")
    ttft = inf if args.ttft_slo_ms is None else args.ttft_slo_ms / 1e3
    tpot = inf if args.tpot_slo_ms is None else args.tpot_slo_ms / 1e3
    for name, value in (("--ttft-slo-ms", ttft), ("--tpot-slo-ms", tpot)):
        if not value > 0:
            raise ConfigError(f"predict: {name} must be > 0")
    static = args.prefill_batch is None
    start = _scenario(args, 1.0 if static else max(args.prefill_batch, 1.0))
    op = best_operating_point(chip, model, start, args.chips, ttft, tpot, static_prefill=static)
    scenario = dataclasses.replace(
        start,
        batch=start.batch * 0 + op.batch,
        prefill_batch=start.batch * 0 + (op.batch if static else min(args.prefill_batch, op.batch)),
    )
    out = metrics_dict(op.metrics, info, model, scenario, op.mapping, "auto", op.replicas)
    out["batch_chosen_by"] = "auto: max total tokens/s within memory and SLOs"
    if not static:  # continuous batching: the inter-token time the SLO was checked on
        per_replica = float(op.metrics.tokens_per_s_per_replica)
        out["tpot_loaded_ms"] = op.batch / per_replica * 1e3
    out["feasible"] = op.feasible
    if not op.feasible:
        out["infeasible_because"] = op.reason
    return out, op.metrics


def _print_predict(out: dict[str, Any]) -> None:
    m = out["mapping"]
    print(
        f"{out['model']} on {out['chips']} x {out['chip']}  (tp={m['tp']} pp={m['pp']} "
        f"ep={m['ep']}, {out['mapping_chosen_by']}; {out['replicas']} replica(s), "
        f"batch {out['scenario']['batch']:g} per replica)"
    )
    if out.get("feasible") is False:
        print(f"  INFEASIBLE: {out['infeasible_because']}; closest configuration shown")
    if not out["fits_in_memory"]:
        print(f"  DOES NOT FIT: {out['bottleneck']}; the numbers below are not achievable")
    print(
        f"  TTFT {out['ttft_ms']:.2f} ms   TPOT {out['tpot_ms']:.3f} ms   "
        f"{out['tokens_per_s_per_user']:.1f} tok/s per user"
    )
    print(
        f"  {out['tokens_per_s_total']:.1f} tok/s total, "
        f"{out['tokens_per_s_per_chip']:.1f} per chip, "
        f"{out['energy_j_per_token']:.3f} J/token, {out['power_w_per_chip']:.0f} W per chip"
    )
    if "tpot_loaded_ms" in out:
        print(f"  TPOT with prefills interleaved (continuous): {out['tpot_loaded_ms']:.2f} ms")
    if "cost_usd_per_mtok" in out:
        print(
            f"  ${out['cost_usd_per_mtok']:.3f} per million output tokens "
            f"(TCO ${out['tco_usd_per_hour_per_chip']:.2f}/chip-hour, chip "
            f"${out['chip_cost_usd']:,.0f}: {out['chip_cost_basis'].split(':')[0]})"
        )
    print(
        f"  memory per chip {out['resident_gb_per_chip']:.2f} GB "
        f"(slack {out['memory_slack_gb']:.2f} GB)"
    )
    print(
        f"  decode bottleneck: {out['bottleneck']}; prefill bottleneck: {out['prefill_bottleneck']}"
    )
    for phase, parts in out["breakdown_ms"].items():
        text = ", ".join(f"{k} {v:.3f}" for k, v in parts.items() if v > 0)
        print(f"  {phase} (ms): {text}")
    if "confidence" in out:
        c = out["confidence"]
        k = c["knobs"]
        where = f"{k['table']}" + (f", stack {k['stack']}" if k["stack"] else "")
        print(
            f"  confidence: {c['label']} (knobs: {where}; {k['points']} fitted points, "
            f"{k['points_on_chip']} on this chip)"
        )
        for line in c["rests_on"]:
            print(f"    rests on: {line}")


def cmd_compare(args: argparse.Namespace) -> list[dict[str, Any]]:
    model = load_model(args.model)
    scenario = _scenario(args)
    rows = []
    for chip_id in COMPARE_CHIPS:
        if chip_id not in list_ids("chips"):
            continue
        chip, info = load_chip(chip_id), load_chip_info(chip_id)
        n, mapping, metrics = min_chips(chip, model, scenario)
        rows.append(metrics_dict(metrics, info, model, scenario, mapping, "auto"))
    return rows


def _print_compare(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"{args.model}, batch {args.batch:g}, prompt {args.prompt:g}, output {args.output:g}, "
        f"{args.precision}; fewest chips (2^a 3^b) that hold the model, best mapping"
    )
    for r in rows:
        m = r["mapping"]
        r["map"] = f"tp{m['tp']} pp{m['pp']}" + (f" ep{m['ep']}" if m["ep"] > 1 else "")
        r["fit"] = "yes" if r["fits_in_memory"] else "NO"
    cols = [
        ("chip", "chip", ""),
        ("chips", "chips", "d"),
        ("map", "mapping", ""),
        ("fit", "fits", ""),
        ("ttft_ms", "TTFT ms", ".1f"),
        ("tpot_ms", "TPOT ms", ".2f"),
        ("tokens_per_s_per_user", "tok/s/user", ".0f"),
        ("tokens_per_s_per_chip", "tok/s/chip", ".1f"),
        ("energy_j_per_token", "J/token", ".3f"),
        ("bottleneck", "decode bottleneck", ""),
    ]
    print(table(rows, cols))


def _folds(args: argparse.Namespace) -> int:
    if args.folds < 0 or args.folds == 1:
        raise ConfigError(
            f"{args.command}: --folds must be 0 (leave-one-out) or >= 2, got {args.folds}"
        )
    return args.folds


def cmd_benchmark(args: argparse.Namespace) -> None:
    from explorer.calibration.benchmark import run_benchmark
    from explorer.calibration.benchmark_report import benchmark_dict, benchmark_text

    bench = run_benchmark(folds=_folds(args), steps=args.steps)
    out = benchmark_dict(bench)
    if args.plot:
        _save_parity(out, args.plot)
    print(json.dumps(out, indent=2) if args.json else benchmark_text(out))


def _save_parity(out: dict[str, Any], path: str) -> None:
    from explorer.plots import figures as plots

    pts = [p for p in out["points"] if p["fitted"]]
    meas = np.array([p["measured"] for p in pts])
    fig = plots.parity(
        meas,
        {
            "uncalibrated (datasheet + default knobs)": np.array(
                [p["predicted_uncalibrated"] for p in pts]
            ),
            "calibrated, leave-one-source-out": np.array([p["predicted_loso"] for p in pts]),
        },
        [p["vendor"] for p in pts],
        f"explorer vs {len(pts)} published measurements",
    )
    _save_figure(fig, path)


def _save_figure(fig, path: str) -> None:
    """Save atomically: render to a temporary file, then rename."""
    import os
    import tempfile
    from pathlib import Path

    target = Path(path)
    if not target.parent.exists():
        raise ConfigError(f"--plot: folder '{target.parent}' does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=target.suffix or ".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=130)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_calibrate(args: argparse.Namespace) -> None:
    from explorer.calibration.benchmark import ape, run_benchmark
    from explorer.calibration.benchmark_report import knobs_dict
    from explorer.calibration.calibration_file import render, write_atomic
    from explorer.model.configio import CONFIG_DIR

    bench = run_benchmark(folds=_folds(args), steps=args.steps)
    meas = np.array([c.measured for c in bench.cases])
    fit = bench.in_fit
    cv = float(np.median(ape(bench.cv[fit], meas[fit])))
    from explorer.calibration import fit as cal
    from explorer.model.smooth import EXACT

    in_sample = cal.evaluate(bench.cases, bench.fitted, EXACT)
    centres = dict(zip(bench.parents, bench.fitted_parent, strict=True))
    text = render(
        bench.families, bench.fitted, bench.cases, fit, in_sample, cv, bench.cv_kind, centres
    )
    path = args.out or CONFIG_DIR / "calibration.toml"
    write_atomic(path, text)
    print(json.dumps(knobs_dict(bench.families, bench.fitted), indent=2))
    print(
        f"wrote {path} ({int(fit.sum())} points; {bench.cv_kind} cross-validated "
        f"median APE {cv:.1f}%)"
    )


def cmd_optimize(args: argparse.Namespace) -> dict[str, Any]:
    import time

    from explorer.calibration.calibration_file import write_atomic
    from explorer.design.design_file import render_design
    from explorer.design.tech import load_tech
    from explorer.search import design_search as search

    tech = load_tech()
    # HBM parts in switched nodes; SRAM-only parts in a deterministic chip-to-chip fabric
    plans = [(args.memory, "switch" if args.memory != "none" else "torus")] if args.memory else [
        ("HBM3E", "switch"), ("HBM4", "switch"), ("none", "torus")]  # fmt: skip
    memories = [m for m, _ in plans]
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
    scenario = _scenario(args)
    targets = search.Targets(
        tpot_s=args.target_tpot_ms / 1e3,
        ttft_s=float("inf") if args.target_ttft_ms is None else args.target_ttft_ms / 1e3,
        objective=args.objective,
        max_power_w=args.max_power_w,
    )
    start = time.perf_counter()
    found = [search.search(model, scenario, targets, tech, m, nodes, fabric=f) for m, f in plans]
    feasible = [f for f in found if f.feasible]
    best = (
        min(feasible, key=lambda f: f.objective)
        if feasible
        else min(found, key=lambda f: f.violation)
    )
    seconds = time.perf_counter() - start
    out = search.summary(best)
    out["seconds"] = seconds
    out["objective_name"] = args.objective
    out["searched"] = [
        {"memory": f.design.memory, "node": f.design.node, "fabric": f.fabric,
         "feasible": f.feasible,
         "objective": f.objective, "binding": f.binding, "violation": f.violation}
        for f in found
    ]  # fmt: skip
    out["reference"] = search.cheapest_reference(model, scenario, targets, COMPARE_CHIPS)
    if args.out:
        m = best.mapping
        extra = (
            f'\n[provenance]\nmodel = "{args.model}"\nchips = {best.n_chips}\n'
            f"tp = {int(m.tp)}\npp = {int(m.pp)}\nbatch = {args.batch:g}\n"
            f'target_tpot_ms = {args.target_tpot_ms:g}\nobjective = "{args.objective}"\n'
        )
        text = render_design(
            best.design,
            f"optimized-{args.model}",
            family=search.DESIGN_FAMILY,
            extra=extra,
            fabric=search.fabric_spec(best.fabric, tech),
        )
        write_atomic(Path(args.out), text)
        out["written"] = args.out
    return out


def _optimize_text(out: dict[str, Any]) -> str:
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


def cmd_pareto(args: argparse.Namespace) -> dict[str, Any]:
    import time

    from explorer.design.economics import economics
    from explorer.design.tech import load_tech
    from explorer.search import design_search as search
    from explorer.search.mapping_choice import min_chips

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
    scenario = _scenario(args)
    base = search.Targets(tpot_s=1.0, objective=args.objective)
    start = time.perf_counter()
    per_memory = [
        search.pareto(model, scenario, base, [t / 1e3 for t in targets_ms], tech, mem,
                      "torus" if mem == "none" else "switch")
        for mem in memories
    ]  # fmt: skip
    found = [
        min(options, key=lambda f: (not f.feasible, f.objective if f.feasible else f.violation))
        for options in zip(*per_memory, strict=True)
    ]
    seconds = time.perf_counter() - start
    front = []
    for t, f in zip(targets_ms, found, strict=True):
        row = search.summary(f)
        row["target_tpot_ms"] = t
        front.append(row)
    refs: dict[str, list[dict[str, float]]] = {}
    for cid in COMPARE_CHIPS:
        chip, info = load_chip(cid), load_chip_info(cid)
        n0, _, _ = min_chips(chip, model, scenario)
        for n in sorted({n0, 2 * n0, 4 * n0}):
            mapping, m = choose_mapping(chip, model, scenario, n)
            if not bool(m.fits):
                continue
            econ = economics(m, chip, info, tech)
            value = econ["cost_usd_per_mtok"] if args.objective == "tco_per_mtok" else None
            value = value if value is not None and np.isfinite(value) else None  # no price
            refs.setdefault(cid, []).append(
                {"chips": n, "tpot_ms": float(m.tpot_s) * 1e3, "objective": value}
            )
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
        _save_figure(fig, args.plot)
    return out


def _pareto_text(out: dict[str, Any]) -> str:
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
        text = ", ".join(
            f"{p['chips']} chips {p['tpot_ms']:.2f} ms "
            + (f"${p['objective']:.3g}" if p["objective"] is not None else "(no price)")
            for p in pts
        )
        lines.append(f"    {cid}: {text}")
    lines.append(f"  {out['seconds']:.1f} s for the front")
    return "\n".join(lines)


def cmd_cost(args: argparse.Namespace) -> dict[str, Any]:
    from explorer.design import area_power, constraints
    from explorer.design import cost as costmod
    from explorer.design.economics import chip_capex
    from explorer.design.reference_designs import reference_design, validate
    from explorer.design.tech import load_tech

    tech = load_tech()
    if args.validate:
        if args.chip or args.chip_file:
            raise ConfigError("cost: --validate takes no --chip or --chip-file")
        return {"validate": validate(tech=tech)}
    if (args.chip is None) == (args.chip_file is None):
        raise ConfigError("cost: give exactly one of --chip ID, --chip-file FILE or --validate")
    if args.chip_file:
        from explorer.design.design_file import load_design_chip

        chip, info, design = load_design_chip(args.chip_file, tech)
    else:
        info = load_chip_info(args.chip)
        chip, design = load_chip(args.chip), reference_design(args.chip, tech)
    f = lambda d: {k: float(v) for k, v in d.items()}  # noqa: E731
    mfg = f(costmod.manufacturing_cost(design, tech))
    capex, basis = chip_capex(info, tech, design if args.chip_file else None)
    server = 0.0 if info.tdp_scope == "system" else None
    tco = f(costmod.tco_per_hour(capex, float(chip.tdp_w), tech.economics, server))
    return {
        "chip": info.id,
        "design": {
            "node": design.node,
            "memory": design.memory,
            "dies": float(design.dies),
            "mem_stacks": float(design.mem_stacks),
            "wafer_scale": design.wafer_scale,
        },
        "area_mm2": f(area_power.area(design, tech)),
        "dies_per_wafer": mfg["dies_per_wafer"],
        "yield": mfg["yield"],
        "power_w": f(area_power.power(design, tech)),
        "tdp_w": float(chip.tdp_w),
        "manufacturing_cost_usd": mfg,
        "capex_usd": capex,
        "capex_basis": basis,
        "tco_usd_per_hour": tco,
        "constraints_slack": f(constraints.constraints(design, tech)),
        "sources": "configs/cost.toml (every constant with its source), configs/physics.toml",
    }


def _cost_text(out: dict[str, Any]) -> str:
    if "validate" in out:
        from explorer.design.reference_designs import validation_table

        return validation_table(out["validate"])
    d = out["design"]

    def join(values: dict[str, float], suffix: str, fmt: str) -> str:
        return ", ".join(f"{k.removesuffix(suffix)} {format(v, fmt)}" for k, v in values.items())

    wafer = " (wafer scale)" if d["wafer_scale"] else ""
    mfg = {k: v for k, v in out["manufacturing_cost_usd"].items() if k.endswith("_usd")}
    return "\n".join(
        [
            f"{out['chip']}: {d['node']}, memory {d['memory']} x {d['mem_stacks']:g}, "
            f"dies {d['dies']:g}{wafer}",
            "  area mm2: " + join(out["area_mm2"], "_mm2", ",.0f"),
            f"  dies per wafer {out['dies_per_wafer']:.1f}, yield {out['yield']:.1%}",
            "  power W at full load: "
            + join(out["power_w"], "_w", ",.0f")
            + f" (TDP in config {out['tdp_w']:,.0f})",
            "  manufacturing $: " + join(mfg, "_usd", ",.0f"),
            f"  capex ${out['capex_usd']:,.0f} ({out['capex_basis']})",
            "  TCO $/h: " + join(out["tco_usd_per_hour"], "_usd_per_h", ".3f"),
            "  constraint slack (>0 satisfied): " + join(out["constraints_slack"], "", "+.2f"),
            f"  sources: {out['sources']}",
        ]
    )


def cmd_chips() -> list[dict[str, Any]]:
    rows = []
    for cid in list_ids("chips"):
        chip, info = load_chip(cid), load_chip_info(cid)
        cap = np.asarray(chip.mem_capacity_bytes)
        bw = np.asarray(chip.mem_bw_bytes_per_s)
        rows.append({
            "id": cid, "vendor": info.vendor,
            "bf16_tflops": float(chip.peak_flops_per_s[1]) / units.TERA,
            "fp8_tflops": float(chip.peak_flops_per_s[2]) / units.TERA,
            "sram_mb": float(cap[0]) / units.MB, "sram_tb_s": float(bw[0]) / units.TB,
            "offchip_gb": float(cap[1] + cap[2]) / units.GB,
            "offchip_tb_s": float(bw[1]) / units.TB if cap[1] > 0 else 0.0,
            "link_gb_s": float(chip.link_bw_bytes_per_s) / units.GB,
            "domain": int(chip.domain_chips), "tdp_w": float(chip.tdp_w),
            "estimated": len(info.estimated),
        })  # fmt: skip
    return rows


def cmd_fleet(args: argparse.Namespace) -> dict[str, Any]:
    """Plan the scenario's fleet (explorer.fleet.plan); with --design-chip, also design one
    chip for it and re-plan with it in the catalogue (explorer.fleet.chip_design)."""
    from explorer.design.tech import load_tech
    from explorer.fleet import plan as fleet
    from explorer.fleet import report as fleet_report
    from explorer.fleet.scenario import load_scenario

    if args.plot and not Path(args.plot).parent.exists():  # fail before the work
        raise ConfigError(f"--plot: folder '{Path(args.plot).parent}' does not exist")
    scenario = load_scenario(args.scenario)
    if args.objective:
        scenario = dataclasses.replace(scenario, objective=args.objective)
    tech = fleet.scenario_tech(scenario, load_tech())
    n = len(scenario.tiers) * len(scenario.options)
    done = []

    def progress(tier: str, option: str) -> None:
        done.append(1)
        _status(f"fleet: {len(done)}/{n} {tier} on {option}")

    plan = fleet.plan(scenario, tech, progress=progress)
    out = fleet_report.summary(plan, tech.economics)
    if args.design_chip:
        from explorer.fleet import chip_design as fleet_design

        def designing(model_id: str, memory: str) -> None:
            _status(f"fleet: designing a chip ({model_id}, memory {memory})")

        out["design_chip"] = fleet_design.design_for_fleet(plan, tech, progress=designing)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.plot:
        from explorer.plots import figures as plots

        _save_figure(plots.fleet_bars(out), args.plot)
    return out


def _status(line: str) -> None:
    """Overwrite one progress line on a terminal's stderr (nothing when redirected)."""
    if sys.stderr.isatty():
        print(f"\r{line}" + " " * 20, end="", file=sys.stderr, flush=True)


def _fleet_text(out: dict[str, Any]) -> str:
    from explorer.fleet import report as fleet_report

    return fleet_report.text(out)


def cmd_models() -> list[dict[str, Any]]:
    rows = []
    for mid in list_ids("models"):
        m = load_model(mid)
        rows.append({
            "id": mid, "layers": m.n_layers, "d_model": m.d_model, "attention": m.attention,
            "experts": f"{m.top_k}/{m.n_experts}" if m.is_moe else "-",
            "total_b": m.total_params / 1e9, "active_b": m.active_params / 1e9,
            "kv_kb_per_token": m.kv_elems_per_token_layer * m.n_layers * 2 / 1e3,
        })  # fmt: skip
    return rows


# commands that return one dict, printed as JSON (--json) or by their text function
_JSON_OR_TEXT = {
    "optimize": (cmd_optimize, _optimize_text),
    "pareto": (cmd_pareto, _pareto_text),
    "fleet": (cmd_fleet, _fleet_text),
    "cost": (cmd_cost, _cost_text),
}


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (tests call this in-process)."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command == "predict":
            out: Any = cmd_predict(args)
            print(json.dumps(out, indent=2)) if args.json else _print_predict(out)
        elif args.command in _JSON_OR_TEXT:
            command, text = _JSON_OR_TEXT[args.command]
            out = command(args)
            print(json.dumps(out, indent=2) if args.json else text(out))
        elif args.command == "benchmark":
            cmd_benchmark(args)
        elif args.command == "calibrate":
            cmd_calibrate(args)
        elif args.command == "compare":
            out = cmd_compare(args)
            print(json.dumps(out, indent=2)) if args.json else _print_compare(out, args)
        elif args.command == "chips":
            out = cmd_chips()
            cols = [("id", "id", ""), ("vendor", "vendor", ""), ("bf16_tflops", "BF16 TF/s", ".0f"),
                    ("fp8_tflops", "FP8 TF/s", ".0f"), ("sram_mb", "SRAM MB", ".0f"),
                    ("sram_tb_s", "SRAM TB/s", ".1f"), ("offchip_gb", "off-chip GB", ".0f"),
                    ("offchip_tb_s", "off-chip TB/s", ".2f"), ("link_gb_s", "link GB/s", ".0f"),
                    ("domain", "domain", "d"), ("tdp_w", "TDP W", ".0f"),
                    ("estimated", "est. fields", "d")]  # fmt: skip
            print(json.dumps(out, indent=2)) if args.json else print(table(out, cols))
        elif args.command == "models":
            out = cmd_models()
            cols = [("id", "id", ""), ("layers", "layers", "d"), ("d_model", "d_model", "d"),
                    ("attention", "attention", ""), ("experts", "top-k/experts", ""),
                    ("total_b", "total B", ".1f"), ("active_b", "active B", ".1f"),
                    ("kv_kb_per_token", "KV kB/token (16-bit)", ".1f")]  # fmt: skip
            print(json.dumps(out, indent=2)) if args.json else print(table(out, cols))
    except ConfigError as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def main() -> None:
    """Console entry point. Compiled XLA programs are cached on disk between runs
    (``EXPLORER_CACHE_DIR``, default ~/.cache/explorer/jax; set it to "" to disable), so a
    second ``explorer predict`` skips most of its compilation."""
    import os

    cache = os.environ.get("EXPLORER_CACHE_DIR", os.path.expanduser("~/.cache/explorer/jax"))
    if cache:
        import jax

        jax.config.update("jax_compilation_cache_dir", cache)
    sys.exit(run())
