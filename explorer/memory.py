"""Memory placement: resident bytes fill the tiers fastest first.

Resident bytes R per chip (weights + KV cache + activations) are placed in tier 0
(SRAM) up to its capacity, the rest in tier 1, then tier 2:

    placed_t = relu(R - C_<t) - relu(R - C_<t - cap_t)

(smooth relu in smooth mode). Every resident byte is assumed to be touched with the
same probability, so the traffic served by tier t is its share placed_t / R. Bytes that
fit nowhere (R > sum(cap): infeasible, flagged by the slack) are charged at the slowest
existing tier. The slack sum(cap) - R is exact in both modes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from explorer.hardware import Chip
from explorer.smooth import Mode, safe_div, srelu


def place(chip: Chip, resident_bytes: jax.Array, mode: Mode) -> tuple[jax.Array, jax.Array]:
    """(share of traffic per tier (3,), slack = capacity - resident [B])."""
    cap = chip.mem_capacity_bytes
    before = jnp.cumsum(cap) - cap  # capacity of the faster tiers
    scale = resident_bytes + 1.0
    placed = srelu(resident_bytes - before, scale, mode) - srelu(
        resident_bytes - before - cap, scale, mode
    )
    placed = jnp.maximum(placed, 0.0)
    # Bytes beyond every tier (infeasible) are charged at the slowest tier that exists
    # (tier 0 if none does), so a configuration never gets faster by losing memory.
    overflow = srelu(resident_bytes - jnp.sum(cap), scale, mode)
    tiers = jnp.arange(cap.shape[0])
    last = jnp.max(jnp.where(cap > 0, tiers, 0))
    share = safe_div(placed + overflow * (tiers == last), resident_bytes)
    slack = jnp.sum(cap) - resident_bytes
    return share, slack


def seconds_per_byte(chip: Chip, share: jax.Array) -> jax.Array:
    """Per tier: seconds per byte of traffic, weighted by the tier's share (3,)."""
    return safe_div(share, chip.mem_bw_bytes_per_s * chip.eff_mem)
