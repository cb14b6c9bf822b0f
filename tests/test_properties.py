"""Property tests of the latency model: what the physics says must hold.

Every property is checked on random chips drawn around real presets (h100-sxm,
mi300x and a hypothetical SRAM-heavy chip), random scenarios and several mappings.
``ex.predict`` is jitted with the model and mode static and everything else traced
(the chip included), so each (model, mode, precision) compiles once and every
example of every property reuses it; nothing closes over per-example values.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import explorer as ex

MODES = {"exact": ex.EXACT, "smooth": ex.SMOOTH}
RTOL = 1e-9  # ties: a property "never increases" allows this relative slack

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def strong(chip):
    """The chip with every leaf a (strongly typed) float64 array. Presets load their
    scalars weakly typed (``jnp.asarray`` of a Python float) and a weak leaf is a
    different signature under jit, so mixing the two would compile ``predict`` again
    for each mix; every chip in this file goes through here."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=jnp.float64), chip)


def replace(chip, **changes):
    return strong(chip.replace(**changes))


LLAMA = ex.load_model("llama-3.1-8b")
MIXTRAL = ex.load_model("mixtral-8x7b")
H100 = strong(ex.load_chip("h100-sxm"))
MI300X = strong(ex.load_chip("mi300x"))
# Hypothetical: a large SRAM tier far faster than its HBM, plus a slow DDR tier, so
# that all three tiers carry traffic. Tiers fastest first, energies cheapest first.
SRAM_HEAVY = replace(
    H100,
    mem_capacity_bytes=[8e9, 24e9, 256e9],
    mem_bw_bytes_per_s=[40e12, 3.35e12, 0.4e12],
    mem_energy_j_per_byte=[4.8e-12, 3.92e-11, 1.28e-10],
)
PRESETS = {"h100-sxm": H100, "mi300x": MI300X, "sram-heavy": SRAM_HEAVY}

# (model, tp, pp, ep): inside one domain, across domains (tp 16, 2 x 8), pipelines, EP.
MAPPINGS = [
    (LLAMA, 1, 1, 1),
    (LLAMA, 2, 1, 1),
    (LLAMA, 8, 1, 1),
    (LLAMA, 16, 1, 1),
    (LLAMA, 1, 4, 1),
    (LLAMA, 2, 2, 1),
    (LLAMA, 2, 8, 1),
    (MIXTRAL, 2, 1, 2),
    (MIXTRAL, 4, 2, 1),
    (MIXTRAL, 8, 1, 8),
]


def times(chip, model, scenario, mapping, mode) -> np.ndarray:
    """(ttft, tpot). ``ex.predict`` is the one compiled function (per model, mode and
    precision) every example and every property reuses: the chip, scaled or not, is a
    traced argument. A jitted wrapper per property would only add compilations."""
    m = ex.predict(chip, model, scenario, mapping, mode)
    return np.array([float(m.ttft_s), float(m.tpot_s)])


def assert_not_increased(before, after, what):
    before, after = np.asarray(before), np.asarray(after)
    assert np.all(np.isfinite(before)) and np.all(np.isfinite(after)), (before, after)
    bad = after > before * (1.0 + RTOL) + 1e-300
    assert not bad.any(), f"{what}: (ttft, tpot) rose from {before} to {after}"


# --- strategies -------------------------------------------------------------------


def _factor(lo, hi):
    """A log-uniform factor in [lo, hi]."""
    return st.floats(math.log(lo), math.log(hi)).map(math.exp)


@st.composite
def chips(draw, preset=None):
    """A chip around a preset: every datasheet number and knob perturbed, tiers kept
    ordered fastest first in *achieved* bandwidth (bw x eff_mem), the quantity the
    model streams at, and with energy per byte cheapest first."""
    name = preset or draw(st.sampled_from(sorted(PRESETS)))
    c = PRESETS[name]
    g = lambda lo, hi: draw(_factor(lo, hi))  # noqa: E731
    eff_mem = np.array([draw(st.floats(0.6, 0.95)) for _ in range(3)])
    achieved = np.asarray(c.mem_bw_bytes_per_s) * np.asarray(c.eff_mem)
    achieved = achieved * np.array([g(0.5, 2.0) for _ in range(3)])
    achieved = np.minimum.accumulate(achieved)  # fastest first
    topo = np.zeros(4)
    topo[draw(st.integers(0, 3))] = 1.0
    tdp = float(c.tdp_w) * g(0.3, 2.0)
    return replace(
        c,
        peak_flops_per_s=c.peak_flops_per_s * g(0.3, 3.0),
        mem_capacity_bytes=c.mem_capacity_bytes * np.array([g(0.25, 4.0) for _ in range(3)]),
        mem_bw_bytes_per_s=achieved / eff_mem,
        mem_energy_j_per_byte=c.mem_energy_j_per_byte * g(0.5, 2.0),
        link_bw_bytes_per_s=c.link_bw_bytes_per_s * g(0.25, 4.0),
        link_latency_s=c.link_latency_s * g(0.1, 3.0),
        domain_chips=float(draw(st.sampled_from([4, 8, 16, 72]))),
        scale_out_bw_bytes_per_s=c.scale_out_bw_bytes_per_s * g(0.25, 4.0),
        scale_out_latency_s=c.scale_out_latency_s * g(0.1, 3.0),
        topology=topo,
        flop_energy_j=c.flop_energy_j * g(0.5, 2.0),
        link_energy_j_per_byte=c.link_energy_j_per_byte * g(0.5, 2.0),
        static_power_w=0.3 * tdp,
        tdp_w=tdp,
        eff_gemm=draw(st.floats(0.3, 0.95)),
        eff_attn=draw(st.floats(0.2, 0.9)),
        eff_mem=eff_mem,
        eff_link=draw(st.floats(0.5, 0.95)),
        layer_latency_s=c.layer_latency_s * draw(st.floats(0.0, 3.0)),
        step_latency_s=c.step_latency_s * draw(st.floats(0.0, 3.0)),
    )


