"""Exact and smooth forms of the model's non-smooth operations.

Each operation takes a :class:`Mode`. Exact mode gives max/relu/clip; smooth mode
gives a differentiable relaxation with one sharpness parameter that converges to
the exact form as sharpness grows. Reports use exact mode; optimisation uses
smooth mode and re-evaluates the answer exactly.

- ``smax``: the p-norm ``(sum x_i^p)^(1/p)`` of non-negative terms, p = sharpness.
  Scale-free (seconds of 1e-6 and 1 are treated alike); overshoots the max by at
  most ``n^(1/p)`` (1.4% for two terms at p = 50).
- ``srelu``: ``(s/k) softplus(k x / s)`` with a positive scale s (the working set),
  k = sharpness; overshoots relu by at most ``s ln2 / k`` at x = 0.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Mode:
    """Exact (``smooth=False``) or smooth evaluation. Static under jit (hashable)."""

    smooth: bool = False
    sharpness: float = 50.0


EXACT = Mode()
SMOOTH = Mode(smooth=True)


def smax_weights(terms: list[jax.Array], mode: Mode) -> tuple[jax.Array, jax.Array]:
    """Max of non-negative terms and each term's share of it (weights sum to 1).

    Exact: the max and a one-hot of the argmax (ties split evenly). Smooth: the
    p-norm and ``x_i^p / sum x^p``, which are d(log smax)/d(log x_i).
    """
    x = jnp.stack([jnp.asarray(t) for t in terms])
    top = jnp.max(x, axis=0)
    safe_top = jnp.where(top > 0, top, 1.0)
    ratio = x / safe_top
    if mode.smooth:
        # pow at 0 has a NaN gradient once XLA rewrites it (exp(p log r)): zero terms
        # contribute exactly 0 through a where instead
        pos = ratio > 0
        powered = jnp.where(pos, jnp.where(pos, ratio, 1.0) ** mode.sharpness, 0.0)
        # >= 1 where some term is positive (the top one gives 1); all-zero terms: 1, so
        # neither the value nor its gradient divides by zero
        total = jnp.where(top > 0, jnp.sum(powered, axis=0), 1.0)
        value = safe_top * total ** (1.0 / mode.sharpness)
        weights = jnp.where(top > 0, powered / total, 1.0 / x.shape[0])
    else:
        is_top = (x >= top).astype(x.dtype)
        value = top
        weights = is_top / jnp.sum(is_top, axis=0)
    value = jnp.where(top > 0, value, 0.0)
    return value, weights


def smax(terms: list[jax.Array], mode: Mode) -> jax.Array:
    """Max of non-negative terms, exact or smooth (see module docstring)."""
    return smax_weights(terms, mode)[0]


def srelu(x: jax.Array, scale: jax.Array, mode: Mode) -> jax.Array:
    """max(x, 0), exact or smooth with a positive scale (same unit as x)."""
    if not mode.smooth:
        return jnp.maximum(x, 0.0)
    k = mode.sharpness
    return scale / k * jax.nn.softplus(k * x / scale)


def safe_div(num: jax.Array, den: jax.Array, tiny: float = 1e-30) -> jax.Array:
    """num / den for den >= 0, finite (and with finite gradients) at den = 0."""
    return num / jnp.maximum(den, tiny)
