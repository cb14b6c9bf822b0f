"""Hand-computed prefill and decode cases for a tiny dense model, and perf limits."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import explorer as ex
from explorer.model import perf
from explorer.model.perf import spec_tokens_per_round
from explorer.model.workload import Model

TINY = Model(
    id="tiny",
    n_layers=2,
    d_model=64,
    n_heads=4,
    n_kv_heads=2,
    head_dim=16,
    d_ff=128,
    vocab_size=100,
    tied_embeddings=False,
)


def ideal_chip(peak: float, **kw) -> ex.Chip:
    """All efficiencies 1, no fixed latency, no SRAM, 1 GB of memory at 1 GB/s."""
    base = dict(peak_flops_per_s=peak, mem_bytes=1e9, mem_bw_bytes_per_s=1e9, tdp_w=1e6)
    base.update(kw)
    return ex.make_chip(**base)


def test_tiny_model_sizes():
    """attention 2*64*64 (q, o) + 2*64*32 (k, v) = 12288; MLP 3*64*128 = 24576;
    2 layers -> 73728; embedding and head 100*64 each -> total 86528."""
    assert TINY.attn_params_per_layer == 12288
    assert TINY.dense_mlp_params == 24576
    assert TINY.total_params == 86528
    assert TINY.kv_elems_per_token_layer == 64  # 2 (K, V) x 2 heads x 16
    assert TINY.attn_flops_per_ctx_token == 256  # 4 x 4 heads x 16


def test_decode_memory_bound_by_hand():
    """Batch 1, prompt 10, output 2, bf16, peak 1e12 FLOP/s, 1e9 B/s, tp = pp = 1.

    Per layer: weights 36864 params x 2 B = 73728 B -> 73.728 us (compute 73.7 ns);
    attention over the mean context 10 + 2/2 = 11: KV 11 x 64 x 2 B = 1408 B -> 1.408 us;
    activations (8 x 64 + 2 x 128) x 2 B = 1536 B -> 1.536 us. Layer 76.672 us, x2 = 153.344.
    LM head 6400 x 2 B = 12800 B -> 12.8 us. TPOT = 166.144 us.
    """
    m = ex.predict(ideal_chip(1e12), TINY, ex.make_scenario(1, 10, 2), ex.make_mapping())
    assert float(m.tpot_s) == pytest.approx(166.144e-6, rel=1e-9)
    assert float(m.decode_breakdown_s[2]) == pytest.approx(166.144e-6, rel=1e-9)  # all HBM
    assert ex.bottleneck(m.decode_breakdown_s) == "mem"


def test_prefill_memory_bound_by_hand():
    """Prefill of 10 tokens at 1e12 FLOP/s: weights 73.728 us per layer (compute 0.74 us);
    KV written 10 x 64 x 2 B = 1280 B -> 1.28 us; activations 10 x 1536 B -> 15.36 us.
    Layer 90.368 us, x2 = 180.736; head (one token) 12.8 us. TTFT = 193.536 us."""
    m = ex.predict(ideal_chip(1e12), TINY, ex.make_scenario(1, 10, 2), ex.make_mapping())
    assert float(m.ttft_s) == pytest.approx(193.536e-6, rel=1e-9)


def test_compute_bound_by_hand():
    """Peak 1e9 FLOP/s. Prefill per layer: GEMM 2 x 10 x 36864 = 737280 FLOP -> 737.28 us;
    attention 10 x 256 x 5 (causal mean context) = 12800 FLOP -> 12.8 us (> 1.28 us of KV);
    other 10 x 640 FLOP = 6.4 us < 15.36 us of activations. Layer 765.44 us, x2 = 1530.88;
    head 2 x 6400 FLOP = 12.8 us (ties its 12.8 us of bytes). TTFT = 1543.68 us.
    Decode per layer: GEMM 73728 FLOP = 73.728 us (ties memory), attention 2816 FLOP
    = 2.816 us, other 1.536 us (memory). Layer 78.08, x2 = 156.16, + head 12.8 = 168.96 us."""
    m = ex.predict(ideal_chip(1e9), TINY, ex.make_scenario(1, 10, 2), ex.make_mapping())
    assert float(m.ttft_s) == pytest.approx(1543.68e-6, rel=1e-9)
    assert float(m.tpot_s) == pytest.approx(168.96e-6, rel=1e-9)
    assert ex.bottleneck(m.prefill_breakdown_s) == "compute"


def test_tensor_parallel_all_reduce_by_hand():
    """tp = 2 on a switch (alpha 1 us, 1e9 B/s): each chip reads half the weights and
    KV heads (decode layer 36.864 + 0.704 + 0.768 us) and does 2 all-reduces of
    64 x 2 B = 128 B: 1 us + 2 (1/2) 128 / 1e9 = 1.128 us each. Layer 40.592 us, x2 =
    81.184; head half of 12.8 = 6.4 us. TPOT = 87.584 us."""
    chip = ideal_chip(1e12, link_bw_bytes_per_s=1e9, link_latency_s=1e-6)
    m = ex.predict(chip, TINY, ex.make_scenario(1, 10, 2), ex.make_mapping(tp=2))
    assert float(m.tpot_s) == pytest.approx(87.584e-6, rel=1e-9)
    assert float(m.decode_breakdown_s[4]) == pytest.approx(4 * 1.128e-6, rel=1e-9)


def test_fixed_latencies_add():
    """Per-layer latency x layers + per-step latency add to TPOT exactly."""
    base = ex.predict(ideal_chip(1e12), TINY, ex.make_scenario(1, 10, 2), ex.make_mapping())
    slow = ideal_chip(1e12, layer_latency_s=3e-6, step_latency_s=50e-6)
    m = ex.predict(slow, TINY, ex.make_scenario(1, 10, 2), ex.make_mapping())
    assert float(m.tpot_s - base.tpot_s) == pytest.approx(2 * 3e-6 + 50e-6, rel=1e-9)
    assert float(m.decode_breakdown_s[5]) == pytest.approx(56e-6, rel=1e-9)


def test_breakdown_sums_to_totals():
    chip = ex.load_chip("h100-sxm")
    model = ex.load_model("llama-3.1-70b")
    m = ex.predict(chip, model, ex.make_scenario(8, 512, 128), ex.make_mapping(tp=4))
    assert float(jnp.sum(m.decode_breakdown_s)) == pytest.approx(float(m.tpot_s), rel=1e-9)
    assert float(jnp.sum(m.prefill_breakdown_s)) == pytest.approx(float(m.ttft_s), rel=1e-9)


def test_does_not_fit_is_flagged_with_slack():
    """70B in bf16 (141 GB) on one 80 GB H100: infeasible, slack about -61 GB."""
    m = ex.predict(
        ex.load_chip("h100-sxm"),
        ex.load_model("llama-3.1-70b"),
        ex.make_scenario(1, 128, 128),
        ex.make_mapping(),
    )
    assert not bool(m.fits)
    assert -70e9 < float(m.memory_slack_bytes) < -55e9
    assert bool(jnp.isfinite(m.tpot_s))


def test_pipeline_micro_batches():
    """Compute-bound decode on pp = 2 stages: with one micro-batch the stages take
    turns (round = path); with m = 2 both stages work at once and the round falls to
    about m x stage(B/2), nearly half. Memory-bound, micro-batching cannot help: each
    micro-batch re-reads the stage's weights, so the round stays about the path."""
    mp = ex.make_mapping(pp=2)
    slow = ideal_chip(1e8)  # compute-bound
    t1 = ex.predict(slow, TINY, ex.make_scenario(64, 10, 2, n_micro=1), mp).tpot_s
    t2 = ex.predict(slow, TINY, ex.make_scenario(64, 10, 2, n_micro=2), mp).tpot_s
    assert 0.45 < float(t2 / t1) < 0.6
    fast = ideal_chip(1e15)  # memory-bound
    t1 = ex.predict(fast, TINY, ex.make_scenario(2, 10, 2, n_micro=1), mp).tpot_s
    t2 = ex.predict(fast, TINY, ex.make_scenario(2, 10, 2, n_micro=2), mp).tpot_s
    # >= 0.95, not 1: the stage time is the balanced split of docs/model.md 3.1, a lower
    # bound within one layer of a whole-layer split; on this 2-layer model that is a few %
    assert float(t2 / t1) >= 0.95


