"""The decode and prefill equations of ``explorer.predict`` (exact mode) in plain Python.

An independent second implementation on Python floats (the ``math`` module only: no
numpy, no JAX), written from docs/model.md and kept honest by
tests/test_reference_python.py, which checks it against ``predict`` to 1e-6 relative.
It is also the baseline of the speed benchmark (``python -m benchmarks``): what one
design point costs in the analytical-Python style of GenZ or LLM-Viewer.

Inputs are plain mappings (SI units, the field names of explorer's Chip, Scenario and
Mapping); ``chip_floats``, ``scenario_floats`` and ``mapping_floats`` convert
explorer's pytrees. The architecture is reduced once to counts by ``model_sizes`` (as
``predict`` treats the model as static); ``predict`` then costs one pass of arithmetic.

    resident  R = weights of the fullest stage / tp + KV at the final context
               + one prefill chunk's activations
    stage     weights: units x layer params, units = L + E + H (pp = 1) or
               max(ceil(L/pp), (L+E+H)/pp, E, H) (E, H: embedding, untied head in layers)
    placement  tiers fill fastest first; overflow is charged at the slowest tier
    peak       at precision p: peak_p x eff_lowp ** log2(max(peak_p / peak_bf16, 1))
    roofline   t = max(FLOPs / (peak eff), max_t bytes share_t / (bw_t eff_t)) per op
               class (the tiers stream at once)
    layer      gemm + attention + other + collectives + mesh traversal + fixed latency
    messages   tokens x d_model x max(act bytes, 2) (sent in BF16 at least)
    mesh       2 sqrt(layer weight bytes per chip / SRAM per core) x hop latency, or 0
    stage time L t_layer + t_head (pp = 1), else
               max(ceil(L/pp) t_layer, (L t_layer + t_head)/pp, t_head)
    prefill    c chunks (1 at pp = 1, else min(max(ceil(tokens / chunk), pp), tokens));
               TTFT = max(path + (c-1) max(stage, hop) + step, c E_dyn / P_dyn)
    decode     round = max(path, m x max(stage, hop if pp > 1)) + step;
               TPOT = throttled round x draft / tau
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

PRECISIONS = ("fp16", "bf16", "fp8", "fp4", "int8")
PRECISION_BYTES = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 4.25 / 8.0}
TINY = 1e-30  # floor of every denominator that may be zero
ACT_VECTORS_D = 8.0  # activation vectors of width d_model moved per token per layer
ACT_VECTORS_FF = 2.0  # ... and of the active MLP width
OTHER_FLOPS_PER_D = 10.0  # elementwise FLOPs per token per layer per d_model element
SPEC_NEAR_ONE = 1e-6  # acceptance within this of 1 gives k + 1 tokens per round
COMM_BYTES = 2.0  # bytes per element of activations sent between chips (BF16 at least)


def chip_floats(chip: Any) -> dict[str, Any]:
    """An explorer Chip as {field: float or list of floats} (any object whose fields
    have ``tolist``)."""
    return {name: getattr(chip, name).tolist() for name in chip.__dataclass_fields__}


def scenario_floats(scenario: Any) -> dict[str, Any]:
    """An explorer Scenario as {field: float or precision name}."""
    out = {}
    for name in scenario.__dataclass_fields__:
        value = getattr(scenario, name)
        out[name] = value if isinstance(value, str) else float(value)
    return out


def mapping_floats(mapping: Any) -> dict[str, float]:
    """An explorer Mapping as {tp, pp, ep} floats."""
    return {name: float(getattr(mapping, name)) for name in ("tp", "pp", "ep")}


def model_sizes(model: Any) -> dict[str, float]:
    """Counts derived from the architecture fields of an explorer Model [elements].

    Derived here from the raw fields (not from the Model's properties), so a slip in
    either place shows up as a disagreement.
    """
    m = model
    d, h, n_l = float(m.d_model), float(m.n_heads), float(m.n_layers)
    mats = 3.0 if m.mlp == "gated" else 2.0
    n_moe = float(m.n_moe_layers)
    if m.attention == "mla":
        qk = m.mla_qk_nope_head_dim + m.mla_qk_rope_head_dim
        r_q, r_kv, rope = m.mla_q_lora_rank, m.mla_kv_lora_rank, m.mla_qk_rope_head_dim
        q = d * r_q + r_q * h * qk if r_q else d * h * qk
        kv = d * (r_kv + rope) + r_kv * h * (m.mla_qk_nope_head_dim + m.mla_v_head_dim)
        attn = q + kv + h * m.mla_v_head_dim * d
        kv_elems = float(r_kv + rope)
        attn_ctx = 2.0 * h * (r_kv + rope) + 2.0 * h * r_kv  # absorbed (decode)
        attn_ctx_prefill = 2.0 * h * (qk + m.mla_v_head_dim)  # expanded per head
        kv_shards = 1.0
    else:
        attn = 2.0 * d * h * m.head_dim + 2.0 * d * m.n_kv_heads * m.head_dim
        kv_elems = 2.0 * m.n_kv_heads * m.head_dim
        attn_ctx = attn_ctx_prefill = 4.0 * h * m.head_dim
        kv_shards = float(m.n_kv_heads)
    dense_mlp = mats * d * m.d_ff
    expert = mats * d * m.d_ff_expert
    shared = m.n_shared_experts * mats * d * m.d_ff_shared + d * m.n_experts
    vocab = float(m.vocab_size) * d
    head = 0.0 if m.tied_embeddings else vocab
    n_dense = n_l - n_moe
    total = n_l * attn + n_dense * dense_mlp + n_moe * (m.n_experts * expert + shared)
    total += vocab + head
    ff_active = n_dense * m.d_ff + n_moe * (
        m.top_k * m.d_ff_expert + m.n_shared_experts * m.d_ff_shared
    )
    return dict(
        n_layers=n_l,
        d_model=d,
        n_heads=h,
        n_moe_layers=n_moe,
        n_experts=float(m.n_experts),
        top_k=float(m.top_k),
        n_window_layers=float(m.n_window_layers),
        window_tokens=float(m.window_tokens),
        attn_params=attn,
        dense_mlp_params=dense_mlp,
        expert_params=expert,
        shared_params=shared,
        vocab_params=vocab,
        head_params=head,
        total_params=total,
        kv_elems=kv_elems,
        kv_shards=kv_shards,
        attn_flops_per_ctx=attn_ctx,
        attn_flops_per_ctx_prefill=attn_ctx_prefill,
        act_width=ACT_VECTORS_D * d + ACT_VECTORS_FF * ff_active / n_l,
    )


# --- workload ---------------------------------------------------------------------


def _mean_context(ms: Mapping[str, float], lo: float, hi: float) -> float:
    """Mean attended context over [lo, hi], full and windowed layers averaged."""
    full = (lo + hi) / 2.0
    n_w, n_l, w = ms["n_window_layers"], ms["n_layers"], ms["window_tokens"]
    if n_w == 0:
        return full
    m = min(max(w, lo), hi)
    win = ((m * m - lo * lo) / 2.0 + w * (hi - m)) / (hi - lo)
    return (full * (n_l - n_w) + win * n_w) / n_l


def _resident_context(ms: Mapping[str, float], ctx: float) -> float:
    n_w, n_l = ms["n_window_layers"], ms["n_layers"]
    if n_w == 0:
        return ctx
    return (ctx * (n_l - n_w) + min(ctx, ms["window_tokens"]) * n_w) / n_l


def _experts_touched(ms: Mapping[str, float], tokens: float) -> float:
    """E (1 - (1 - k/E)^T): distinct experts hit by T uniform top-k routings."""
    e, k = ms["n_experts"], ms["top_k"]
    if ms["n_moe_layers"] == 0:
        return 0.0
    if k >= e:
        return e
    return e * (1.0 - math.exp(tokens * math.log1p(-k / e)))


def _layer_params(ms) -> float:
    """Parameters of one average layer (no embedding, no untied head)."""
    return (ms["total_params"] - ms["vocab_params"] - ms["head_params"]) / ms["n_layers"]


def _stage_layers(ms, pp: float) -> float:
    """Weights of the fullest pipeline stage in units of an average layer: whole layers
    balanced over pp stages, the embedding on the first, the untied head on the last."""
    n_l, layer = ms["n_layers"], _layer_params(ms)
    emb, head = ms["vocab_params"] / layer, ms["head_params"] / layer
    if pp <= 1.0:
        return n_l + emb + head
    return max(math.ceil(n_l / pp), (n_l + emb + head) / pp, emb, head)


def _resident_bytes(ms, sc, tp, pp) -> float:
    wb = PRECISION_BYTES[sc["weight_precision"]]
    kvb = PRECISION_BYTES[sc["kv_precision"]]
    ab = max(PRECISION_BYTES[sc["act_precision"]], 1.0)
    n_l = ms["n_layers"]
    layers = math.ceil(n_l / pp)
    weights = _stage_layers(ms, pp) * _layer_params(ms) * wb / tp
    ctx_end = sc["prompt_tokens"] + sc["output_tokens"]
    kv = sc["batch"] * _resident_context(ms, ctx_end) * ms["kv_elems"] * kvb * layers
    kv /= min(tp, ms["kv_shards"])
    chunk = min(sc["prefill_batch"] * sc["prompt_tokens"], sc["prefill_chunk_tokens"])
    act = chunk * ms["act_width"] * ab / tp
    return weights + kv + act


def _prefill_chunks(sc, pp: float) -> float:
    """Chunks of a prefill: one at pp = 1; else prompt tokens / chunk size, at least
    pp (every stage busy), at most one per token."""
    if pp <= 1.0:
        return 1.0
    tokens = sc["prefill_batch"] * sc["prompt_tokens"]
    return min(max(float(math.ceil(tokens / sc["prefill_chunk_tokens"])), pp), tokens)


def _stage_time(ms, pp: float, layer: float, head: float) -> float:
    """Slowest stage of one pass: the stage weight balance of ``_stage_layers`` in time."""
    n_l = ms["n_layers"]
    if pp <= 1.0:
        return n_l * layer + head
    return max(math.ceil(n_l / pp) * layer, (n_l * layer + head) / pp, head)


def _traffic(ms, sc, tp, n_seq, q, ctx_mean, kv_moved, head_tokens, prefill) -> dict:
    """Per-chip FLOPs and bytes of one average layer of a pass, and its LM head."""
    wb = PRECISION_BYTES[sc["weight_precision"]]
    kvb = PRECISION_BYTES[sc["kv_precision"]]
    ab = max(PRECISION_BYTES[sc["act_precision"]], 1.0)
    n_l, n_moe, d = ms["n_layers"], ms["n_moe_layers"], ms["d_model"]
    tokens = n_seq * q
    common = n_l * ms["attn_params"] + (n_l - n_moe) * ms["dense_mlp_params"]
    touched = _experts_touched(ms, tokens)
    read = (common + n_moe * (ms["shared_params"] + touched * ms["expert_params"])) / n_l
    active = (common + n_moe * (ms["shared_params"] + ms["top_k"] * ms["expert_params"])) / n_l
    per_ctx = ms["attn_flops_per_ctx_prefill"] if prefill else ms["attn_flops_per_ctx"]
    return dict(
        gemm_flops=2.0 * tokens * active / tp,
        gemm_bytes=read * wb / tp,
        attn_flops=tokens * per_ctx * ctx_mean / min(tp, ms["n_heads"]),
        attn_bytes=n_seq * kv_moved * ms["kv_elems"] * kvb / min(tp, ms["kv_shards"]),
        other_flops=tokens * OTHER_FLOPS_PER_D * d / tp,
        other_bytes=tokens * ms["act_width"] * ab / tp,
        head_flops=2.0 * n_seq * head_tokens * ms["vocab_params"] / tp,
        head_bytes=ms["vocab_params"] * wb / tp,
        msg_bytes=tokens * d * max(ab, COMM_BYTES),
    )


# --- hardware ---------------------------------------------------------------------


def _place(chip, resident: float) -> tuple[list[float], float]:
    """Traffic share per tier (fastest first, overflow at the slowest tier), slack."""
    caps = list(chip["mem_capacity_bytes"])
    slack = sum(caps) - resident
    # overlapped tiers: SRAM is filled only up to its balance point with the next tier
    bws = [b * e for b, e in zip(chip["mem_bw_bytes_per_s"], chip["eff_mem"], strict=True)]
    if caps[1] > 0 or caps[2] > 0:
        nxt = bws[1] if caps[1] > 0 else bws[2]
        balance = resident * bws[0] / (bws[0] + nxt) if bws[0] + nxt > 0 else resident
        caps[0] = min(caps[0], max(balance, resident - caps[1] - caps[2]))
    share, before = [], 0.0
    for cap in caps:
        share.append(max(max(resident - before, 0.0) - max(resident - before - cap, 0.0), 0.0))
        before += cap
    last = max((i for i, cap in enumerate(caps) if cap > 0), default=0)
    share[last] += max(resident - before, 0.0)
    return [s / max(resident, TINY) for s in share], slack


def _fabric(chip, p: float) -> tuple[float, float]:
    """(latency [s], achieved per-chip bandwidth [B/s]) of a p-rank collective."""
    if p > chip["domain_chips"]:
        return chip["scale_out_latency_s"], chip["scale_out_bw_bytes_per_s"] * chip["eff_link"]
    switch, mesh, ring, torus = chip["topology"]
    lat = chip["link_latency_s"] * (
        switch + mesh + ring * 2.0 * (p - 1.0) + torus * 4.0 * (math.sqrt(p) - 1.0)
    )
    links = min(max(p - 1.0, 1.0) / max(chip["domain_chips"] - 1.0, 1.0), 1.0)
    bw = chip["link_bw_bytes_per_s"] * (switch + ring + torus + mesh * links)
    return lat, bw * chip["eff_link"]


def _collective(chip, p: float, n_bytes: float, passes: float) -> float:
    """latency + passes (p-1)/p n / W: all-reduce (passes 2) or all-to-all (1)."""
    if p <= 1.0:
        return 0.0
    lat, bw = _fabric(chip, p)
    return lat + passes * (p - 1.0) / p * n_bytes / max(bw, TINY)


def _hop(chip, n_chips: float, n_bytes: float) -> float:
    """Point-to-point send of n_bytes between pipeline stages."""
    switch, mesh, ring, torus = chip["topology"]
    if n_chips <= chip["domain_chips"]:
        lat = chip["link_latency_s"]
        bw = chip["link_bw_bytes_per_s"] * (
            switch + ring + torus + mesh / max(chip["domain_chips"] - 1.0, 1.0)
        )
    else:
        lat, bw = chip["scale_out_latency_s"], chip["scale_out_bw_bytes_per_s"]
    return lat + n_bytes / max(bw * chip["eff_link"], TINY)


def _layer_comm(chip, ms, tp, ep, msg) -> tuple[float, float]:
    """(time [s], bytes sent per chip [B]) of the collectives of an average layer."""
    moe_frac = ms["n_moe_layers"] / ms["n_layers"]
    ar = _collective(chip, tp, msg, 2.0)
    ar_bytes = 2.0 * (tp - 1.0) / tp * msg
    if ep > 1.0:
        a2a_msg = msg * max(ms["top_k"], 1.0) / ep
        moe = 2.0 * _collective(chip, ep, a2a_msg, 1.0)
        moe_bytes = 2.0 * (ep - 1.0) / ep * a2a_msg
    else:
        moe, moe_bytes = ar, ar_bytes
    time = ar + (1.0 - moe_frac) * ar + moe_frac * moe
    return time, ar_bytes + (1.0 - moe_frac) * ar_bytes + moe_frac * moe_bytes


# --- one pass ---------------------------------------------------------------------


def _mesh(chip, ms, sc, tp) -> float:
    """Wavefront across one layer's region of a wafer's core mesh [s] (model.md 6.5)."""
    if chip["core_sram_bytes"] <= 0.0:
        return 0.0
    layer_bytes = _layer_params(ms) * PRECISION_BYTES[sc["weight_precision"]] / tp
    return 2.0 * math.sqrt(layer_bytes / chip["core_sram_bytes"]) * chip["mesh_hop_latency_s"]


def _pass(chip, ms, tr, spb, peak, tp, ep, mesh) -> tuple[float, float]:
    """(time of an average layer, time of the LM head) of one pass [s]. spb: seconds
    per byte of each tier; the tiers stream at once, so the slowest one counts."""

    def roof(flops, nbytes, eff):
        return max(flops / max(peak * eff, TINY), max(nbytes * s for s in spb))

    comm, _ = _layer_comm(chip, ms, tp, ep, tr["msg_bytes"])
    layer = (
        roof(tr["gemm_flops"], tr["gemm_bytes"], chip["eff_gemm"])
        + roof(tr["attn_flops"], tr["attn_bytes"], chip["eff_attn"])
        + roof(tr["other_flops"], tr["other_bytes"], chip["eff_gemm"])
        + comm
        + mesh
        + chip["layer_latency_s"]
    )
    return layer, roof(tr["head_flops"], tr["head_bytes"], chip["eff_gemm"])


def _energy(chip, ms, tr, e_byte, e_flop, tp, pp, ep) -> float:
    """Dynamic energy of one pass over the whole replica [J]."""
    n_l = ms["n_layers"]
    flops = n_l * (tr["gemm_flops"] + tr["attn_flops"] + tr["other_flops"]) + tr["head_flops"]
    nbytes = n_l * (tr["gemm_bytes"] + tr["attn_bytes"] + tr["other_bytes"]) + tr["head_bytes"]
    _, layer_link = _layer_comm(chip, ms, tp, ep, tr["msg_bytes"])
    link = n_l * layer_link + (pp - 1.0) * tr["msg_bytes"] / tp
    per_chip = flops * e_flop + nbytes * e_byte + link * chip["link_energy_j_per_byte"]
    return per_chip * tp


def predict(
    chip: Mapping[str, Any],
    sizes: Mapping[str, float],
    scenario: Mapping[str, Any],
    mapping: Mapping[str, float],
) -> dict[str, float]:
    """Exact-mode metrics of one replica, as ``explorer.predict`` (SI units).

    Args:
      chip: Chip fields as floats / lists of floats (``chip_floats``).
      sizes: ``model_sizes(model)``.
      scenario: Scenario fields (``scenario_floats``): numbers and precision names.
      mapping: tp, pp, ep.
    Returns:
      ttft_s, tpot_s, tokens_per_s_per_replica, energy_j_per_token [J], power_w,
      memory_slack_bytes, resident_bytes, throttle, tokens_per_round, prefill_chunks.
    """
    ms, sc = sizes, scenario
    tp, pp, ep = mapping["tp"], mapping["pp"], mapping["ep"]
    prec = PRECISIONS.index(sc["act_precision"])
    peak, e_flop = chip["peak_flops_per_s"][prec], chip["flop_energy_j"][prec]
    p16 = max(chip["peak_flops_per_s"][PRECISIONS.index("bf16")], TINY)
    doublings = math.log2(max(peak / p16, 1.0))
    peak = peak * chip["eff_lowp"] ** doublings
    n_chips, n_l = tp * pp, ms["n_layers"]

    resident = _resident_bytes(ms, sc, tp, pp)
    share, slack = _place(chip, resident)
    bw, eff = chip["mem_bw_bytes_per_s"], chip["eff_mem"]
    spb = [s / max(b * e, TINY) for s, b, e in zip(share, bw, eff, strict=True)]
    e_byte = sum(s * e for s, e in zip(share, chip["mem_energy_j_per_byte"], strict=True))
    p_dyn = max(n_chips * max(chip["tdp_w"] - chip["static_power_w"], 1e-3), TINY)
    mesh = _mesh(chip, ms, sc, tp)

    # prefill: prefill_batch prompts of P tokens in c chunks of bp / c sequences; the
    # first chunk crosses every stage, each further one adds the slowest stage (or hop)
    p_len, o_len, bp = sc["prompt_tokens"], sc["output_tokens"], sc["prefill_batch"]
    chunks = _prefill_chunks(sc, pp)
    ctx_p = _mean_context(ms, 0.0, p_len)
    tr = _traffic(ms, sc, tp, bp / chunks, p_len, ctx_p, p_len, 1.0, True)
    layer, head = _pass(chip, ms, tr, spb, peak, tp, ep, mesh)
    hop = _hop(chip, n_chips, tr["msg_bytes"] / tp)
    path = n_l * layer + head + (pp - 1.0) * hop
    stage = max(_stage_time(ms, pp, layer, head), hop)
    fill = path + (chunks - 1.0) * stage + chip["step_latency_s"]
    e_prefill = chunks * _energy(chip, ms, tr, e_byte, e_flop, tp, pp, ep)
    ttft = max(fill, e_prefill / p_dyn)

    # decode: m micro-batches of batch/m sequences, q = k + 1 query tokens each
    batch, k = sc["batch"], sc["spec_k"]
    m = min(max(sc["n_micro"] if sc["n_micro"] > 0 else pp, 1.0), batch)
    q = k + 1.0
    ctx = _mean_context(ms, p_len, p_len + o_len)
    tr = _traffic(ms, sc, tp, batch / m, q, ctx, ctx, q, False)
    layer, head = _pass(chip, ms, tr, spb, peak, tp, ep, mesh)
    hop = _hop(chip, n_chips, tr["msg_bytes"] / tp)
    path = n_l * layer + head + (pp - 1.0) * hop
    stage = max(_stage_time(ms, pp, layer, head), hop if pp > 1 else 0.0)
    round_s = max(path, m * stage) + chip["step_latency_s"]
    draft = 1.0 + k * sc["spec_draft_cost"]
    e_round = m * _energy(chip, ms, tr, e_byte, e_flop, tp, pp, ep) * draft
    round_total = max(round_s * draft, e_round / p_dyn)
    a = sc["spec_accept"]
    tau = k + 1.0 if a > 1.0 - SPEC_NEAR_ONE else (1.0 - a ** (k + 1.0)) / (1.0 - a)
    tpot = round_total / tau

    static = n_chips * chip["static_power_w"]
    request_s = batch / bp * ttft + o_len * tpot
    e_decode_token = (e_round + static * round_total) / max(batch * tau, TINY)
    e_prefill_seq = (e_prefill + static * ttft) / bp
    return dict(
        ttft_s=ttft,
        tpot_s=tpot,
        tokens_per_s_per_replica=batch * o_len / request_s,
        energy_j_per_token=e_decode_token + e_prefill_seq / o_len,
        power_w=(e_round + static * round_total) / (round_total * n_chips),
        memory_slack_bytes=slack,
        resident_bytes=resident,
        throttle=round_total / (round_s * draft),
        tokens_per_round=tau,
        prefill_chunks=chunks,
    )
