"""Speed of explorer: model and gradient evaluations per second, compile time, cold start.

Every figure is measured ``reps`` times and reported as median, min and max (seconds,
or the rate at the median time). Float32 throughout (x64 is never enabled here).

- evals/s: ``predict`` (prefill and decode, full Metrics) vmapped over N random chip
  designs, scenarios and mappings. A batch larger than ``chunk`` runs as N / chunk
  calls of one compiled chunk function (memory stays far below 2 GB; peak RSS is
  reported). Designs: an H100 with peak FLOP/s, each tier's capacity and bandwidth and
  the link bandwidth scaled by independent log-uniform factors; batch, prompt, output,
  tp and pp drawn at random; Llama 3.1 70B in bf16.
- grad evals/s: d TPOT / d (every chip parameter), 39 numbers per design, vmapped; the
  same for the cost per million tokens (TCO per chip-hour over tokens/s per chip).
- compile: trace, lower and XLA compile of ``predict`` for one point and of the
  vmapped chunk functions; first-call latency (what a notebook user waits for).
- cold start: ``explorer predict`` in a fresh process (import included), and the same
  with JAX's persistent compilation cache warm (what would cut it).
- optimize, pareto: two design searches (the solve of ``explorer optimize``) and one
  ``explorer pareto`` run, in the full run only; fleet solves do not exist yet.
- plain Python: benchmarks/reference_python.py on the same designs, its agreement
  with float32 ``predict`` and the evals/s ratio.
- profile: where an evaluation's time goes (jaxpr equations by explorer function,
  XLA kernels and elementwise ops per design, rates without the breakdown arrays).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import gzip
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np

import explorer as ex
from benchmarks import reference_python as ref
from explorer.design import cost
from explorer.design.tech import load_tech

CHIP_ID = "h100-sxm"
MODEL_ID = "llama-3.1-70b"
CLI_ARGS = ("predict", "--chip", "h100-sxm", "--chips", "4", "--model", "llama-3.1-70b")
TARGETS = dict(evals_per_s=1e7, grad_evals_per_s=1e6, cold_start_s=3.0, compile_s=5.0)
NOT_YET = "not yet available"


@dataclasses.dataclass(frozen=True)
class Config:
    """What one run measures; QUICK finishes in under a minute on 2 cores."""

    eval_sizes: tuple[int, ...]
    grad_sizes: tuple[int, ...]
    chunk: int
    reps: int
    compile_reps: int
    cli_reps: int
    python_points: int
    full: bool  # also: auto-mapping CLI, persistent cache, rates of variants, one vmap 1e5


QUICK = Config(
    eval_sizes=(1_000, 10_000, 100_000, 1_000_000),
    grad_sizes=(10_000, 100_000),
    chunk=10_000,
    reps=3,
    compile_reps=1,
    cli_reps=2,
    python_points=2_000,
    full=False,
)
FULL = Config(
    eval_sizes=(1_000, 10_000, 100_000, 1_000_000),
    grad_sizes=(1_000, 10_000, 100_000, 1_000_000),
    chunk=10_000,
    reps=5,
    compile_reps=3,
    cli_reps=3,
    python_points=10_000,
    full=True,
)


# --- timing -------------------------------------------------------------------------


def stat(times: list[float], per_call: float = 1.0) -> dict[str, float]:
    """Median, min and max of repeated timings [s]; rate = per_call / median [1/s]."""
    med = statistics.median(times)
    return dict(
        median_s=med,
        min_s=min(times),
        max_s=max(times),
        reps=len(times),
        rate_per_s=per_call / med,
    )


def repeat(fn: Callable[[], Any], reps: int) -> list[float]:
    """Wall times of ``reps`` calls of fn (each blocks until its results are ready)."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return times


_COMPILE_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s",
    "/jax/core/compile/backend_compile_duration": "xla_compile_s",
}


@contextlib.contextmanager
def compile_seconds():
    """Seconds JAX spends tracing, lowering and XLA-compiling inside the block, and the
    number of XLA compiles (a dict that fills in as they happen). A jit traced inside
    another counts in both traces, so trace_s can exceed the time spent tracing."""
    spent = dict(trace_s=0.0, lower_s=0.0, xla_compile_s=0.0, xla_compiles=0)

    def listen(event: str, duration_secs: float, **_: Any) -> None:
        if event in _COMPILE_EVENTS:
            spent[_COMPILE_EVENTS[event]] += duration_secs
            spent["xla_compiles"] += _COMPILE_EVENTS[event] == "xla_compile_s"

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield spent
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- random designs -------------------------------------------------------------------


