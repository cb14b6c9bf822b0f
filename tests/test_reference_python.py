"""The plain-Python reference (benchmarks/reference_python.py) agrees with ``predict``.

33 random points (seeded): reference and hypothetical SRAM-heavy chips perturbed by
log-uniform factors, every fabric topology, one to three memory tiers; dense, MoE,
MLA and sliding-window models in three precision mixes; tp, pp and ep; speculative
decoding; pipelined chunked prefill with several chunk sizes; power-throttled chips;
configurations that fit and that do not. Each model
and precision mix is one vmapped ``predict`` call (one compile, ~4 s: the test's cost).
Float64 (conftest).
"""

import ast
import dataclasses
import functools
import math
import random
from pathlib import Path

import jax
import pytest

import explorer as ex
from benchmarks import reference_python as ref

RTOL = 1e-6
POINTS_PER_GROUP = 11
METRICS = (
    "ttft_s",
    "tpot_s",
    "tokens_per_s_per_replica",
    "energy_j_per_token",
    "power_w",
    "resident_bytes",
    "throttle",
    "tokens_per_round",
)
CHIPS = (
    "h100-sxm",  # switch, HBM
    "mi300x",  # full mesh
    "tpu-v6e",  # torus
    "wormhole-n300",  # ring
    "groq-lpu",  # SRAM only
    "sn40l",  # SRAM + HBM + DDR
    "gh200",  # three tiers
    "wse-3",  # wafer-scale SRAM
)


def _falcon_windowed() -> ex.Model:
    """Falcon-7B (plain MLP, MQA, tied embeddings) with 16 sliding-window layers."""
    return dataclasses.replace(
        ex.load_model("falcon-7b"), id="falcon-7b-swa", n_window_layers=16, window_tokens=2048
    )


# (model, precision, kv precision, activation precision): one compile each. Between
# them: dense and MoE layers, GQA, MQA and MLA, gated and plain MLPs, tied and untied
# embeddings, full and sliding-window attention, five precisions.
GROUPS = (
    (lambda: ex.load_model("deepseek-v3"), "fp8", "fp8", "fp8"),
    (lambda: ex.load_model("gpt-oss-120b"), "fp4", "fp8", "fp4"),
    (_falcon_windowed, "int8", "fp16", "bf16"),
)


@functools.cache
def _reference_chip(chip_id: str) -> ex.Chip:
    return ex.load_chip(chip_id)


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _random_chip(rng: random.Random) -> ex.Chip:
    """A reference chip perturbed, or a hypothetical SRAM-heavy one."""
    if rng.random() < 0.25:
        chip = ex.make_chip(
            peak_flops_per_s=_log_uniform(rng, 1e14, 4e15),
            sram_bytes=_log_uniform(rng, 1e8, 2e11),
            sram_bw_bytes_per_s=_log_uniform(rng, 1e13, 1e15),
            mem_bytes=rng.choice([0.0, 24e9, 96e9]),
            mem_bw_bytes_per_s=_log_uniform(rng, 5e11, 8e12),
            topology=rng.choice(["switch", "mesh", "ring", "torus"]),
            domain_chips=rng.choice([4, 8, 72]),
            eff_gemm=rng.uniform(0.3, 1.0),
            layer_latency_s=rng.uniform(0.0, 5e-6),
            step_latency_s=rng.uniform(0.0, 1e-4),
        )
    else:
        chip = _reference_chip(rng.choice(CHIPS))
        scale = lambda field, lo, hi: getattr(chip, field) * _log_uniform(rng, lo, hi)  # noqa: E731
        chip = chip.replace(
            peak_flops_per_s=scale("peak_flops_per_s", 0.25, 4.0),
            mem_capacity_bytes=chip.mem_capacity_bytes
            * jax.numpy.asarray([_log_uniform(rng, 0.1, 4.0) for _ in range(3)]),
            mem_bw_bytes_per_s=scale("mem_bw_bytes_per_s", 0.25, 4.0),
            link_bw_bytes_per_s=scale("link_bw_bytes_per_s", 0.1, 10.0),
            link_latency_s=scale("link_latency_s", 0.2, 5.0),
            domain_chips=float(rng.choice([2, 4, 8, 16, 64])),
            eff_lowp=rng.uniform(0.5, 1.0),
        )
    if rng.random() < 0.2:  # power-starved: dynamic power barely above static
        chip = chip.replace(tdp_w=chip.static_power_w * rng.uniform(1.01, 1.2))
    return chip


def _random_mapping(rng: random.Random, model: ex.Model) -> ex.Mapping:
    # tp divides the heads (make_mapping refuses otherwise): Falcon-7B's 71 gives tp = 1
    tp = rng.choice([t for t in (1, 2, 4, 8, 16) if model.n_heads % t == 0])
    # pp = n_layers: one layer per stage, where the embedding or LM head sets the
    # fullest stage (weights and time)
    pp = rng.choice([1, 1, 2, 3, 4, model.n_layers])
    ep = 1
    if model.is_moe and tp > 1 and model.n_experts % tp == 0 and rng.random() < 0.6:
        ep = tp
    return ex.make_mapping(tp, pp, ep, model)