def test_spec_tokens_per_round():
    """sum_{i=0..k} a^i: a = 0 -> 1; a = 0.5, k = 3 -> 1.875; a -> 1 -> k + 1."""
    assert float(spec_tokens_per_round(jnp.array(3.0), jnp.array(0.0))) == 1.0
    assert float(spec_tokens_per_round(jnp.array(3.0), jnp.array(0.5))) == pytest.approx(1.875)
    assert float(spec_tokens_per_round(jnp.array(3.0), jnp.array(1.0))) == pytest.approx(4.0)


def test_moe_reads_only_touched_experts():
    """Mixtral at batch 1 reads ~2 of 8 experts per layer: far fewer bytes than all 8."""
    from explorer.model.traffic import experts_touched

    model = ex.load_model("mixtral-8x7b")
    assert float(experts_touched(model, jnp.array(1.0))) == pytest.approx(2.0)
    assert float(experts_touched(model, jnp.array(1e6))) == pytest.approx(8.0)
    chip = ex.load_chip("h100-sxm")
    b1 = ex.predict(chip, model, ex.make_scenario(1, 128, 128), ex.make_mapping(tp=2))
    b64 = ex.predict(chip, model, ex.make_scenario(64, 128, 128), ex.make_mapping(tp=2))
    assert float(b64.tpot_s) > 1.5 * float(b1.tpot_s)


