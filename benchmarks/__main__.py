"""Speed benchmarks of explorer (issue 7): a table, or one JSON object with --json.

    python -m benchmarks            # full run, a few minutes on 2 cores
    python -m benchmarks --quick    # under a minute
    python -m benchmarks --json     # one JSON object (figures and the machine)

Run from the repository root. What is measured and how: benchmarks/speed.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from benchmarks import speed


def jsonable(x: Any) -> Any:
    """Plain JSON types (numpy scalars and tuples converted)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def _si(x: float) -> str:
    return f"{x:.3g}" if isinstance(x, int | float) else str(x)


def _spread(st: dict[str, float]) -> str:
    return f"{st['median_s']:.4g} s  [{st['min_s']:.4g}, {st['max_s']:.4g}] x{st['reps']}"


def _rate_rows(title: str, rows: list[dict]) -> list[str]:
    lines = [title, f"  {'designs':>9} {'chunk':>7} {'calls':>5}  {'per s (median)':>15}  time"]
    for r in rows:
        lines.append(
            f"  {r['batch']:>9,} {r['chunk']:>7,} {r['calls']:>5}  {r['rate_per_s']:>15.3g}  "
            + _spread(r)
        )
    return lines


def _compile_rows(compile_s: dict[str, dict]) -> list[str]:
    return [
        f"  compile, chunk of {size}: trace {c['trace_s']:.2f} s, lower {c['lower_s']:.2f} s, "
        f"XLA {c['compile_s']:.2f} s"
        for size, c in compile_s.items()
    ]


def text(out: dict[str, Any]) -> str:
    m = out["machine"]
    lines = [
        f"explorer speed ({'full' if out['config']['full'] else 'quick'}), "
        f"{out['setup']['model']} on random {out['setup']['chip']}-like designs, "
        f"{out['setup']['dtype']}",
        f"machine: {m['cpu']}, {m['cpus_usable']} cores usable, {m['platform']}, "
        f"jax {m['jax']} ({m['backend']}), load average {m['load_average_start'][0]:.1f} "
        f"-> {m['load_average_end'][0]:.1f}",
        "",
    ]
    ev = out["evals"]
    lines += _rate_rows("1. model evaluations (predict, full Metrics, vmapped)", ev["rows"])
    lines += _compile_rows(ev["compile"])
    lines.append(f"  peak RSS {ev['peak_rss_bytes'] / 1e9:.2f} GB")
    g = out["grads"]
    titles = dict(tpot_s="2a. TPOT", cost_usd_per_mtok="2b. cost per million tokens")
    for metric, title in titles.items():
        gm = g[metric]
        num, name = title.split(" ", 1)
        lines += [""] + _rate_rows(
            f"{num} gradient evaluations: d {name} / d chip ({g['params_per_design']} parameters), "
            f"all finite: {gm['all_finite']}",
            gm["rows"],
        )
        lines += _compile_rows(gm["compile"])
    lines.append("")
    c = out["compile"]
    one = c["predict_one_point"]
    lines += [
        "3. compile of predict (one point): "
        + ", ".join(f"{k[:-2]} {one[k]['median_s']:.2f} s" for k in one),
        f"  first call (notebook): {_spread(c['first_call'])}",
        f"  later calls: {_spread(c['later_call'])}",
    ]
    opt = out["optimize"]
    if isinstance(opt, dict):
        solves = [
            f"  solve {i + 1}: {s['wall_s']:.1f} s = trace {s['trace_s']:.1f} + lower "
            f"{s['lower_s']:.1f} + XLA {s['xla_compile_s']:.1f} ({s['xla_compiles']} compiles)"
            f" + the rest {s['rest_s']:.1f}"
            for i, s in enumerate(opt["solves"])
        ]
        opt = "\n".join(
            [f"{opt['what']}, {opt['iterations']} iterations, feasible: {opt['feasible']}"] + solves
        )
    par = out["pareto"]
    if isinstance(par, dict):
        solve = par["reported_solve_s"]
        said = f" (solve {solve:.1f} s, as it reports)" if isinstance(solve, float) else ""
        par = f"{par['command']}: {par['wall_s']:.1f} s wall, one run{said}"
    lines += [
        "",
        f"4. explorer optimize: {opt}",
        f"  explorer pareto: {par}",
        f"  fleet solve: {out['fleet']}",
        "",
        f"5. cold start ({out['cold_start']['command']}):",
    ]
    lines += [f"  {k}: {_spread(v)}" for k, v in out["cold_start"].items() if k != "command"]
    p = out["python"]
    lines += [
        "",
        f"6. plain Python (benchmarks/reference_python.py), {p['points']:,} designs: "
        f"{p['rate_per_s']:.3g} evals/s ({_spread(p)})",
        f"  max relative difference from float32 predict: {p['max_rel_diff_float32']:.2g} "
        f"({', '.join(p['compared'])})",
        f"  explorer / plain Python: {p['speedup_of_jax']:.0f}x",
        "",
        "targets:",
    ]
    for t in out["targets"]:
        met = {True: "met", False: "MISSED", None: "-"}[t["met"]]
        lines.append(f"  {t['figure']:<34} {_si(t['measured']):>18}  target {t['target']:g}  {met}")
    lines += ["", "profile (where an evaluation's time goes):"] + profile_text(out["profile"])
    sections = ", ".join(f"{k} {v:.0f} s" for k, v in out["section_s"].items())
    lines.append(f"\nwall time {out['wall_s']:.0f} s ({sections})")
    return "\n".join(lines)