@st.composite
def workloads(draw, mappings=MAPPINGS):
    """(model, scenario, mapping): batch 1-256, prompt 16-8192, output 1-2048, and the
    traced knobs (prefill batch, micro-batches) varied too; bf16 (one compile)."""
    model, tp, pp, ep = draw(st.sampled_from(mappings))
    batch = draw(st.integers(1, 256))
    scenario = ex.make_scenario(
        batch,
        draw(st.integers(16, 8192)),
        draw(st.integers(1, 2048)),
        prefill_batch=draw(st.integers(1, batch)),
        n_micro=draw(st.sampled_from([0, 1, 2, 4])),
    )
    return model, scenario, ex.make_mapping(tp, pp, ep)


# --- monotonicity -----------------------------------------------------------------


def _scale_compute(chip, f, draw):
    return chip.replace(peak_flops_per_s=chip.peak_flops_per_s * f)


def _scale_mem_bw(chip, f, draw):
    tier = draw(st.integers(0, 2))
    return chip.replace(mem_bw_bytes_per_s=chip.mem_bw_bytes_per_s.at[tier].multiply(f))


def _scale_sram(chip, f, draw):
    # Tier 0 stays the fastest tier (the chips strategy orders tiers), so more SRAM
    # only moves bytes to a faster tier.
    return chip.replace(mem_capacity_bytes=chip.mem_capacity_bytes.at[0].multiply(f))


def _scale_link_up(chip, f, draw):
    return chip.replace(link_bw_bytes_per_s=chip.link_bw_bytes_per_s * f)


def _scale_link_out(chip, f, draw):
    return chip.replace(scale_out_bw_bytes_per_s=chip.scale_out_bw_bytes_per_s * f)


KNOBS = {
    "peak_compute": _scale_compute,
    "mem_bandwidth": _scale_mem_bw,
    "sram_capacity": _scale_sram,
    "scale_up_link_bw": _scale_link_up,
    "scale_out_link_bw": _scale_link_out,
}


@pytest.mark.parametrize("mode_name", sorted(MODES))
@pytest.mark.parametrize("knob", sorted(KNOBS))
@SETTINGS
@given(chip=chips(), work=workloads(), factor=_factor(1.0, 1000.0), data=st.data())
def test_more_hardware_never_slower(knob, mode_name, chip, work, factor, data):
    model, scenario, mapping = work
    mode = MODES[mode_name]
    bigger = KNOBS[knob](chip, factor, data.draw)
    before = times(chip, model, scenario, mapping, mode)
    after = times(bigger, model, scenario, mapping, mode)
    assert_not_increased(before, after, f"{knob} x{factor:.4g} ({mode_name})")


# --- SRAM beyond the working set --------------------------------------------------


@SETTINGS
@given(
    chip=chips(),
    work=workloads(),
    headroom=st.floats(1.0, 3.0),
    factor=_factor(1.0, 100.0),
)
def test_sram_beyond_working_set_gives_nothing(chip, work, headroom, factor):
    model, scenario, mapping = work
    resident = float(ex.predict(chip, model, scenario, mapping, ex.EXACT).resident_bytes)
    fits = chip.replace(mem_capacity_bytes=chip.mem_capacity_bytes.at[0].set(resident * headroom))
    more = fits.replace(mem_capacity_bytes=fits.mem_capacity_bytes.at[0].multiply(factor))
    a = times(fits, model, scenario, mapping, ex.EXACT)
    b = times(more, model, scenario, mapping, ex.EXACT)
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=0)


# --- memory-bound decode scales as 1 / bandwidth ----------------------------------