def test_power_limit_throttles():
    """A chip whose TDP is below its dynamic power at full speed is stretched."""
    hot = ideal_chip(1e9, tdp_w=1e-3, static_fraction=0.0)
    m = ex.predict(hot, TINY, ex.make_scenario(1, 10, 2), ex.make_mapping())
    assert float(m.throttle) > 1.0
    assert float(m.power_w) == pytest.approx(1e-3, rel=1e-6)


# --- on-chip mesh traversal (docs/model.md section 6.5) --------------------------------


def test_mesh_traversal_by_hand():
    """TINY in bf16: a layer's weights are 36864 x 2 B = 73728 B. With 4608 B of SRAM per
    core they fill 16 cores, a 4 x 4 region: 2 x 4 = 8 hops at 10 ns = 80 ns per layer,
    x 2 layers = 160 ns more TPOT and TTFT, all in "comm". With tp = 2 each chip holds
    36864 B: 8 cores, 2 sqrt(8) hops = 56.57 ns per layer."""
    sc = ex.make_scenario(1, 10, 2)
    flat = ideal_chip(1e12, mesh_hop_latency_s=10e-9)
    mesh = ideal_chip(1e12, core_sram_bytes=4608.0, mesh_hop_latency_s=10e-9)
    base = ex.predict(flat, TINY, sc, ex.make_mapping())
    m = ex.predict(mesh, TINY, sc, ex.make_mapping())
    assert float(m.tpot_s - base.tpot_s) == pytest.approx(160e-9, rel=1e-6)
    assert float(m.ttft_s - base.ttft_s) == pytest.approx(160e-9, rel=1e-6)
    assert float(m.decode_breakdown_s[4]) == pytest.approx(160e-9, rel=1e-6)
    layer = perf.layer_weight_bytes(TINY, sc, ex.make_mapping(tp=2))
    assert float(layer) == pytest.approx(36864.0)
    assert float(perf.mesh_traversal(mesh, layer)) == pytest.approx(2 * 8**0.5 * 10e-9, rel=1e-9)