def base_point() -> tuple[ex.Chip, ex.Model, ex.Scenario, ex.Mapping]:
    """The reference chip, model, scenario and mapping (float32)."""
    chip = ex.load_chip(CHIP_ID)
    model = ex.load_model(MODEL_ID)
    return chip, model, ex.make_scenario(8, 1024, 256), ex.make_mapping(tp=4)


def random_designs(rng: np.random.Generator, n: int, chip: ex.Chip, scenario: ex.Scenario):
    """n random (Chip, Scenario, Mapping) around ``chip``, batched on axis 0, float32.

    Peak FLOP/s (all precisions together) x 1/4..4, each tier's capacity x 1/8..8 and
    bandwidth x 1/4..4, link bandwidth x 1/4..4 (log-uniform); batch 1..512, prompt
    64..16k, output 16..4k tokens (log-uniform, rounded); tp in 1..8, pp in 1..2.
    Drawn with numpy (no compile), then put on the device.
    """

    def lu(shape, lo: float, hi: float) -> np.ndarray:
        return np.exp(rng.uniform(np.log(lo), np.log(hi), shape))

    base = {k: np.asarray(v, dtype=np.float32) for k, v in vars(chip).items()}
    fields = {k: np.broadcast_to(v, (n, *v.shape)) for k, v in base.items()}
    tiers = base["mem_capacity_bytes"].shape
    fields.update(
        peak_flops_per_s=base["peak_flops_per_s"] * lu((n, 1), 0.25, 4.0),
        mem_capacity_bytes=base["mem_capacity_bytes"] * lu((n, *tiers), 0.125, 8.0),
        mem_bw_bytes_per_s=base["mem_bw_bytes_per_s"] * lu((n, *tiers), 0.25, 4.0),
        link_bw_bytes_per_s=base["link_bw_bytes_per_s"] * lu((n,), 0.25, 4.0),
    )
    chips = dataclasses.replace(chip, **fields)
    batch = np.round(lu((n,), 1.0, 512.0))
    scen = dataclasses.replace(
        jax.tree_util.tree_map(lambda x: np.full((n,), x, dtype=np.float32), scenario),
        batch=batch,
        prefill_batch=batch,
        prompt_tokens=np.round(lu((n,), 64.0, 16384.0)),
        output_tokens=np.round(lu((n,), 16.0, 4096.0)),
    )
    mapping = ex.Mapping(
        tp=2.0 ** rng.integers(0, 4, n), pp=2.0 ** rng.integers(0, 2, n), ep=np.ones(n)
    )
    f32 = lambda x: np.asarray(x, dtype=np.float32)  # noqa: E731
    return jax.device_put(jax.tree_util.tree_map(f32, (chips, scen, mapping)))


