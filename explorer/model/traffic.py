"""FLOPs and bytes of one forward pass, per chip, per average layer and op class.

A *pass* processes ``n_seq`` sequences with ``q_tokens`` query tokens each (decode:
q = 1, or k + 1 when verifying k drafted tokens; prefill: q = prompt length) over
a mean attended context. All results are per chip of one pipeline stage, i.e.
already divided by the tensor-parallel degree. Equations: docs/model.md section 4.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from explorer.model.mapping import Mapping
from explorer.model.workload import PRECISION_BYTES, Model, Scenario

# Activation traffic per token per layer, in vectors: 8 of width d_model (residual
# read/write, two norms, QKV and attention outputs) + 2 of the MLP width (up/gate
# output, down input). An estimate; see docs/model.md.
ACT_VECTORS_D = 8.0
ACT_VECTORS_FF = 2.0
# Bytes per element of the activations that cross chips (all-reduces, all-to-alls,
# pipeline hops): production stacks reduce and send in BF16 even when the GEMMs run
# in FP8 or FP4 (TensorRT-LLM and vLLM all-reduce kernels; docs/model.md 6.1).
COMM_BYTES = 2.0
# Elementwise FLOPs per token per layer per d_model element (norms, residual, RoPE).
OTHER_FLOPS_PER_D = 10.0


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class PassTraffic:
    """Per-chip FLOPs [FLOP] and bytes [B] of one average layer, by op class, plus
    the LM head and the activation message of one token pass [B]."""

    gemm_flops: jax.Array
    gemm_bytes: jax.Array
    attn_flops: jax.Array
    attn_bytes: jax.Array
    other_flops: jax.Array
    other_bytes: jax.Array
    head_flops: jax.Array
    head_bytes: jax.Array
    msg_bytes: jax.Array  # activations of all tokens in the pass (one BF16 d_model vector each)
    tokens: jax.Array  # query tokens in the pass


def experts_touched(model: Model, tokens: jax.Array) -> jax.Array:
    """Expected distinct experts hit by ``tokens`` routings of top_k of E (uniform routing).

    E_touched = E (1 - (1 - k/E)^T); T = 1 gives k, T -> inf gives E.
    """
    if not model.is_moe:
        return jnp.zeros_like(tokens)
    e, k = float(model.n_experts), float(model.top_k)
    log_miss = jnp.log1p(-k / e) if k < e else -jnp.inf
    return e * (1.0 - jnp.exp(tokens * log_miss))


def mean_window(lo: jax.Array, hi: jax.Array, window: float) -> jax.Array:
    """Mean of min(c, window) for c uniform on [lo, hi] (hi > lo), exactly.

    integral = (m^2 - lo^2)/2 + window (hi - m), with m = clip(window, lo, hi).
    """
    m = jnp.clip(window, lo, hi)
    return ((m**2 - lo**2) / 2.0 + window * (hi - m)) / (hi - lo)


def mean_context(model: Model, lo: jax.Array, hi: jax.Array) -> jax.Array:
    """Mean attended context per layer, full and windowed layers averaged [tokens]."""
    full = (lo + hi) / 2.0
    if model.n_window_layers == 0:
        return full
    win = mean_window(lo, hi, float(model.window_tokens))
    n_w, n_l = model.n_window_layers, model.n_layers
    return (full * (n_l - n_w) + win * n_w) / n_l


def resident_context(model: Model, ctx: jax.Array) -> jax.Array:
    """Mean KV tokens held per layer at context ``ctx`` (windowed layers keep W)."""
    if model.n_window_layers == 0:
        return ctx
    n_w, n_l = model.n_window_layers, model.n_layers
    return (ctx * (n_l - n_w) + jnp.minimum(ctx, model.window_tokens) * n_w) / n_l


def layer_weight_params(model: Model, tokens: jax.Array) -> tuple[jax.Array, float]:
    """(weights read per average layer, active weights used per token per layer) [elements]."""
    n_l = model.n_layers
    dense = model.n_dense_layers * model.dense_mlp_params
    moe_read = model.n_moe_layers * (
        model.shared_params + experts_touched(model, tokens) * model.expert_params
    )
    moe_active = model.n_moe_layers * (model.shared_params + model.top_k * model.expert_params)
    attn = n_l * model.attn_params_per_layer
    return (attn + dense + moe_read) / n_l, (attn + dense + moe_active) / n_l


def mlp_width_active(model: Model) -> float:
    """Mean active MLP width per token per layer [elements]."""
    dense = model.n_dense_layers * model.d_ff
    moe = model.n_moe_layers * (
        model.top_k * model.d_ff_expert + model.n_shared_experts * model.d_ff_shared
    )
    return (dense + moe) / model.n_layers


def pass_traffic(
    model: Model,
    scenario: Scenario,
    mapping: Mapping,
    n_seq: jax.Array,
    q_tokens: jax.Array,
    ctx_mean: jax.Array,
    kv_tokens_moved: jax.Array,
    head_tokens: jax.Array,
    prefill: bool = False,
) -> PassTraffic:
    """FLOPs and bytes per chip for one average layer of a pass (see module docstring).

    ctx_mean: mean attended context per query token per layer [tokens].
    kv_tokens_moved: KV tokens read (decode) or written (prefill) per sequence per layer.
    head_tokens: tokens per sequence that go through the LM head.
    prefill: use the prefill attention kernel's FLOPs (MLA not absorbed).
    """
    wb = PRECISION_BYTES[scenario.weight_precision]
    kvb = PRECISION_BYTES[scenario.kv_precision]
    ab = max(PRECISION_BYTES[scenario.act_precision], 1.0)
    tp = mapping.tp
    heads_split = jnp.minimum(tp, model.n_heads)
    kv_split = jnp.minimum(tp, model.kv_shards)
    tokens = n_seq * q_tokens
    read_params, active_params = layer_weight_params(model, tokens)

    gemm_flops = 2.0 * tokens * active_params / tp
    gemm_bytes = read_params * wb / tp
    per_ctx = model.attn_flops_per_ctx_token_prefill if prefill else model.attn_flops_per_ctx_token
    attn_flops = tokens * per_ctx * ctx_mean / heads_split
    attn_bytes = n_seq * kv_tokens_moved * model.kv_elems_per_token_layer * kvb / kv_split
    width = ACT_VECTORS_D * model.d_model + ACT_VECTORS_FF * mlp_width_active(model)
    other_bytes = tokens * width * ab / tp
    other_flops = tokens * OTHER_FLOPS_PER_D * model.d_model / tp
    head_flops = 2.0 * n_seq * head_tokens * model.lm_head_params / tp
    head_bytes = model.lm_head_params * wb / tp
    return PassTraffic(
        gemm_flops=gemm_flops,
        gemm_bytes=gemm_bytes,
        attn_flops=attn_flops,
        attn_bytes=attn_bytes,
        other_flops=other_flops,
        other_bytes=other_bytes,
        head_flops=head_flops,
        head_bytes=head_bytes,
        msg_bytes=tokens * model.d_model * max(ab, COMM_BYTES),
        tokens=tokens,
    )
