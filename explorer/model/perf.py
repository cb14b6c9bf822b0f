"""The latency model: chip x model x scenario x mapping -> Metrics.

Composition (docs/model.md has every equation with its assumption and source):

1. Resident bytes per chip (weights of the worst stage, KV cache at the final
   context, activation working set) fill the memory tiers fastest first
   (:mod:`explorer.model.memory`); the slack says whether they fit.
2. For a pass (prefill of the prompts, or one decode step of a micro-batch), each
   op class (weight GEMMs, attention, other) takes the roofline max of its compute
   time and its memory time, the latter split over the tiers by their traffic share;
   plus tensor-parallel communication, a fixed latency per layer and, on chips whose
   weights are spread over a mesh of small cores, the wavefront's traversal of the
   layer's region of that mesh.
3. A token's path crosses all layers, the LM head and pp-1 pipeline hops. In decode,
   m micro-batches share the pipeline: a round takes max(path, m x slowest stage).
4. Speculative decoding divides the round by the expected tokens per round; the
   power limit stretches the round when dynamic energy per round exceeds it.

Exact mode (reports) and smooth mode (optimisation) share this one code path.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from explorer.model import comm
from explorer.model.chip import BREAKDOWN, PRECISIONS, Chip
from explorer.model.mapping import Mapping
from explorer.model.memory import place, seconds_per_byte
from explorer.model.smooth import EXACT, Mode, safe_div, smax, smax_weights
from explorer.model.traffic import (
    ACT_VECTORS_D,
    ACT_VECTORS_FF,
    PassTraffic,
    mean_context,
    mlp_width_active,
    pass_traffic,
    resident_context,
)
from explorer.model.workload import PRECISION_BYTES, Model, Scenario


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Metrics:
    """What ``predict`` returns (SI units; arrays, so it jits, vmaps and differentiates).

    ttft_s: time to first token (prefill of ``prefill_batch`` prompts) [s].
    tpot_s: mean time per output token of one sequence during decode [s].
    tokens_per_s_per_user: 1 / tpot [tokens/s].
    tokens_per_s_per_replica: batch x output / (prefill time + output x tpot) [tokens/s],
      static batching: a batch is prefilled (batch / prefill_batch passes), then decoded.
    tokens_per_s_per_chip: per replica / chips per replica [tokens/s].
    energy_j_per_token: energy of a request (prefill + decode) per output token [J].
    power_w: mean power per chip during decode [W].
    memory_slack_bytes: capacity - resident bytes on the fullest chip [B] (>= 0 fits).
    fits: memory_slack_bytes >= 0.
    prefill_breakdown_s, decode_breakdown_s: (6,) time split into BREAKDOWN =
      (compute, sram, mem, ext, comm, fixed); each sums to ttft_s / tpot_s.
    n_chips: chips per replica. throttle: decode stretch by the power limit (>= 1).
    resident_bytes: bytes held per chip. tokens_per_round: speculative tokens per step.
    """

    ttft_s: jax.Array
    tpot_s: jax.Array
    tokens_per_s_per_user: jax.Array
    tokens_per_s_per_replica: jax.Array
    tokens_per_s_per_chip: jax.Array
    energy_j_per_token: jax.Array
    power_w: jax.Array
    memory_slack_bytes: jax.Array
    fits: jax.Array
    prefill_breakdown_s: jax.Array
    decode_breakdown_s: jax.Array
    n_chips: jax.Array
    throttle: jax.Array
    resident_bytes: jax.Array
    tokens_per_round: jax.Array


def stage_weight_units(model: Model, pp: jax.Array) -> jax.Array:
    """Weights of the fullest pipeline stage, in units of one average layer [-].

    pp = 1: all L layers plus the embedding E and the untied LM head H (in layer
    units). pp > 1: the stack balances whole layers over the stages, the embedding on
    the first and the head on the last, so the fullest stage holds
    max(ceil(L / pp), (L + E + H) / pp, E, H) (docs/model.md 3.1).
    """
    layer = layer_params(model)
    emb = model.embedding_params / layer
    head = 0.0 if model.tied_embeddings else float(model.lm_head_params) / layer
    n_l = float(model.n_layers)
    total = n_l + emb + head
    balanced = jnp.maximum(jnp.maximum(jnp.ceil(n_l / pp), total / pp), max(emb, head))
    return jnp.where(pp > 1.0, balanced, total)


def layer_params(model: Model) -> float:
    """Parameters of one average transformer layer (no embedding, no head) [-]."""
    head = 0.0 if model.tied_embeddings else float(model.lm_head_params)
    return (model.total_params - model.embedding_params - head) / model.n_layers


def resident_bytes(model: Model, scenario: Scenario, mapping: Mapping) -> jax.Array:
    """Bytes held on the fullest chip: weights of the fullest stage, KV, one prefill
    chunk's activations (freed between chunks, so never a whole prompt's)."""
    wb = PRECISION_BYTES[scenario.weight_precision]
    kvb = PRECISION_BYTES[scenario.kv_precision]
    ab = max(PRECISION_BYTES[scenario.act_precision], 1.0)
    tp, pp = mapping.tp, mapping.pp
    layers = jnp.ceil(model.n_layers / pp)
    weights = stage_weight_units(model, pp) * layer_params(model) * wb / tp
    ctx_end = scenario.prompt_tokens + scenario.output_tokens
    kv = (
        scenario.batch
        * resident_context(model, ctx_end)
        * model.kv_elems_per_token_layer
        * kvb
        * layers
        / jnp.minimum(tp, model.kv_shards)
    )
    width = ACT_VECTORS_D * model.d_model + ACT_VECTORS_FF * mlp_width_active(model)
    chunk = jnp.minimum(scenario.prefill_batch * scenario.prompt_tokens,
                        scenario.prefill_chunk_tokens)  # fmt: skip
    act = chunk * width * ab / tp
    return weights + kv + act


def prefill_chunks(scenario: Scenario, pp: jax.Array) -> jax.Array:
    """Chunks a prefill is split into [-] (docs/model.md 7.1).

    pp = 1: one pass (chunks of one stage run back to back; compute-bound, they sum
    to the same time). pp > 1: the prefill batch's prompt tokens in chunks of
    prefill_chunk_tokens, and at least pp chunks so that every stage works at once
    (GPipe's micro-batches), at most one chunk per token.
    """
    tokens = scenario.prefill_batch * scenario.prompt_tokens
    chunks = jnp.maximum(jnp.ceil(tokens / scenario.prefill_chunk_tokens), pp)
    return jnp.where(pp > 1.0, jnp.minimum(chunks, tokens), 1.0)


def stage_time(layer_s: jax.Array, head_s: jax.Array, model: Model, pp: jax.Array):
    """Time of the slowest pipeline stage for one pass [s]: the balanced split of
    ``stage_weight_units`` in time, max(ceil(L / pp) t_layer, (L t_layer + t_head) / pp,
    t_head); pp = 1: L t_layer + t_head."""
    n_l = float(model.n_layers)
    path = n_l * layer_s + head_s
    # exact max in both modes: the 3-term smooth max here gave NaN gradients under XLA's
    # fusion in calibration (not reproducible de-optimised); the choice among the three
    # is a discrete layout choice, and its subgradient is what the fit needs
    balanced = jnp.maximum(jnp.maximum(jnp.ceil(n_l / pp) * layer_s, path / pp), head_s)
    return jnp.where(pp > 1.0, balanced, path)


def layer_weight_bytes(model: Model, scenario: Scenario, mapping: Mapping) -> jax.Array:
    """Bytes of one average layer's weights held on each chip of its stage [B]."""
    return layer_params(model) * PRECISION_BYTES[scenario.weight_precision] / mapping.tp


def mesh_traversal(chip: Chip, layer_bytes: jax.Array) -> jax.Array:
    """Latency of a token's wavefront across one layer's region of the core mesh [s].

    t = 2 sqrt(layer_bytes / core_sram_bytes) * mesh_hop_latency_s (docs/model.md 6.5):
    the layer's weights fill a square region of N = layer_bytes / core_sram_bytes cores;
    the input vector is broadcast across it and the partial sums are reduced back
    across it, sqrt(N) hops each way. Zero (value and gradient) where core_sram_bytes
    is 0, i.e. on every chip that is not a mesh of small cores.
    """
    mesh = chip.core_sram_bytes > 0.0
    cores = safe_div(layer_bytes, jnp.where(mesh, chip.core_sram_bytes, 1.0))
    hops = 2.0 * jnp.sqrt(jnp.where(mesh & (cores > 0.0), cores, 1.0))
    return jnp.where(mesh & (cores > 0.0), hops * chip.mesh_hop_latency_s, 0.0)


def effective_peak(chip: Chip, prec: int) -> jax.Array:
    """Peak rate at precision index ``prec`` with the low-precision factor [FLOP/s].

    peak_p * eff_lowp ** h, h = log2(peak_p / peak_bf16) doublings below 16 bits (0 for
    a 16-bit format or a chip that runs it at the 16-bit rate; docs/model.md 5.1).
    """
    p16 = chip.peak_flops_per_s[PRECISIONS.index("bf16")]
    peak = chip.peak_flops_per_s[prec]
    doublings = jnp.log2(jnp.maximum(safe_div(peak, p16), 1.0))
    return peak * chip.eff_lowp**doublings


def _roofline(flops, nbytes, peak, eff, spb, mode):
    """Time of one op class and its (6,) breakdown (compute, 3 tiers, comm=0, fixed=0).

    The tiers stream at once (separate channels): memory time is the largest tier's
    nbytes x share / bandwidth, not their sum (docs/model.md 5.1).
    """
    t_compute = safe_div(flops, peak * eff)
    t_memory, tier_frac = smax_weights([nbytes * spb[0], nbytes * spb[1], nbytes * spb[2]], mode)
    t, w = smax_weights([t_compute, t_memory], mode)
    bd = jnp.concatenate([w[0:1] * t, w[1] * t * tier_frac, jnp.zeros(2)])
    return t, bd


def _layer_comm(
    chip: Chip, model: Model, mapping: Mapping, msg: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """(time [s], bytes sent per chip [B]) of communication per average layer.

    Dense layers: all-reduces after attention and after the MLP. MoE layers with
    ep > 1: the attention all-reduce, then dispatch and combine all-to-alls; each rank
    dispatches its 1/ep share of the tokens, top_k copies each (msg top_k / ep).
    """
    tp, ep = mapping.tp, mapping.ep
    moe_frac = model.n_moe_layers / model.n_layers
    ar = comm.all_reduce(chip, tp, msg)
    ar_bytes = 2.0 * safe_div(tp - 1.0, tp) * msg
    a2a_msg = msg * max(model.top_k, 1) / ep
    a2a = 2.0 * comm.all_to_all(chip, ep, a2a_msg)
    a2a_bytes = 2.0 * safe_div(ep - 1.0, ep) * a2a_msg
    use_a2a = ep > 1.0
    moe = jnp.where(use_a2a, a2a, ar)
    moe_bytes = jnp.where(use_a2a, a2a_bytes, ar_bytes)
    time = ar + (1.0 - moe_frac) * ar + moe_frac * moe
    return time, ar_bytes + (1.0 - moe_frac) * ar_bytes + moe_frac * moe_bytes


def _pass_time(chip, model, mapping, tr: PassTraffic, spb, peak, mode, t_mesh):
    """(layer time, layer breakdown, head time, head breakdown) of one pass.

    t_mesh: on-chip mesh traversal per layer [s] (:func:`mesh_traversal`), in "comm".
    """
    t_g, bd_g = _roofline(tr.gemm_flops, tr.gemm_bytes, peak, chip.eff_gemm, spb, mode)
    t_a, bd_a = _roofline(tr.attn_flops, tr.attn_bytes, peak, chip.eff_attn, spb, mode)
    t_o, bd_o = _roofline(tr.other_flops, tr.other_bytes, peak, chip.eff_gemm, spb, mode)
    t_c, _ = _layer_comm(chip, model, mapping, tr.msg_bytes)
    t_c = t_c + t_mesh
    fixed = (
        jnp.array([0.0, 0.0, 0.0, 0.0, 1.0, 0.0]) * t_c
        + jnp.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0]) * chip.layer_latency_s
    )
    t_layer = t_g + t_a + t_o + t_c + chip.layer_latency_s
    t_head, bd_head = _roofline(tr.head_flops, tr.head_bytes, peak, chip.eff_gemm, spb, mode)
    return t_layer, bd_g + bd_a + bd_o + fixed, t_head, bd_head