def _bare(chip):
    """No SRAM, no fixed latencies (and tp = pp = 1 below, so no communication)."""
    return replace(
        chip,
        mem_capacity_bytes=chip.mem_capacity_bytes.at[0].set(0.0),
        layer_latency_s=0.0,
        step_latency_s=0.0,
    )


@SETTINGS
@given(
    chip=chips(),
    model=st.sampled_from([LLAMA, MIXTRAL]),
    batch=st.integers(1, 8),
    prompt=st.integers(16, 8192),
    output=st.integers(1, 2048),
)
def test_memory_bound_decode_scales_as_inverse_bandwidth(chip, model, batch, prompt, output):
    chip = _bare(chip)
    fast = chip.replace(mem_bw_bytes_per_s=2.0 * chip.mem_bw_bytes_per_s)
    scenario = ex.make_scenario(batch, prompt, output)
    mapping = ex.make_mapping(1, 1, 1)
    m1 = ex.predict(chip, model, scenario, mapping, ex.EXACT)
    m2 = ex.predict(fast, model, scenario, mapping, ex.EXACT)
    # The premise: decode is memory-bound (no compute share) and not power-limited,
    # before and after; communication and fixed latency are zero.
    for m in (m1, m2):
        assume(float(m.decode_breakdown_s[0]) == 0.0 and float(m.throttle) == 1.0)
        assert float(m.decode_breakdown_s[4]) == 0.0 and float(m.decode_breakdown_s[5]) == 0.0
    np.testing.assert_allclose(float(m2.tpot_s), float(m1.tpot_s) / 2.0, rtol=1e-9)


# --- smooth converges to exact ----------------------------------------------------

SHARPNESS = (10.0, 100.0, 1000.0, 10000.0)
CONVERGENCE_CASES = {
    "h100-tp2-b8": (H100, 2, 1, ex.make_scenario(8, 1024, 256)),
    "h100-b1-long": (H100, 1, 1, ex.make_scenario(1, 8192, 2048)),
    "mi300x-tp8-b256": (MI300X, 8, 1, ex.make_scenario(256, 2048, 512)),
    "sram-pp4-b32": (SRAM_HEAVY, 1, 4, ex.make_scenario(32, 512, 128)),
    "sram-tp2-pp2-b4": (SRAM_HEAVY, 2, 2, ex.make_scenario(4, 4096, 64)),
    "h100-tp16-b64": (H100, 16, 1, ex.make_scenario(64, 256, 1024)),
}


@pytest.mark.parametrize("case", sorted(CONVERGENCE_CASES) + ["sram-at-capacity"])
def test_smooth_converges_to_exact(case):
    if case == "sram-at-capacity":  # the placement kink: resident bytes = SRAM capacity
        chip, tp, pp, scenario = CONVERGENCE_CASES["sram-pp4-b32"]
        mapping = ex.make_mapping(tp, pp, 1)
        resident = ex.predict(chip, LLAMA, scenario, mapping, ex.EXACT).resident_bytes
        chip = chip.replace(mem_capacity_bytes=chip.mem_capacity_bytes.at[0].set(resident))
    else:
        chip, tp, pp, scenario = CONVERGENCE_CASES[case]
    mapping = ex.make_mapping(tp, pp, 1)
    exact = times(chip, LLAMA, scenario, mapping, ex.EXACT)
    errs = np.array(
        [
            np.abs(times(chip, LLAMA, scenario, mapping, ex.Mode(True, s)) - exact) / exact
            for s in SHARPNESS
        ]
    )  # (sharpness, [ttft, tpot])
    assert np.all(np.diff(errs, axis=0) <= 1e-12), f"error does not shrink: {errs}"
    assert np.all(errs[-1] < 1e-3), errs


# --- no NaN or inf ----------------------------------------------------------------


def _only_tier(chip, tier, capacity):
    cap = jnp.zeros(3).at[tier].set(capacity)
    return chip.replace(mem_capacity_bytes=cap)


