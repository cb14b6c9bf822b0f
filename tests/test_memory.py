"""Memory placement: tiers fill fastest first; the smooth form's error is bounded in time."""

import math

import jax
import jax.numpy as jnp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import explorer as ex
from explorer.model import perf
from explorer.model.memory import place
from explorer.model.smooth import Mode

MODEL = ex.load_model("llama-3.1-8b")


def smooth_tpot_bound(p: float) -> float:
    """docs/model.md 0.2: smooth / exact TPOT <= 144^(1/p) (1 + 2 ln2 / p)."""
    return 144.0 ** (1.0 / p) * (1.0 + 2.0 * math.log(2.0) / p)


def _chip(sram_bytes, ratio):
    return ex.make_chip(
        peak_flops_per_s=1e15,
        sram_bytes=sram_bytes,
        sram_bw_bytes_per_s=1e12 * ratio,
        mem_bytes=1e11,
        mem_bw_bytes_per_s=1e12,
        link_latency_s=1e-6,
        tdp_w=1e6,
    )


_TPOT = jax.jit(lambda chip, sc, mp: ex.predict(chip, MODEL, sc, mp).tpot_s)
_SMOOTH = {
    p: jax.jit(lambda chip, sc, mp, p=p: ex.predict(chip, MODEL, sc, mp, Mode(True, p)).tpot_s)
    for p in (50.0, 100.0, 300.0)
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frac=st.floats(0.8, 1.2),
    ratio=st.floats(2.0, 1000.0),
    pp=st.sampled_from([1, 2]),
    p=st.sampled_from([50.0, 100.0, 300.0]),
)
def test_smooth_tpot_within_bound_across_the_sram_edge(frac, ratio, pp, p):
    """SRAM from 0.8 to 1.2 x the working set, SRAM 2-1000x faster than HBM: smooth
    TPOT is never below exact and at most the documented bound above it (the issue-12
    review found +47% at p = 50 with a width in bytes)."""
    mp, sc = ex.make_mapping(pp=pp), ex.make_scenario(4, 512, 128)
    chip = _chip(frac * float(perf.resident_bytes(MODEL, sc, mp)), ratio)
    exact = float(_TPOT(chip, sc, mp))
    smooth = float(_SMOOTH[p](chip, sc, mp))
    assert exact * (1 - 1e-9) <= smooth <= exact * smooth_tpot_bound(p)


def test_smooth_edge_error_is_small_at_the_edge():
    """At SRAM = working set with a 33x bandwidth cliff, the smooth TPOT at p = 100 (the
    design search's sharpness) is within 2% of exact (measured 1.0%)."""
    mp, sc = ex.make_mapping(), ex.make_scenario(4, 512, 128)
    chip = _chip(float(perf.resident_bytes(MODEL, sc, mp)), 33.0)
    assert float(_SMOOTH[100.0](chip, sc, mp)) / float(_TPOT(chip, sc, mp)) < 1.02


def test_place_by_hand_and_empty_tiers():
    """R = 150 B over tiers of 100, 0 and 100 B: 100 in SRAM, 50 in the third tier,
    nothing in the empty one, in both modes (smooth: to within the edge width)."""
    chip = ex.make_chip(peak_flops_per_s=1e12, sram_bytes=100.0, mem_bytes=0.0, ext_bytes=100.0)
    share, slack = place(chip, jnp.asarray(150.0), ex.EXACT)
    assert [float(x) for x in share] == pytest.approx([100 / 150, 0.0, 50 / 150])
    assert float(slack) == pytest.approx(50.0)
    share_s, _ = place(chip, jnp.asarray(150.0), Mode(True, 300.0))
    assert float(share_s[1]) == pytest.approx(0.0, abs=1e-12)
    assert float(jnp.sum(share_s)) == pytest.approx(1.0, abs=1e-9)


def test_sram_fills_only_to_the_balance_point():
    """Tiers stream at once, so filling SRAM past b0 / (b0 + b1) of the bytes would make
    it the slower channel: with a 33x SRAM, TPOT at SRAM = 0.99 R and = 1.5 R is not
    above TPOT at 0.97 R (fastest-first filling to the brim made it 1% slower), and the
    share in SRAM stops at 33/34."""
    mp, sc = ex.make_mapping(), ex.make_scenario(4, 512, 128)
    res = float(perf.resident_bytes(MODEL, sc, mp))
    tpot = [float(_TPOT(_chip(f * res, 33.0), sc, mp)) for f in (0.97, 0.99, 1.5)]
    assert tpot[1] <= tpot[0] * (1 + 1e-9) and tpot[2] <= tpot[1] * (1 + 1e-9)
    share, _ = place(_chip(1.5 * res, 33.0), jnp.asarray(res), ex.EXACT)
    assert float(share[0]) == pytest.approx(33.0 / 34.0, rel=1e-9)