def test_mesh_traversal_grows_with_bytes_and_is_off_elsewhere():
    """More weight bytes per chip -> more hops (sqrt); less SRAM per core -> more hops;
    no term on a chip with core_sram_bytes = 0, i.e. every reference chip but the wafers."""
    wse = ex.load_chip("wse-3", calibrated=False)
    t = [float(perf.mesh_traversal(wse, jnp.asarray(b))) for b in (1e8, 4e8, 1.6e9)]
    assert 0 < t[0] < t[1] < t[2]
    assert t[1] / t[0] == pytest.approx(2.0) and t[2] / t[1] == pytest.approx(2.0)
    small = wse.replace(core_sram_bytes=wse.core_sram_bytes / 4)
    assert float(perf.mesh_traversal(small, jnp.asarray(1e8))) == pytest.approx(2 * t[0])
    for chip_id in ex.list_ids("chips"):
        chip = ex.load_chip(chip_id, calibrated=False)
        on = chip_id in ("wse-2", "wse-3")
        assert (float(chip.core_sram_bytes) > 0) == on, chip_id
        assert (float(perf.mesh_traversal(chip, jnp.asarray(1e9))) > 0) == on, chip_id
    h100 = ex.load_chip("h100-sxm", calibrated=False)
    model, sc, mp = ex.load_model("llama-3.1-8b"), ex.make_scenario(1, 128, 8), ex.make_mapping()
    a = ex.predict(h100, model, sc, mp)
    b = ex.predict(h100.replace(mesh_hop_latency_s=1e-6), model, sc, mp)
    assert float(a.tpot_s) == float(b.tpot_s)


def test_mesh_traversal_finite_at_zero():
    """core_sram_bytes = 0 (the 'no mesh' value) and zero layer bytes: value 0, gradients
    finite (0), no NaN."""
    chip = ex.make_chip(peak_flops_per_s=1e12, mem_bytes=1e9, core_sram_bytes=0.0)

    def f(c, b):
        return perf.mesh_traversal(chip.replace(core_sram_bytes=c), b)

    for c, b in ((0.0, 1e6), (48e3, 0.0), (0.0, 0.0)):
        c, b = jnp.asarray(c, dtype=jnp.float64), jnp.asarray(b, dtype=jnp.float64)
        value = f(c, b)
        grads = jax.grad(f, argnums=(0, 1))(c, b)
        assert float(value) == 0.0
        assert all(bool(jnp.isfinite(g)) and float(g) == 0.0 for g in grads)


def test_mesh_traversal_gradient_by_finite_differences():
    """float64: d t / d core_sram_bytes and d t / d mesh_hop_latency_s against central
    differences (t = 2 sqrt(W / c) h, so dt/dc = -t / (2c) and dt/dh = t / h)."""
    wse = ex.load_chip("wse-3", calibrated=False)
    wse = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=jnp.float64), wse)
    layer = jnp.asarray(4.36e8, dtype=jnp.float64)

    def t(c, h):
        return perf.mesh_traversal(wse.replace(core_sram_bytes=c, mesh_hop_latency_s=h), layer)

    c0, h0 = float(wse.core_sram_bytes), float(wse.mesh_hop_latency_s)
    x = functools.partial(jnp.asarray, dtype=jnp.float64)
    gc, gh = jax.grad(t, argnums=(0, 1))(x(c0), x(h0))
    dc, dh = 1e-6 * c0, 1e-6 * h0
    fd_c = (t(x(c0 + dc), x(h0)) - t(x(c0 - dc), x(h0))) / (2 * dc)
    fd_h = (t(x(c0), x(h0 + dh)) - t(x(c0), x(h0 - dh))) / (2 * dh)
    assert float(gc) == pytest.approx(float(fd_c), rel=1e-6)
    assert float(gh) == pytest.approx(float(fd_h), rel=1e-6)
    t0 = float(t(x(c0), x(h0)))
    assert float(gc) == pytest.approx(-t0 / (2 * c0), rel=1e-9)
    assert float(gh) == pytest.approx(t0 / h0, rel=1e-9)