def _pass_energy(chip, model, mapping, tr: PassTraffic, share, prec_index, passes):
    """Dynamic energy of ``passes`` passes over the whole replica [J]."""
    n_l = model.n_layers
    flops = n_l * (tr.gemm_flops + tr.attn_flops + tr.other_flops) + tr.head_flops
    nbytes = n_l * (tr.gemm_bytes + tr.attn_bytes + tr.other_bytes) + tr.head_bytes
    tp, pp = mapping.tp, mapping.pp
    # Per chip: its layers' collective bytes, and its 1/tp slice of each stage hop.
    _, layer_link = _layer_comm(chip, model, mapping, tr.msg_bytes)
    link = n_l * layer_link + (pp - 1.0) * tr.msg_bytes / tp
    per_chip = (
        flops * chip.flop_energy_j[prec_index]
        + nbytes * jnp.sum(share * chip.mem_energy_j_per_byte)
        + link * chip.link_energy_j_per_byte
    )
    return passes * per_chip * tp  # pp stages each do 1/pp of the layers: tp x (sum over stages)


def _throttle(chip, n_chips, t, e_dyn, mode):
    """Stretch time t so that dynamic power fits under (tdp - static) on every chip."""
    p_dyn = n_chips * jnp.maximum(chip.tdp_w - chip.static_power_w, 1e-3)
    return smax([t, safe_div(e_dyn, p_dyn)], mode)