_VARIANTS = dict(all="full Metrics", scalars="without the (6,) breakdowns", tpot="TPOT only")


def _variant_lines(variants: dict[str, Any]) -> list[str]:
    lines = []
    for key, v in variants.items():
        if key in _VARIANTS:
            compile_s = "" if v["compile_s"] is None else f"  XLA compile {v['compile_s']:.2f} s"
            lines.append(
                f"    {_VARIANTS[key]:<29} {v['rate_per_s']:>9.3g}/s {v['kernels_per_call']:>4} "
                f"kernels {v['elementwise_ops_per_design']:>5} ops/design{compile_s}"
            )
    return lines


def profile_text(pr: dict[str, Any]) -> list[str]:
    lines = [f"  predict traces to {pr['jaxpr_eqns']} jaxpr equations; by explorer function:"]
    lines += [f"    {n:>5}  {name}" for name, n in pr["jaxpr_eqns_by_function"].items()]
    k = pr["kernels"]
    lines.append(
        f"  one call over a chunk, jax.profiler: {k['kernels']} XLA kernels, "
        f"{k['kernel_s_per_call'] * 1e3:.2f} ms of kernel time; the slowest:"
    )
    lines += [
        f"    {r['s'] * 1e6:>7.0f} us {r['share']:>5.0%}  {r['kernel']:<30} "
        f"{r['shape']:<14} {r['op']}"
        for r in k["top"]
    ]
    if "variants" in pr:
        lines.append(f"  a sweep that needs fewer outputs (10 chunks, {pr['cores']} cores):")
        lines += _variant_lines(pr["variants"])
    if "variants_without_ynn" in pr:
        lines.append(f"  the same with XLA_FLAGS={pr['variants_without_ynn']['xla_flags']}:")
        lines += _variant_lines(pr["variants_without_ynn"])
    if "one_vmap_100000" in pr:
        lines.append(
            "  full Metrics as one vmap over 100,000 designs (no chunks): "
            f"{pr['one_vmap_100000']['rate_per_s']:.3g}/s"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repetitions (<1 min)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    cfg = speed.QUICK if args.quick else speed.FULL
    log = lambda s: print(f"[benchmarks] {s}", file=sys.stderr, flush=True)  # noqa: E731
    out = speed.run(cfg, log)
    print(json.dumps(jsonable(out), indent=1) if args.json else text(out))


if __name__ == "__main__":
    main()