def test_low_precision_peak_by_hand():
    """effective peak = peak_p * eff_lowp ** log2(peak_p / peak_bf16): FP8 at 2x BF16 and
    eff_lowp 0.8 gives 1.6x BF16; FP4 at 4x gives 4 * 0.64 = 2.56x; BF16 is untouched."""
    from explorer.model.perf import effective_peak

    chip = ex.make_chip(peak_flops_per_s=[1e15, 1e15, 2e15, 4e15, 2e15], eff_lowp=0.8)
    got = [float(effective_peak(chip, i)) for i in range(5)]
    np.testing.assert_allclose(got, [1e15, 1e15, 1.6e15, 2.56e15, 1.6e15], rtol=1e-6)


@pytest.mark.parametrize("eff_lowp", [0.5, 0.7, 1.0])
def test_a_faster_low_precision_peak_is_never_slower(eff_lowp):
    """Within the fitted bounds (eff_lowp >= 0.5), raising the FP8 peak never lowers the
    effective FP8 rate, and never takes it below the BF16 rate."""
    from explorer.model.perf import effective_peak

    rates = [
        float(
            effective_peak(
                ex.make_chip(peak_flops_per_s=[1e15, 1e15, r, r, r], eff_lowp=eff_lowp), 2
            )
        )
        for r in (1e15, 1.5e15, 2e15, 4e15, 8e15)
    ]
    assert rates[0] == pytest.approx(1e15)
    assert all(b >= a * (1 - 1e-6) for a, b in zip(rates, rates[1:], strict=False))


def _no_link(peak: float) -> ex.Chip:
    """ideal_chip with free pipeline hops (no latency, unlimited link bandwidth)."""
    return ideal_chip(peak, link_latency_s=0.0, link_bw_bytes_per_s=1e30)


def test_pipelined_prefill_by_hand():
    """Peak 1e9, pp = 2, prompt 10 in chunks of 5: c = max(ceil(10/5), pp) = 2 chunks of
    5 tokens. Per layer and chunk: GEMM 2 x 5 x 36864 FLOP = 368.64 us (> 73.728 us of
    weights); attention 5 x 256 x 5 = 6400 FLOP = 6.4 us (> 0.64 us of KV); other 3.2 us
    of FLOPs < 5 x 1536 B = 7.68 us. Layer 382.72 us. Head: 0.5 sequences x 2 x 6400 FLOP
    = 6.4 us < 12800 B = 12.8 us. Path 2 x 382.72 + 12.8 = 778.24 us; stage (balanced)
    max(1 x 382.72, (765.44 + 12.8) / 2, 12.8) = 389.12 us.
    TTFT = 778.24 + (2 - 1) x 389.12 = 1167.36 us (unpipelined: 1543.68 us)."""
    sc = ex.make_scenario(1, 10, 2, prefill_chunk_tokens=5)
    m = ex.predict(_no_link(1e9), TINY, sc, ex.make_mapping(pp=2))
    assert float(m.ttft_s) == pytest.approx(1167.36e-6, rel=1e-9)
    assert float(perf.prefill_chunks(sc, jnp.asarray(2.0))) == 2.0


def test_pipelined_prefill_pp1_is_one_pass():
    """pp = 1: chunking does not change TTFT, the one-pass formula of
    test_compute_bound_by_hand (1543.68 us), whatever the chunk size."""
    for chunk in (5.0, 2048.0):
        sc = ex.make_scenario(1, 10, 2, prefill_chunk_tokens=chunk)
        m = ex.predict(_no_link(1e9), TINY, sc, ex.make_mapping())
        assert float(m.ttft_s) == pytest.approx(1543.68e-6, rel=1e-9)


