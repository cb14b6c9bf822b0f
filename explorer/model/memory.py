"""Memory placement: resident bytes fill the tiers fastest first.

Resident bytes R per chip (weights + KV cache + activations) are placed in tier 0
(SRAM) up to its capacity, the rest in tier 1, then tier 2. With C_t the capacity of
tiers 0..t, the bytes beyond boundary t are a_t = relu(R - C_t) and

    placed_t = a_(t-1) - a_t,   a_(-1) = R.

Every resident byte is assumed to be touched with the same probability, so the
traffic served by tier t is its share placed_t / R. Bytes that fit nowhere
(R > sum(cap): infeasible, flagged by the slack) are charged at the slowest existing
tier. The slack sum(cap) - R is exact in both modes.

Smooth mode replaces relu by ``srelu`` with a width set per boundary so that its error
is bounded in *time*, not bytes: srelu moves up to s ln2 / k bytes across boundary t
(docs/model.md 0.2), each costing 1 / b_next - 1 / b_t seconds more than it should,
against an exact time of about R / b_t. With s_t = R x min(1, b_next / b_t) the
relative time error is at most ln2 / k (b_next: the next tier that has capacity; a
boundary with no such tier has s = R since its spill is charged at the same tier).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from explorer.model.chip import Chip
from explorer.model.smooth import Mode, safe_div, srelu

# Smallest width of a boundary relative to R (a 1000x bandwidth cliff).
MIN_RATIO = 1e-3


def boundary_scales(chip: Chip, resident_bytes: jax.Array) -> jax.Array:
    """Smooth width of each tier boundary [B] (3,): R x min(1, b_next / b_t).

    A tier without capacity shares the width of the boundary before it, so that it
    receives no bytes in smooth mode either.
    """
    cap = chip.mem_capacity_bytes
    bw = chip.mem_bw_bytes_per_s * chip.eff_mem
    has = cap > 0.0
    b1 = _next_bandwidth(chip)
    b2 = jnp.where(has[2], bw[2], bw[1])
    ratio = jnp.clip(
        jnp.stack([_ratio(b1, bw[0]), _ratio(b2, bw[1]), jnp.ones(())]), MIN_RATIO, 1.0
    )
    r0 = ratio[0]
    r1 = jnp.where(has[1], ratio[1], r0)
    r2 = jnp.where(has[2], ratio[2], r1)
    return (resident_bytes + 1.0) * jnp.stack([r0, r1, r2])


def _next_bandwidth(chip: Chip) -> jax.Array:
    """Effective bandwidth of the first tier after SRAM that has capacity [B/s]; SRAM's
    own where none has (a spill then stays in the same tier)."""
    cap = chip.mem_capacity_bytes
    bw = chip.mem_bw_bytes_per_s * chip.eff_mem
    return jnp.where(cap[1] > 0, bw[1], jnp.where(cap[2] > 0, bw[2], bw[0]))


def _ratio(num: jax.Array, den: jax.Array) -> jax.Array:
    """num / den, 1 where den = 0 (a tier without bandwidth), with finite gradients
    (a safe_div by 1e-30 overflows float32 in the gradient)."""
    has = den > 0.0
    return jnp.where(has, num / jnp.where(has, den, 1.0), 1.0)


def fill_capacity(chip: Chip, resident_bytes: jax.Array) -> jax.Array:
    """Capacity per tier that placement fills (3,): tier 0 stops at the balance point.

    The tiers stream at once (docs/model.md 5.1), so once SRAM holds a share
    b_0 / (b_0 + b_1) of the bytes it is the slower channel, and a byte more in it
    would make the pass slower: C_0' = min(C_0, max(R b_0 / (b_0 + b_1), R - C_1 - C_2))
    (never spilling bytes the other tiers cannot hold). b_1: the next tier with
    capacity; none: C_0' = C_0. More SRAM never slows a pass.
    """
    cap = chip.mem_capacity_bytes
    bw = chip.mem_bw_bytes_per_s * chip.eff_mem
    has = cap > 0.0
    balance = resident_bytes * _ratio(bw[0], bw[0] + _next_bandwidth(chip))
    keep = jnp.maximum(balance, resident_bytes - cap[1] - cap[2])
    c0 = jnp.where(has[1] | has[2], jnp.minimum(cap[0], keep), cap[0])
    return jnp.stack([c0, cap[1], cap[2]])


def place(chip: Chip, resident_bytes: jax.Array, mode: Mode) -> tuple[jax.Array, jax.Array]:
    """(share of traffic per tier (3,), slack = capacity - resident [B])."""
    cap = fill_capacity(chip, resident_bytes)
    beyond = srelu(resident_bytes - jnp.cumsum(cap), boundary_scales(chip, resident_bytes), mode)
    before = jnp.concatenate([jnp.reshape(resident_bytes, (1,)), beyond[:-1]])
    placed = jnp.maximum(before - beyond, 0.0)
    # Bytes beyond every tier (infeasible) are charged at the slowest tier that exists
    # (tier 0 if none does), so a configuration never gets faster by losing memory.
    overflow = beyond[-1]
    tiers = jnp.arange(cap.shape[0])
    last = jnp.max(jnp.where(cap > 0, tiers, 0))
    share = safe_div(placed + overflow * (tiers == last), resident_bytes)
    slack = jnp.sum(chip.mem_capacity_bytes) - resident_bytes
    return share, slack


def seconds_per_byte(chip: Chip, share: jax.Array) -> jax.Array:
    """Per tier: seconds per byte of traffic, weighted by the tier's share (3,).

    The tiers are separate channels that stream at once, so a pass's memory time is
    the largest of nbytes x these, not their sum (perf._roofline; docs/model.md 5.1).
    """
    return safe_div(share, chip.mem_bw_bytes_per_s * chip.eff_mem)