def _random_scenario(rng: random.Random, precisions: tuple[str, str, str]) -> ex.Scenario:
    precision, kv, act = precisions
    batch = round(_log_uniform(rng, 1, 512))
    spec_k = rng.choice([0, 0, 1, 3, 4])
    accept = rng.choice([rng.uniform(0.0, 0.95), 1.0 - 1e-7]) if spec_k else 0.0
    return ex.make_scenario(
        batch=batch,
        prompt_tokens=round(_log_uniform(rng, 16, 32768)),
        output_tokens=round(_log_uniform(rng, 1, 4096)),
        prefill_batch=rng.randint(1, batch),
        precision=precision,
        kv_precision=kv,
        act_precision=act,
        spec_k=spec_k,
        spec_accept=accept,
        spec_draft_cost=rng.uniform(0.0, 0.2),
        n_micro=rng.choice([0, 0, 1, 2, 8]),
        prefill_chunk_tokens=rng.choice([2048, 2048, 256, 8192, 1e6]),
    )


def _stack(trees):
    return jax.tree_util.tree_map(lambda *xs: jax.numpy.stack(xs), *trees)


@pytest.fixture(scope="module")
def compared() -> list[dict]:
    """Per point: the mapping, both predictions and the point's labels."""
    rng = random.Random(20240607)
    rows = []
    for make_model, *precisions in GROUPS:
        model = make_model()
        sizes = ref.model_sizes(model)
        chips = [_random_chip(rng) for _ in range(POINTS_PER_GROUP)]
        scenarios = [_random_scenario(rng, tuple(precisions)) for _ in chips]
        mappings = [_random_mapping(rng, model) for _ in chips]
        got = jax.vmap(lambda c, s, m: ex.predict(c, model, s, m))(  # noqa: B023
            _stack(chips), _stack(scenarios), _stack(mappings)
        )
        for i, (chip, sc, mp) in enumerate(zip(chips, scenarios, mappings, strict=True)):
            want = ref.predict(
                ref.chip_floats(chip), sizes, ref.scenario_floats(sc), ref.mapping_floats(mp)
            )
            rows.append(
                dict(
                    model=model,
                    mapping=ref.mapping_floats(mp),
                    spec_k=float(sc.spec_k),
                    prefill_tokens=float(sc.prefill_batch * sc.prompt_tokens),
                    tiers=int(sum(c > 0 for c in chip.mem_capacity_bytes.tolist())),
                    sram_share=float(chip.mem_capacity_bytes[0] / chip.mem_capacity_bytes.sum()),
                    topology=int(chip.topology.argmax()),
                    got={k: float(getattr(got, k)[i]) for k in (*METRICS, "memory_slack_bytes")},
                    want=want,
                )
            )
    return rows


def test_reference_agrees_with_predict(compared):
    worst = 0.0
    for row in compared:
        got, want = row["got"], row["want"]
        for key in METRICS:
            err = abs(got[key] - want[key]) / abs(want[key])
            worst = max(worst, err)
            assert err < RTOL, (row["model"].id, row["mapping"], key, got[key], want[key])
        # the slack may be near zero: relative to the resident bytes
        slack_err = abs(got["memory_slack_bytes"] - want["memory_slack_bytes"])
        assert slack_err < RTOL * want["resident_bytes"], (row["model"].id, row["mapping"])
    assert worst < RTOL


def test_points_cover_the_model(compared):
    """The random points exercise every branch the reference claims to check."""
    fits = [r["want"]["memory_slack_bytes"] >= 0 for r in compared]
    assert any(fits) and not all(fits)
    assert any(r["want"]["throttle"] > 1.0 + 1e-9 for r in compared)
    assert any(r["mapping"]["tp"] > 1 for r in compared)
    assert any(r["mapping"]["pp"] > 1 for r in compared)
    assert any(r["mapping"]["pp"] == r["model"].n_layers for r in compared)
    assert any(r["mapping"]["ep"] > 1 for r in compared)
    assert any(r["spec_k"] > 0 for r in compared)
    # pipelined chunked prefill: chunks set by the chunk size, and by pp alone
    piped = [r for r in compared if r["mapping"]["pp"] > 1]
    assert any(r["want"]["prefill_chunks"] > r["mapping"]["pp"] for r in piped)
    assert any(r["want"]["prefill_chunks"] == r["mapping"]["pp"] for r in piped)
    assert any(r["sram_share"] > 0.5 for r in compared)  # SRAM-heavy
    assert any(r["tiers"] == 3 for r in compared)
    assert {r["topology"] for r in compared} == {0, 1, 2, 3}
    assert len(compared) >= 30


def test_reference_uses_plain_python_only():
    """No numpy or JAX in the reference: it imports math and typing helpers only."""
    tree = ast.parse(Path(ref.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "math", "collections", "typing"}