def design_chunks(n: int, chunk: int, chip, scenario, seed: int = 0) -> list[tuple]:
    """n designs as n // min(n, chunk) batches of min(n, chunk) (drawn per chunk)."""
    size = min(n, chunk)
    rng = np.random.default_rng(seed)
    return [random_designs(rng, size, chip, scenario) for _ in range(n // size)]


# --- compiled functions -----------------------------------------------------------------


def eval_fn(model: ex.Model, select: str = "all") -> Callable:
    """vmapped predict returning all Metrics, all but the breakdowns, or TPOT only."""

    def one(c, s, m):
        out = ex.predict(c, model, s, m)
        if select == "tpot":
            return out.tpot_s
        if select == "scalars":
            return {k: v for k, v in vars(out).items() if not k.endswith("breakdown_s")}
        return out

    return jax.vmap(one)


def usd_per_mtok_fn(model: ex.Model) -> Callable:
    """Cost per million output tokens [$] of a design, as explorer.design.economics prices it:
    TCO per chip-hour at the chip's TDP with the reference chip's published price as
    capex (a Chip carries no price), over tokens/s per chip at the default utilisation."""
    econ = load_tech().economics
    price = ex.load_chip_info(CHIP_ID).price_usd

    def usd_per_mtok(c, s, m):
        tco = cost.tco_per_hour(price, c.tdp_w, econ)["total_usd_per_h"]
        per_chip = ex.predict(c, model, s, m).tokens_per_s_per_chip
        return cost.cost_per_mtok(tco, per_chip, econ.utilisation)

    return usd_per_mtok


def grad_fn(model: ex.Model, metric: str = "tpot_s") -> Callable:
    """vmapped d metric / d chip (a Chip of gradients per design); metric: tpot_s or
    cost_usd_per_mtok."""
    if metric == "cost_usd_per_mtok":
        return jax.vmap(jax.grad(usd_per_mtok_fn(model)))
    return jax.vmap(jax.grad(lambda c, s, m: getattr(ex.predict(c, model, s, m), metric)))


def aot(fn: Callable, args: tuple) -> tuple[Any, dict[str, float]]:
    """jit, trace, lower and compile fn for args; (executable, seconds of each stage)."""
    t0 = time.perf_counter()
    traced = jax.jit(fn).trace(*args)
    t1 = time.perf_counter()
    lowered = traced.lower()
    t2 = time.perf_counter()
    compiled = lowered.compile()
    t3 = time.perf_counter()
    return compiled, dict(trace_s=t1 - t0, lower_s=t2 - t1, compile_s=t3 - t2, total_s=t3 - t0)


# --- measurements -----------------------------------------------------------------------


def _rates(fn: Callable, sizes, cfg: Config, chip, scenario, compiled: dict) -> tuple[list, dict]:
    """Rates of fn at each batch size; compile stages of each new chunk shape, whose
    executables are added to ``compiled`` (batch size -> executable)."""
    compile_s: dict[str, dict] = {}
    rows = []
    for n in sizes:
        chunks = design_chunks(n, cfg.chunk, chip, scenario)
        size = min(n, cfg.chunk)
        if size not in compiled:
            compiled[size], compile_s[str(size)] = aot(fn, chunks[0])
        exe = compiled[size]
        times = repeat(lambda: [exe(*c) for c in chunks], cfg.reps)  # noqa: B023
        rows.append(dict(batch=n, chunk=size, calls=len(chunks), **stat(times, n)))
    return rows, compile_s


def measure_evals(cfg: Config, model, chip, scenario, compiled: dict) -> dict:
    rows, compile_s = _rates(eval_fn(model), cfg.eval_sizes, cfg, chip, scenario, compiled)
    return dict(rows=rows, compile=compile_s, peak_rss_bytes=peak_rss_bytes())


GRAD_METRICS = ("tpot_s", "cost_usd_per_mtok")


def measure_grads(cfg: Config, model, chip, scenario) -> dict:
    """Gradient evals/s of TPOT and of cost per token w.r.t. every chip parameter."""
    out: dict[str, Any] = dict(
        wrt="every Chip field",
        params_per_design=sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(chip)),
    )
    chunk = design_chunks(cfg.chunk, cfg.chunk, chip, scenario, seed=1)[0]
    for metric in GRAD_METRICS:
        compiled: dict[int, Any] = {}
        fn = grad_fn(model, metric)
        rows, compile_s = _rates(fn, cfg.grad_sizes, cfg, chip, scenario, compiled)
        g = compiled[cfg.chunk](*chunk)
        finite = all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(g))
        out[metric] = dict(rows=rows, compile=compile_s, all_finite=finite)
    out["peak_rss_bytes"] = peak_rss_bytes()
    return out


def measure_compile(cfg: Config, model, chip, scenario, mapping) -> dict:
    """Stages of predict's compile for one point, and the first-call latency."""
    stages, first, second = [], [], []
    for _ in range(cfg.compile_reps):
        jax.clear_caches()
        _, st = aot(lambda c, s, m: ex.predict(c, model, s, m), (chip, scenario, mapping))
        stages.append(st)
        jax.clear_caches()
        first += repeat(lambda: ex.predict(chip, model, scenario, mapping), 1)
        second += repeat(lambda: ex.predict(chip, model, scenario, mapping), 3)
    by_stage = {k: stat([s[k] for s in stages]) for k in stages[0]}
    return dict(
        predict_one_point=by_stage,
        first_call=stat(first),
        later_call=stat(second),
    )