EDGE_CASES = {
    "zero-sram": (
        H100.replace(mem_capacity_bytes=H100.mem_capacity_bytes.at[0].set(0.0)),
        ex.make_scenario(8, 1024, 256),
        (2, 1),
    ),
    "only-sram": (_only_tier(SRAM_HEAVY, 0, 40e9), ex.make_scenario(8, 1024, 256), (1, 1)),
    "only-hbm": (_only_tier(H100, 1, 80e9), ex.make_scenario(8, 1024, 256), (1, 2)),
    "only-ddr": (_only_tier(SRAM_HEAVY, 2, 256e9), ex.make_scenario(8, 1024, 256), (1, 1)),
    "no-memory-at-all": (_only_tier(H100, 1, 0.0), ex.make_scenario(8, 1024, 256), (1, 1)),
    "does-not-fit": (H100, ex.make_scenario(1e6, 8192, 2048), (1, 1)),
    "tiny-sram-does-not-fit": (
        _only_tier(H100, 0, 1.0),
        ex.make_scenario(4096, 8192, 8192),
        (16, 8),
    ),
    "batch1-prompt1-output1": (H100, ex.make_scenario(1, 1, 1), (1, 1)),
    "huge-context": (MI300X, ex.make_scenario(1, 1e7, 1e6), (8, 4)),
    "huge-chip": (
        replace(
            H100,
            peak_flops_per_s=H100.peak_flops_per_s * 1e12,
            mem_bw_bytes_per_s=H100.mem_bw_bytes_per_s * 1e12,
            link_bw_bytes_per_s=1e25,
            scale_out_bw_bytes_per_s=1e25,
            link_latency_s=0.0,
            scale_out_latency_s=0.0,
            layer_latency_s=0.0,
            step_latency_s=0.0,
        ),
        ex.make_scenario(1, 16, 1),
        (2, 2),
    ),
    "feeble-chip": (
        replace(
            H100,
            peak_flops_per_s=H100.peak_flops_per_s * 1e-12,
            mem_bw_bytes_per_s=H100.mem_bw_bytes_per_s * 1e-12,
            link_bw_bytes_per_s=1.0,
            scale_out_bw_bytes_per_s=1.0,
            tdp_w=1e-3,
            static_power_w=1e-3,
        ),
        ex.make_scenario(256, 8192, 2048),
        (16, 2),
    ),
    "speculative-near-one": (
        H100,
        ex.make_scenario(4, 1024, 256, spec_k=16, spec_accept=1.0 - 1e-9, spec_draft_cost=0.0),
        (2, 1),
    ),
    "speculative-zero": (
        H100,
        ex.make_scenario(4, 1024, 256, spec_k=8, spec_accept=0.0, spec_draft_cost=0.0),
        (1, 1),
    ),
}


def _tpot(chip, model, scenario, mapping, mode):
    return ex.predict(chip, model, scenario, mapping, mode).tpot_s


_grad_tpot = jax.jit(jax.grad(_tpot), static_argnames=("model", "mode"))


def _all_finite(tree):
    return {
        jax.tree_util.keystr(path): bool(np.all(np.isfinite(np.asarray(leaf))))
        for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
    }


@pytest.mark.parametrize("mode_name", sorted(MODES))
@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_finite_everywhere(case, mode_name):
    chip, scenario, (tp, pp) = EDGE_CASES[case]
    mode = MODES[mode_name]
    mapping = ex.make_mapping(tp, pp, 1)
    metrics = ex.predict(chip, LLAMA, scenario, mapping, mode)
    finite = _all_finite(metrics)
    assert all(finite.values()), {k: v for k, v in finite.items() if not v}
    grad = _grad_tpot(chip, LLAMA, scenario, mapping, mode)
    finite = _all_finite(grad)
    assert all(finite.values()), {k: v for k, v in finite.items() if not v}


# --- speculative decoding ---------------------------------------------------------


@pytest.mark.parametrize("mode_name", sorted(MODES))
@SETTINGS
@given(chip=chips(), work=workloads(), k=st.integers(1, 8))
def test_speculation_without_acceptance_never_helps(mode_name, chip, work, k):
    model, scenario, mapping = work
    mode = MODES[mode_name]
    # Same scenario (prefill batch, micro-batches too), k drafts none of which is kept.
    spec = dataclasses.replace(
        scenario,
        spec_k=jnp.asarray(k, dtype=float),
        spec_accept=jnp.asarray(0.0, dtype=float),
        spec_draft_cost=jnp.asarray(0.0, dtype=float),
    )
    plain = times(chip, model, scenario, mapping, mode)[1]
    drafted = times(chip, model, spec, mapping, mode)[1]
    assert drafted >= plain * (1.0 - RTOL), (plain, drafted)


@pytest.mark.parametrize("mode_name", sorted(MODES))
@pytest.mark.parametrize("preset", ["h100-sxm", "mi300x"])
def test_speculation_with_high_acceptance_helps_memory_bound_decode(preset, mode_name):
    chip, mode = PRESETS[preset], MODES[mode_name]
    mapping = ex.make_mapping(1, 1, 1)
    plain = ex.make_scenario(1, 1024, 512)
    spec = ex.make_scenario(1, 1024, 512, spec_k=4, spec_accept=0.95, spec_draft_cost=0.05)
    m = ex.predict(chip, LLAMA, plain, mapping, ex.EXACT)
    assert float(m.decode_breakdown_s[0]) == 0.0  # memory-bound: no compute share
    t_plain = times(chip, LLAMA, plain, mapping, mode)[1]
    t_spec = times(chip, LLAMA, spec, mapping, mode)[1]
    assert t_spec < 0.5 * t_plain, (t_plain, t_spec)
