"""Model (static LLM architecture) and Scenario (what is served, traced).

A Model is plain Python numbers (hashable, a static argument under ``jit``); its
parameter and KV-cache sizes are derived from the architecture here, once, so the
latency model only sees counts. A Scenario is a pytree of arrays (batch, prompt and
output lengths, speculative decoding) plus static precision names, so it vmaps over
batches and prompts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from explorer.model.chip import PRECISIONS
from explorer.model.configio import ConfigError, Field, check_table, config_path, read_toml

# Bytes per element. fp4 is OCP MXFP4: 4-bit E2M1 values plus one 8-bit scale per 32.
PRECISION_BYTES = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 4.25 / 8.0}


@dataclasses.dataclass(frozen=True)
class Model:
    """A decoder-only transformer. Sizes in elements (parameters), not bytes.

    mlp: 'gated' (SwiGLU: 3 matrices) or 'plain' (2 matrices).
    attention: 'mha' | 'gqa' | 'mqa' | 'mla'. MLA uses the ``mla_*`` ranks.
    window_tokens / n_window_layers: sliding-window (or chunked) attention layers.
    n_moe_layers of n_layers use experts; the others use a dense MLP of width d_ff.
    """

    id: str
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    vocab_size: int
    tied_embeddings: bool
    mlp: str = "gated"
    attention: str = "gqa"
    window_tokens: int = 0
    n_window_layers: int = 0
    mla_q_lora_rank: int = 0
    mla_kv_lora_rank: int = 0
    mla_qk_rope_head_dim: int = 0
    mla_qk_nope_head_dim: int = 0
    mla_v_head_dim: int = 0
    n_experts: int = 0
    top_k: int = 0
    n_shared_experts: int = 0
    d_ff_expert: int = 0
    d_ff_shared: int = 0
    n_moe_layers: int = 0
    published_total_params: float = 0.0
    published_active_params: float = 0.0
    max_context: int = 0

    # --- derived sizes (elements) -------------------------------------------------
    @property
    def is_moe(self) -> bool:
        return self.n_moe_layers > 0

    @property
    def n_dense_layers(self) -> int:
        return self.n_layers - self.n_moe_layers

    @property
    def n_full_layers(self) -> int:
        return self.n_layers - self.n_window_layers

    @property
    def attn_params_per_layer(self) -> float:
        """Q, K, V, O projections (+ MLA down/up projections)."""
        d, h = self.d_model, self.n_heads
        if self.attention == "mla":
            qk = self.mla_qk_nope_head_dim + self.mla_qk_rope_head_dim
            r_q, r_kv = self.mla_q_lora_rank, self.mla_kv_lora_rank
            q = d * r_q + r_q * h * qk if r_q else d * h * qk
            kv = d * (r_kv + self.mla_qk_rope_head_dim) + r_kv * h * (
                self.mla_qk_nope_head_dim + self.mla_v_head_dim
            )
            return float(q + kv + h * self.mla_v_head_dim * d)
        q_o = 2 * d * h * self.head_dim
        return float(q_o + 2 * d * self.n_kv_heads * self.head_dim)

    @property
    def mlp_matrices(self) -> int:
        return 3 if self.mlp == "gated" else 2

    @property
    def dense_mlp_params(self) -> float:
        return float(self.mlp_matrices * self.d_model * self.d_ff)

    @property
    def expert_params(self) -> float:
        """One routed expert."""
        return float(self.mlp_matrices * self.d_model * self.d_ff_expert)

    @property
    def shared_params(self) -> float:
        """All shared experts of one MoE layer, plus the router."""
        shared = self.n_shared_experts * self.mlp_matrices * self.d_model * self.d_ff_shared
        return float(shared + self.d_model * self.n_experts)

    @property
    def embedding_params(self) -> float:
        return float(self.vocab_size * self.d_model)

    @property
    def lm_head_params(self) -> float:
        return float(self.vocab_size * self.d_model)

    @property
    def total_params(self) -> float:
        """All parameters (embeddings counted once if tied)."""
        layers = self.n_layers * self.attn_params_per_layer
        layers += self.n_dense_layers * self.dense_mlp_params
        layers += self.n_moe_layers * (self.n_experts * self.expert_params + self.shared_params)
        head = 0 if self.tied_embeddings else self.lm_head_params
        return float(layers + self.embedding_params + head)

    @property
    def active_params(self) -> float:
        """Parameters used per token (top_k routed experts), embeddings included."""
        layers = self.n_layers * self.attn_params_per_layer
        layers += self.n_dense_layers * self.dense_mlp_params
        layers += self.n_moe_layers * (self.top_k * self.expert_params + self.shared_params)
        head = 0 if self.tied_embeddings else self.lm_head_params
        return float(layers + self.embedding_params + head)

    @property
    def kv_elems_per_token_layer(self) -> float:
        """KV-cache elements stored per token per layer (MLA: the compressed latent)."""
        if self.attention == "mla":
            return float(self.mla_kv_lora_rank + self.mla_qk_rope_head_dim)
        return float(2 * self.n_kv_heads * self.head_dim)

    @property
    def attn_flops_per_ctx_token(self) -> float:
        """FLOPs of QK^T and AV per query token per context token per layer."""
        if self.attention == "mla":  # absorbed MLA: scores over the latent + rope, values in latent
            r = self.mla_kv_lora_rank
            return float(2 * self.n_heads * (r + self.mla_qk_rope_head_dim) + 2 * self.n_heads * r)
        return float(4 * self.n_heads * self.head_dim)

    @property
    def attn_flops_per_ctx_token_prefill(self) -> float:
        """As attn_flops_per_ctx_token, for prefill: MLA is not absorbed there (keys and
        values are expanded per head: QK over nope + rope dims, AV over v dims)."""
        if self.attention == "mla":
            qk = self.mla_qk_nope_head_dim + self.mla_qk_rope_head_dim
            return float(2 * self.n_heads * (qk + self.mla_v_head_dim))
        return self.attn_flops_per_ctx_token

    @property
    def kv_shards(self) -> int:
        """How many ways the KV cache splits under tensor parallelism (heads; MLA: 1)."""
        return 1 if self.attention == "mla" else self.n_kv_heads


# --- loading --------------------------------------------------------------------

_MODEL = {
    "id": Field(str),
    "name": Field(str),
    "aliases": Field(list, required=False),
    "n_layers": Field(int, positive=True, sourced=False),
    "d_model": Field(int, positive=True, sourced=False),
    "n_heads": Field(int, positive=True, sourced=False),
    "n_kv_heads": Field(int, positive=True, sourced=False),
    "head_dim": Field(int, positive=True, sourced=False),
    "d_ff": Field(int, minimum=0, sourced=False),
    "vocab_size": Field(int, positive=True, sourced=False),
    "tied_embeddings": Field(bool),
    "mlp": Field(str, choices=("gated", "plain")),
    "max_context": Field(int, positive=True, sourced=False),
    "total_params_billion": Field(float, positive=True, sourced=False),
    "active_params_billion": Field(float, positive=True, sourced=False),
    "attention": Field(dict),
    "moe": Field(dict, required=False),
    "sources": Field(list),
    "verified": Field(bool),
    "notes": Field(str, required=False),
}
_ATTENTION = {
    "kind": Field(str, choices=("mha", "gqa", "mqa", "mla")),
    "window_tokens": Field(int, required=False, positive=True, sourced=False),
    "n_window_layers": Field(int, required=False, minimum=0, sourced=False),
    "window_note": Field(str, required=False),
    "mla": Field(dict, required=False),
}
_MLA = {
    "q_lora_rank": Field(int, minimum=0, sourced=False),
    "kv_lora_rank": Field(int, positive=True, sourced=False),
    "qk_rope_head_dim": Field(int, positive=True, sourced=False),
    "qk_nope_head_dim": Field(int, positive=True, sourced=False),
    "v_head_dim": Field(int, positive=True, sourced=False),
}
_MOE = {
    "n_experts": Field(int, positive=True, sourced=False),
    "top_k": Field(int, positive=True, sourced=False),
    "n_shared_experts": Field(int, minimum=0, sourced=False),
    "d_ff_expert": Field(int, positive=True, sourced=False),
    "d_ff_shared": Field(int, required=False, positive=True, sourced=False),
    "n_moe_layers": Field(int, positive=True, sourced=False),
    "layers_note": Field(str, required=False),
}


def parse_model(data: dict[str, Any], where: str) -> Model:
    """Validate a model config table and build a Model."""
    check_table(data, _MODEL, where, need_sources=False)
    att = check_table(data["attention"], _ATTENTION, f"{where}: attention", need_sources=False)
    kw: dict[str, Any] = {}
    if att["kind"] == "mla":
        if "mla" not in att:
            raise ConfigError(f"{where}: attention: kind 'mla' needs an [attention.mla] table")
        mla = check_table(att["mla"], _MLA, f"{where}: attention.mla", need_sources=False)
        kw.update({f"mla_{k}": v for k, v in mla.items()})
    n_window = att.get("n_window_layers", 0)
    if n_window and "window_tokens" not in att:
        raise ConfigError(f"{where}: attention: n_window_layers needs window_tokens")
    if n_window > data["n_layers"]:
        raise ConfigError(f"{where}: attention: n_window_layers exceeds n_layers")
    if "moe" in data:
        moe = check_table(data["moe"], _MOE, f"{where}: moe", need_sources=False)
        if moe["top_k"] > moe["n_experts"] or moe["n_moe_layers"] > data["n_layers"]:
            raise ConfigError(f"{where}: moe: top_k <= n_experts and n_moe_layers <= n_layers")
        kw.update({k: v for k, v in moe.items() if k != "layers_note"})
        kw.setdefault("d_ff_shared", moe["d_ff_expert"])
    if data["d_ff"] == 0 and kw.get("n_moe_layers", 0) < data["n_layers"]:
        raise ConfigError(f"{where}: key 'd_ff' must be > 0 when some layers are dense")
    return Model(
        id=data["id"],
        n_layers=data["n_layers"],
        d_model=data["d_model"],
        n_heads=data["n_heads"],
        n_kv_heads=data["n_kv_heads"],
        head_dim=data["head_dim"],
        d_ff=data["d_ff"],
        vocab_size=data["vocab_size"],
        tied_embeddings=data["tied_embeddings"],
        mlp=data["mlp"],
        attention=att["kind"],
        window_tokens=att.get("window_tokens", 0),
        n_window_layers=n_window,
        published_total_params=data["total_params_billion"] * 1e9,
        published_active_params=data["active_params_billion"] * 1e9,
        max_context=data["max_context"],
        **kw,
    )


def load_model_file(path: str | Path) -> Model:
    """Load a model from any TOML file (same format as configs/models/)."""
    return parse_model(read_toml(Path(path)), str(path))


def load_model(model_id: str) -> Model:
    """A built-in model by id, e.g. ``load_model("llama-3.1-70b")``."""
    path = config_path("models", model_id)
    model = load_model_file(path)
    if model.id != model_id:
        raise ConfigError(f"{path}: key 'id' = '{model.id}' does not match the file name")
    return model


# --- scenario -------------------------------------------------------------------


# Tokens per prefill chunk when the scenario gives none: vLLM V1's default token budget
# per scheduler step for online serving (max_num_batched_tokens = 2048; TensorRT-LLM's
# max_num_tokens defaults to 8192). An estimate of what a serving stack runs.
PREFILL_CHUNK_TOKENS = 2048.0


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Scenario:
    """What one replica serves. Arrays are traced; precisions are static names.

    batch: sequences decoding together per replica [-].
    prompt_tokens, output_tokens: per sequence [-]; TPOT averages over the output.
    prefill_batch: prompts prefilled together for TTFT [-] (static batching = batch).
    spec_k: draft tokens per verification step (0 = no speculative decoding) [-].
    spec_accept: per-token acceptance rate of drafted tokens, in [0, 1) [-].
    spec_draft_cost: cost of one draft token relative to the target's verification
      round (k drafts stretch the round by 1 + k x cost) [-].
    n_micro: micro-batches in flight in the pipeline (decode) [-]; 0 = pp.
    prefill_chunk_tokens: tokens per prefill chunk [-]: the activation working set held
      beside the weights and KV, and with pp > 1 the unit that flows through the
      pipeline (docs/model.md 7.1).
    """

    batch: jax.Array
    prompt_tokens: jax.Array
    output_tokens: jax.Array
    prefill_batch: jax.Array
    spec_k: jax.Array
    spec_accept: jax.Array
    spec_draft_cost: jax.Array
    n_micro: jax.Array
    prefill_chunk_tokens: jax.Array
    weight_precision: str = dataclasses.field(default="bf16", metadata=dict(static=True))
    act_precision: str = dataclasses.field(default="bf16", metadata=dict(static=True))
    kv_precision: str = dataclasses.field(default="bf16", metadata=dict(static=True))


def make_scenario(
    batch: float = 1,
    prompt_tokens: float = 1024,
    output_tokens: float = 1024,
    *,
    prefill_batch: float | None = None,
    precision: str = "bf16",
    kv_precision: str | None = None,
    act_precision: str | None = None,
    spec_k: float = 0,
    spec_accept: float = 0.0,
    spec_draft_cost: float = 0.05,
    n_micro: float = 0,
    prefill_chunk_tokens: float = PREFILL_CHUNK_TOKENS,
) -> Scenario:
    """Build a Scenario; checks values and names (ConfigError on bad input).

    ``precision`` sets the weights and, unless ``act_precision`` is given, the compute
    (the chip's peak for that precision, with the fallback of model/chip_config.py when it
    lacks it; activations are moved at >= 1 byte). The KV cache defaults to
    ``precision``, except fp4 whose KV cache defaults to fp8.
    """
    for name in (precision, kv_precision, act_precision):
        if name is not None and name not in PRECISIONS:
            raise ConfigError(f"precision '{name}' is unknown (expected one of {PRECISIONS})")
    checks = {
        "batch": batch,
        "prompt_tokens": prompt_tokens,
        "output_tokens": output_tokens,
        "prefill_chunk_tokens": prefill_chunk_tokens,
    }
    for key, value in checks.items():
        if not value >= 1:
            raise ConfigError(f"scenario: '{key}' must be >= 1, got {value!r}")
    if not 0.0 <= spec_accept < 1.0:
        raise ConfigError(f"scenario: 'spec_accept' must be in [0, 1), got {spec_accept!r}")
    if spec_k < 0 or spec_draft_cost < 0 or n_micro < 0:
        raise ConfigError("scenario: spec_k, spec_draft_cost and n_micro must be >= 0")
    pb = batch if prefill_batch is None else prefill_batch
    if not 1 <= pb <= batch:
        raise ConfigError(f"scenario: 'prefill_batch' must be in [1, batch], got {pb!r}")
    kv = kv_precision or ("fp8" if precision == "fp4" else precision)
    f = lambda x: jnp.asarray(x, dtype=float)  # noqa: E731
    return Scenario(
        batch=f(batch),
        prompt_tokens=f(prompt_tokens),
        output_tokens=f(output_tokens),
        prefill_batch=f(pb),
        spec_k=f(spec_k),
        spec_accept=f(spec_accept),
        spec_draft_cost=f(spec_draft_cost),
        n_micro=f(n_micro),
        prefill_chunk_tokens=f(prefill_chunk_tokens),
        weight_precision=precision,
        act_precision=act_precision or precision,
        kv_precision=kv,
    )