def test_pipelined_prefill_gains_with_chunks():
    """More chunks fill a deeper pipeline: TTFT on pp = 2 falls from one-chunk-per-stage
    towards path / pp as chunks shrink (compute-bound), and never below it."""
    mp = ex.make_mapping(pp=2)
    ttft = [
        float(ex.predict(_no_link(1e8), TINY, ex.make_scenario(1, 64, 2,
              prefill_chunk_tokens=c), mp).ttft_s)
        for c in (64.0, 16.0, 4.0)
    ]  # fmt: skip
    assert ttft[0] > ttft[1] > ttft[2]


def test_chunk_activations_only():
    """The activation working set is one chunk, not the whole prompt: resident bytes
    differ by (prompt - chunk) x (8 x 64 + 2 x 128) x 2 B between chunk 8 and 1e6."""
    mp = ex.make_mapping()
    small = perf.resident_bytes(TINY, ex.make_scenario(1, 1000, 2, prefill_chunk_tokens=8), mp)
    whole = perf.resident_bytes(TINY, ex.make_scenario(1, 1000, 2, prefill_chunk_tokens=1e6), mp)
    assert float(whole - small) == pytest.approx((1000 - 8) * 768 * 2, rel=1e-12)


def test_tiers_overlap_by_hand():
    """Half the resident bytes in SRAM at 2 GB/s, half in HBM at 1 GB/s: the two tiers
    stream at once, so memory time is the HBM half alone. Resident R = 173056 B weights
    + 3072 B KV + 15360 B activations = 191488 B; SRAM = R / 2. Per layer: weights
    max(36864 / 2e9, 36864 / 1e9) = 36.864 us, KV 704 B / 1e9 = 0.704 us, activations
    768 B / 1e9 = 0.768 us: 38.336 us, x2 = 76.672; head 6400 B / 1e9 = 6.4 us.
    TPOT = 83.072 us (serial tiers would give 124.608 us)."""
    mp, sc = ex.make_mapping(), ex.make_scenario(1, 10, 2)
    assert float(perf.resident_bytes(TINY, sc, mp)) == pytest.approx(191488.0)
    chip = ideal_chip(1e12, sram_bytes=95744.0, sram_bw_bytes_per_s=2e9)
    m = ex.predict(chip, TINY, sc, mp)
    assert float(m.tpot_s) == pytest.approx(83.072e-6, rel=1e-9)


def test_balanced_stage_holds_no_extra_edge():
    """pp > 1: the fullest stage holds max(ceil(L/pp), (L + E + H)/pp, E, H) layers' worth
    of weights, not ceil(L/pp) layers plus the embedding. Llama 3.1 70B on pp = 32:
    3 layers (the embedding and head, ~1.2 layers each, go to the stages with 2)."""
    m = ex.load_model("llama-3.1-70b")
    units = float(perf.stage_weight_units(m, jnp.asarray(32.0)))
    assert units == pytest.approx(3.0)
    layer = perf.layer_params(m)
    assert float(perf.stage_weight_units(m, jnp.asarray(1.0))) * layer == pytest.approx(
        m.total_params - (m.lm_head_params if m.tied_embeddings else 0.0), rel=1e-12
    )


def test_fp8_all_reduce_in_bf16():
    """An FP8 model's all-reduce carries BF16 activations: same communication time as
    the BF16 model's (compute and weights aside), on a link-bound chip."""
    chip = ideal_chip(1e18, mem_bw_bytes_per_s=1e18, link_bw_bytes_per_s=1e6,
                      link_latency_s=0.0)  # fmt: skip
    mp = ex.make_mapping(tp=2)
    comm = [
        float(ex.predict(chip, TINY, ex.make_scenario(1, 10, 2, precision=p), mp)
              .decode_breakdown_s[4])
        for p in ("bf16", "fp8")
    ]  # fmt: skip
    assert comm[1] == pytest.approx(comm[0], rel=1e-6)