def spec_tokens_per_round(k: jax.Array, accept: jax.Array) -> jax.Array:
    """Expected tokens per verification step, sum_{i=0..k} a^i = (1 - a^(k+1)) / (1 - a).

    Leviathan, Kalman & Matias, ICML 2023 (i.i.d. acceptance). Finite at a -> 1 (k + 1).
    """
    near_one = accept > 1.0 - 1e-6
    a = jnp.where(near_one, 0.5, accept)
    tau = (1.0 - a ** (k + 1.0)) / (1.0 - a)
    return jnp.where(near_one, k + 1.0, tau)


@functools.partial(jax.jit, static_argnames=("model", "mode"))
def predict(
    chip: Chip, model: Model, scenario: Scenario, mapping: Mapping, mode: Mode = EXACT
) -> Metrics:
    """Prefill and decode metrics of one replica (see the module docstring).

    Args:
      chip: a Chip (SI units); any field may be traced or batched.
      model: a Model (static).
      scenario: a Scenario (batch, prompt, output, precisions, speculative decoding).
      mapping: a Mapping (tp, pp, ep).
      mode: EXACT for reports, SMOOTH (or Mode(True, s)) for optimisation (static).
    Returns:
      Metrics, all finite for positive chip parameters, fitting or not.
    """
    prec = PRECISIONS.index(scenario.act_precision)
    peak = effective_peak(chip, prec)
    tp, pp = mapping.tp, mapping.pp
    n_chips = tp * pp
    n_l = float(model.n_layers)

    res = resident_bytes(model, scenario, mapping)
    share, slack = place(chip, res, mode)
    spb = seconds_per_byte(chip, share)
    t_mesh = mesh_traversal(chip, layer_weight_bytes(model, scenario, mapping))

    # --- prefill: prefill_batch prompts in c chunks; with pp > 1 the chunks flow
    # through the stages, so TTFT = one chunk's path + (c - 1) x the slowest stage ---
    p_len, o_len = scenario.prompt_tokens, scenario.output_tokens
    bp = scenario.prefill_batch
    chunks = prefill_chunks(scenario, pp)
    tr_p = pass_traffic(
        model,
        scenario,
        mapping,
        bp / chunks,
        p_len,
        mean_context(model, 0.0 * p_len, p_len),
        p_len,
        1.0,
        prefill=True,
    )
    tl_p, bd_lp, th_p, bd_hp = _pass_time(chip, model, mapping, tr_p, spb, peak, mode, t_mesh)
    hop_p = comm.hop(chip, n_chips, tr_p.msg_bytes / tp)
    path_p = n_l * tl_p + th_p + (pp - 1.0) * hop_p
    stage_p = smax([stage_time(tl_p, th_p, model, pp), hop_p], mode)
    fill_p = path_p + (chunks - 1.0) * stage_p + chip.step_latency_s
    e_p = _pass_energy(chip, model, mapping, tr_p, share, prec, chunks)
    ttft = _throttle(chip, n_chips, fill_p, e_p, mode)
    bd_p = n_l * bd_lp + bd_hp + jnp.array([0, 0, 0, 0, 1.0, 0]) * (pp - 1.0) * hop_p
    bd_p = bd_p + jnp.array([0, 0, 0, 0, 0, 1.0]) * chip.step_latency_s
    bd_p = bd_p * safe_div(ttft, jnp.sum(bd_p))

    # --- decode: m micro-batches of batch/m sequences share the pipeline ---
    batch = scenario.batch
    m = jnp.clip(jnp.where(scenario.n_micro > 0, scenario.n_micro, pp), 1.0, batch)
    q = scenario.spec_k + 1.0
    ctx = mean_context(model, p_len, p_len + o_len)
    tr_d = pass_traffic(model, scenario, mapping, batch / m, q, ctx, ctx, q)
    tl_d, bd_ld, th_d, bd_hd = _pass_time(chip, model, mapping, tr_d, spb, peak, mode, t_mesh)
    hop_d = comm.hop(chip, n_chips, tr_d.msg_bytes / tp)
    path_d = n_l * tl_d + th_d + (pp - 1.0) * hop_d
    # a stage also waits for its input to arrive: the hop bounds it when links are slow
    stage_d = smax([stage_time(tl_d, th_d, model, pp), (pp > 1.0) * hop_d], mode)
    round_d = smax([path_d, m * stage_d], mode) + chip.step_latency_s
    draft = 1.0 + scenario.spec_k * scenario.spec_draft_cost
    e_d = _pass_energy(chip, model, mapping, tr_d, share, prec, m) * draft
    round_total = _throttle(chip, n_chips, round_d * draft, e_d, mode)
    tau = spec_tokens_per_round(scenario.spec_k, scenario.spec_accept)
    tpot = round_total / tau
    bd_d = n_l * bd_ld + bd_hd + jnp.array([0, 0, 0, 0, 1.0, 0]) * (pp - 1.0) * hop_d
    bd_d = bd_d + jnp.array([0, 0, 0, 0, 0, 1.0]) * chip.step_latency_s
    bd_d = bd_d * safe_div(tpot, jnp.sum(bd_d))

    # --- throughput and energy ---
    prefill_passes = batch / bp
    request_time = prefill_passes * ttft + o_len * tpot
    per_replica = batch * o_len / request_time
    static = n_chips * chip.static_power_w
    e_decode_token = safe_div(e_d + static * round_total, batch * tau)
    e_prefill_seq = (e_p + static * ttft) / bp
    energy = e_decode_token + e_prefill_seq / o_len
    power = (e_d + static * round_total) / (round_total * n_chips)

    return Metrics(
        ttft_s=ttft,
        tpot_s=tpot,
        tokens_per_s_per_user=1.0 / tpot,
        tokens_per_s_per_replica=per_replica,
        tokens_per_s_per_chip=per_replica / n_chips,
        energy_j_per_token=energy,
        power_w=power,
        memory_slack_bytes=slack,
        fits=slack >= 0.0,
        prefill_breakdown_s=bd_p,
        decode_breakdown_s=bd_d,
        n_chips=n_chips,
        throttle=safe_div(round_total, round_d * draft),
        resident_bytes=res,
        tokens_per_round=tau,
    )


def bottleneck(breakdown) -> str:
    """Name of the largest component of a (6,) breakdown (for reports)."""
    return BREAKDOWN[int(jnp.argmax(jnp.asarray(breakdown)))]