def explorer_script() -> str:
    """The ``explorer`` console script of this interpreter's environment."""
    return str(Path(sys.executable).with_name("explorer"))


def _cli_times(args: tuple[str, ...], reps: int, env: dict[str, str] | None = None) -> list:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run([explorer_script(), *args], check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return times


def measure_cold_start(cfg: Config) -> dict:
    """Wall time of `explorer predict` in a fresh process (import, load, compile, print)."""
    out = {}
    fixed = (*CLI_ARGS, "--tp", "4", "--json")
    out["predict --tp 4"] = stat(_cli_times(fixed, cfg.cli_reps))
    imp = [sys.executable, "-c", "import explorer.cli.main"]
    times = []
    for _ in range(cfg.cli_reps):
        t0 = time.perf_counter()
        subprocess.run(imp, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    out["python -c 'import explorer.cli.main'"] = stat(times)
    if cfg.full:
        out["predict (auto mapping)"] = stat(_cli_times((*CLI_ARGS, "--json"), cfg.cli_reps))
        with tempfile.TemporaryDirectory() as cache:
            env = dict(
                os.environ,
                JAX_COMPILATION_CACHE_DIR=cache,
                JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
            )
            _cli_times(fixed, 1, env)  # fills the cache
            out["predict --tp 4, persistent cache warm"] = stat(
                _cli_times(fixed, cfg.cli_reps, env)
            )
    out["command"] = f"{explorer_script()} {' '.join(fixed)}"
    return out


def _python_points(chunk: tuple) -> list[tuple[dict, dict, dict]]:
    """Per-design float dicts of a batched (Chip, Scenario, Mapping) for the reference."""
    c, s, m = chunk
    n = int(c.tdp_w.shape[0])
    chip_cols = {k: getattr(c, k).tolist() for k in ex.CHIP_FIELDS}
    names = {k: getattr(s, k) for k in ("weight_precision", "act_precision", "kv_precision")}
    scen_cols = {
        k: v.tolist() for k, v in vars(s).items() if k not in names and hasattr(v, "tolist")
    }
    map_cols = {k: getattr(m, k).tolist() for k in ("tp", "pp", "ep")}
    return [
        (
            {k: v[i] for k, v in chip_cols.items()},
            {**{k: v[i] for k, v in scen_cols.items()}, **names},
            {k: v[i] for k, v in map_cols.items()},
        )
        for i in range(n)
    ]


def measure_python(cfg: Config, model, chip, scenario, exe, jax_rate: float) -> dict:
    """Plain-Python evals/s, agreement with float32 predict (``exe``: the compiled
    chunk function), and the speed ratio."""
    chunk = design_chunks(cfg.chunk, cfg.chunk, chip, scenario, seed=2)[0]
    points = _python_points(chunk)[: cfg.python_points]
    sizes = ref.model_sizes(model)
    times = []
    for _ in range(cfg.reps):
        t0 = time.perf_counter()
        results = [ref.predict(c, sizes, s, m) for c, s, m in points]
        times.append(time.perf_counter() - t0)
    got = exe(*chunk)
    keys = ("ttft_s", "tpot_s", "tokens_per_s_per_replica", "energy_j_per_token")
    worst = max(
        float(np.max(np.abs(np.asarray(getattr(got, k))[: len(results)] / want - 1.0)))
        for k in keys
        for want in [np.array([r[k] for r in results])]
    )
    st = stat(times, len(points))
    return dict(
        points=len(points),
        **st,
        max_rel_diff_float32=worst,
        compared=list(keys),
        speedup_of_jax=jax_rate / st["rate_per_s"],
        note="predict in float32 vs the reference in float64; the float64 agreement "
        "(1e-6 relative) is tests/test_reference_python.py",
    )


def measure_optimize(cfg: Config, model) -> dict | str:
    """Two design searches in one process (explorer.search.design_search.search, the solve behind
    ``explorer optimize``, for one memory technology at the command's default targets),
    each split into JAX's trace, lower and XLA compile time and the rest (running)."""
    if not cfg.full:
        return "measured in the full run only (~70 s)"
    try:
        from explorer.search import design_search as search

        tech = load_tech()
        scenario = ex.make_scenario(1, 1024, 256)
        targets = search.Targets(tpot_s=1e-3)
        solves = []
        for _ in range(2):
            with compile_seconds() as spent:
                t0 = time.perf_counter()
                found = search.search(model, scenario, targets, tech, "HBM3E")
                wall = time.perf_counter() - t0
            compiling = spent["trace_s"] + spent["lower_s"] + spent["xla_compile_s"]
            solves.append(dict(wall_s=wall, **spent, rest_s=wall - compiling))
    except (ImportError, AttributeError, TypeError) as err:  # the search API is young
        return f"{NOT_YET} ({type(err).__name__}: {err})"
    return dict(
        what="explorer.search.design_search.search: "
        "llama-3.1-70b, batch 1, TPOT <= 1 ms, HBM3E, N4",
        solves=solves,
        iterations=int(found.iterations),
        feasible=bool(found.feasible),
    )


def measure_pareto(cfg: Config) -> dict | str:
    """Wall time of one ``explorer pareto --json`` at its defaults (a fresh process:
    import, compile and solve), and the solve time the command reports."""
    if not cfg.full:
        return "measured in the full run only (~70 s)"
    args = ("pareto", "--json")
    t0 = time.perf_counter()
    done = subprocess.run([explorer_script(), *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        return f"{NOT_YET} (explorer pareto exited {done.returncode})"
    reported = json.loads(done.stdout).get("seconds")
    return dict(command=f"explorer {' '.join(args)}", wall_s=wall, reported_solve_s=reported)


# --- profile ---------------------------------------------------------------------------


def _count_eqns(jaxpr, counts: collections.Counter) -> None:
    """Equations of a jaxpr (recursively) by the innermost explorer function."""
    for eqn in jaxpr.eqns:
        subs = [p for p in eqn.params.values() if hasattr(p, "eqns") or hasattr(p, "jaxpr")]
        if subs:
            for p in subs:
                _count_eqns(p.jaxpr if hasattr(p, "jaxpr") else p, counts)
            continue
        where = "other"
        for frame in eqn.source_info.traceback.frames:
            if "/explorer/" in frame.file_name:
                where = f"{Path(frame.file_name).stem}.{frame.function_name}"
                break
        counts[where] += 1


_HLO_OP = re.compile(r"%?([\w.\-]+) = (\w+\[[\d,]*\])[^ ]* ([\w\-]+)\(")
_FREE = {"parameter", "constant", "bitcast", "tuple", "get-tuple-element", "broadcast"}


def _hlo_computations(compiled) -> dict[str, list[str]]:
    comps: dict[str, list[str]] = {}
    name = None
    for line in compiled.as_text().splitlines():
        head = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{$", line)
        if head:
            name = head.group(1)
            comps[name] = []
        elif line.startswith("}"):
            name = None
        elif name:
            comps[name].append(line)
    return comps


def hlo_stats(compiled, batch: int) -> dict[str, Any]:
    """Kernels per call, elementwise ops per design, and each kernel's output shape and
    JAX op (from the optimised HLO of a vmapped function over ``batch`` designs)."""
    comps = _hlo_computations(compiled)

    def ops(comp: str) -> int:
        total = 0
        for line in comps.get(comp, []):
            m = _HLO_OP.search(line)
            if not m or m.group(3) in _FREE:
                continue
            if m.group(3) == "fusion":
                total += ops(re.search(r"calls=%([\w.\-]+)", line).group(1))
                continue
            dims = [int(d) for d in m.group(2).split("[")[1][:-1].split(",") if d]
            total += int(np.prod([d for d in dims if d != batch])) if batch in dims else 1
        return total

    entry = next(k for k in comps if k.startswith("main"))
    kernels = {}
    for line in comps[entry]:
        m = _HLO_OP.search(line)
        if m and m.group(3) not in _FREE:
            op = re.search(r'op_name="([^"]*)"', line)
            kernels[m.group(1)] = dict(
                shape=m.group(2), op=op.group(1).split("/")[-1] if op else m.group(3)
            )
    return dict(
        kernels_per_call=len(kernels), elementwise_ops_per_design=ops(entry), kernels=kernels
    )


def kernel_times(exe, args: tuple, calls: int = 10) -> dict[str, float]:
    """Mean wall time per call of each XLA kernel [s], from a jax.profiler trace."""
    jax.block_until_ready(exe(*args))
    with tempfile.TemporaryDirectory() as logdir:
        with jax.profiler.trace(logdir, create_perfetto_trace=True):
            for _ in range(calls):
                jax.block_until_ready(exe(*args))
        path = next(Path(logdir).rglob("perfetto_trace.json.gz"))
        events = json.loads(gzip.decompress(path.read_bytes()))
    events = events["traceEvents"] if isinstance(events, dict) else events
    total: collections.Counter = collections.Counter()
    for e in events:
        op = e.get("args", {}).get("hlo_op") if e.get("ph") == "X" else None
        if op:
            total[op] += e["dur"] * 1e-6 / calls
    return dict(total)


def top_kernels(exe, args: tuple, batch: int, n: int = 8) -> dict[str, Any]:
    """The n slowest kernels of one call: time, share of kernel time, shape, JAX op."""
    times = kernel_times(exe, args)
    shapes = hlo_stats(exe, batch)["kernels"]
    busy = sum(times.values())
    top = sorted(times.items(), key=lambda kv: -kv[1])[:n]
    rows = [
        dict(kernel=k, s=t, share=t / busy, **shapes.get(k, dict(shape="?", op="?")))
        for k, t in top
    ]
    return dict(kernel_s_per_call=busy, kernels=len(times), top=rows)


def variant_rates(cfg: Config, model, chip, scenario, compiled: dict | None = None) -> dict:
    """evals/s of one chunk for full Metrics, Metrics without breakdowns, TPOT only
    (``compiled``: executables already built, by variant)."""
    compiled = dict(compiled or {})
    chunks = design_chunks(cfg.chunk * 10, cfg.chunk, chip, scenario, seed=3)
    out = {}
    for select in ("all", "scalars", "tpot"):
        compile_s = None
        if select not in compiled:
            compiled[select], st = aot(eval_fn(model, select), chunks[0])
            compile_s = st["compile_s"]
        exe = compiled[select]
        times = repeat(lambda: [exe(*c) for c in chunks], cfg.reps)  # noqa: B023
        stats = hlo_stats(exe, cfg.chunk)
        del stats["kernels"]
        out[select] = dict(**stats, **stat(times, cfg.chunk * 10), compile_s=compile_s)
    return out


def _variant_rates_subprocess(cfg: Config, xla_flags: str) -> dict:
    """variant_rates in a fresh process with XLA_FLAGS set (flags act at backend start)."""
    code = (
        "import json, dataclasses; from benchmarks import speed; "
        f"cfg = speed.Config(**json.loads({json.dumps(json.dumps(dataclasses.asdict(cfg)))})); "
        "chip, model, sc, _ = speed.base_point(); "
        "print(json.dumps(speed.variant_rates(cfg, model, chip, sc)))"
    )
    env = dict(os.environ, XLA_FLAGS=xla_flags)
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env, cwd=root
    )
    return json.loads(done.stdout.splitlines()[-1])


NO_YNN = "--xla_cpu_experimental_ynn_fusion_type="


def profile(cfg: Config, model, chip, scenario, mapping, exe_all) -> dict:
    """Where the time of an evaluation goes (``exe_all``: the compiled chunk function)."""
    closed = jax.make_jaxpr(lambda c: ex.predict(c, model, scenario, mapping))(chip)
    counts: collections.Counter = collections.Counter()
    _count_eqns(closed.jaxpr, counts)
    out: dict[str, Any] = dict(
        cores=len(os.sched_getaffinity(0)),
        jaxpr_eqns=sum(counts.values()),
        jaxpr_eqns_by_function=dict(counts.most_common(10)),
    )
    chunk = design_chunks(cfg.chunk, cfg.chunk, chip, scenario, seed=5)[0]
    out["kernels"] = top_kernels(exe_all, chunk, cfg.chunk)
    if cfg.full:
        out["variants"] = variant_rates(cfg, model, chip, scenario, dict(all=exe_all))
        out["variants_without_ynn"] = dict(
            xla_flags=NO_YNN, **_variant_rates_subprocess(cfg, NO_YNN)
        )
        big = design_chunks(100_000, 100_000, chip, scenario, seed=4)[0]
        exe, _ = aot(eval_fn(model), big)
        out["one_vmap_100000"] = stat(repeat(lambda: exe(*big), cfg.reps), 100_000)
    return out


# --- machine and run --------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model_name = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.*)", cpuinfo.read_text())
        model_name = found.group(1) if found else ""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return dict(
        platform=platform.platform(),
        cpu=model_name or platform.processor(),
        cpu_count=os.cpu_count(),
        cpus_usable=len(os.sched_getaffinity(0)),
        memory_bytes=mem,
        python=platform.python_version(),
        jax=jax.__version__,
        jaxlib=jaxlib.__version__,
        backend=jax.default_backend(),
        devices=[str(d) for d in jax.devices()],
        dtype=str(jnp.zeros(()).dtype),
        load_average_start=os.getloadavg(),
    )


def targets(out: dict) -> list[dict[str, Any]]:
    """Each target of issue 7 with the measured median and whether it is met."""
    evals = out["evals"]["rows"][-1]["rate_per_s"]  # the largest batch
    grads = out["grads"]["tpot_s"]["rows"][-1]["rate_per_s"]
    grads_cost = out["grads"]["cost_usd_per_mtok"]["rows"][-1]["rate_per_s"]
    cold = out["cold_start"]["predict --tp 4"]["median_s"]
    comp = out["compile"]["predict_one_point"]["total_s"]["median_s"]
    opt = out["optimize"]
    solve = opt["solves"][-1]["rest_s"] if isinstance(opt, dict) else opt
    rows = [
        ("model evals/s (largest batch)", evals, TARGETS["evals_per_s"], evals >= 1e7),
        ("d TPOT / d chip, per s", grads, TARGETS["grad_evals_per_s"], grads >= 1e6),
        (
            "d $/Mtok / d chip, per s",
            grads_cost,
            TARGETS["grad_evals_per_s"],
            grads_cost >= 1e6,
        ),
        ("cold `explorer predict` [s]", cold, TARGETS["cold_start_s"], cold < 3.0),
        ("compile of predict, one point [s]", comp, TARGETS["compile_s"], comp < 5.0),
        (
            "optimize solve, compile excluded [s]",
            solve,
            1.0,
            solve < 1.0 if isinstance(solve, float) else None,
        ),
    ]
    return [dict(figure=f, measured=m, target=t, met=ok) for f, m, t, ok in rows]


def run(cfg: Config, log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Every measurement of ``cfg`` as one dict (``section_s``: wall time of each)."""
    t0 = time.perf_counter()
    chip, model, scenario, mapping = base_point()
    out: dict[str, Any] = dict(machine=machine(), config=dataclasses.asdict(cfg), section_s={})
    out["setup"] = dict(chip=CHIP_ID, model=MODEL_ID, dtype=str(chip.tdp_w.dtype))
    compiled: dict[int, Any] = {}

    def section(name: str, fn: Callable[[], Any]) -> None:
        log(name)
        start = time.perf_counter()
        out[name] = fn()
        out["section_s"][name] = time.perf_counter() - start

    section("compile", lambda: measure_compile(cfg, model, chip, scenario, mapping))
    section("evals", lambda: measure_evals(cfg, model, chip, scenario, compiled))
    section("grads", lambda: measure_grads(cfg, model, chip, scenario))
    rate = out["evals"]["rows"][-1]["rate_per_s"]
    exe = compiled[cfg.chunk]
    section("python", lambda: measure_python(cfg, model, chip, scenario, exe, rate))
    section("cold_start", lambda: measure_cold_start(cfg))
    section("optimize", lambda: measure_optimize(cfg, model))
    section("pareto", lambda: measure_pareto(cfg))
    out["fleet"] = NOT_YET
    section("profile", lambda: profile(cfg, model, chip, scenario, mapping, exe))
    out["targets"] = targets(out)
    out["machine"]["load_average_end"] = os.getloadavg()
    out["machine"]["peak_rss_bytes"] = peak_rss_bytes()
    out["wall_s"] = time.perf_counter() - t0
    return out
