"""Alpha-beta communication costs by topology.

Per chip, n bytes per rank, p ranks, W = link bandwidth per direction, eta = achieved
fraction, alpha = the chip's link latency (a whole-collective latency on switch and
mesh fabrics, a per-hop latency on ring and torus fabrics). Sources: Thakur,
Rabenseifner & Gropp, IJHPCA 2005 (ring all-reduce); Scaling Book gpus.md/tpus.md.

    all-reduce    = latency(p) + 2 (p-1)/p * n / (eta * W_eff(p))
    all-to-all    = latency(p) +   (p-1)/p * n / (eta * W_eff(p))
    point-to-point= hop latency + n / (eta * W)
    latency(p): switch, mesh: alpha;  ring: 2 (p-1) alpha;  torus (2-D): 4 (sqrt(p)-1) alpha
    W_eff(p): switch, ring, torus: W; mesh (full mesh of D chips, one link per peer):
              W (p-1)/(D-1), since a p-rank group uses only p-1 of the D-1 links.

A group larger than the scale-up domain (p > domain_chips) runs over the scale-out
network (its bandwidth and collective latency). p = 1 costs nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from explorer.model.chip import Chip
from explorer.model.smooth import safe_div


def _fabric(chip: Chip, p: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(latency [s], effective per-chip bandwidth [B/s]) of a p-rank collective."""
    w = chip.topology  # one-hot over (switch, mesh, ring, torus)
    alpha = chip.link_latency_s
    lat_in = alpha * (w[0] + w[1] + w[2] * 2.0 * (p - 1.0) + w[3] * 4.0 * (jnp.sqrt(p) - 1.0))
    # At least one link, so a 1-rank "group" (no traffic) never divides by zero.
    mesh_frac = jnp.maximum(p - 1.0, 1.0) / jnp.maximum(chip.domain_chips - 1.0, 1.0)
    bw_in = chip.link_bw_bytes_per_s * (w[0] + w[2] + w[3] + w[1] * jnp.minimum(mesh_frac, 1.0))
    inside = p <= chip.domain_chips
    lat = jnp.where(inside, lat_in, chip.scale_out_latency_s)
    bw = jnp.where(inside, bw_in, chip.scale_out_bw_bytes_per_s) * chip.eff_link
    return lat, bw


def all_reduce(chip: Chip, p: jax.Array, n_bytes: jax.Array) -> jax.Array:
    """Time of an all-reduce of n_bytes per rank over p ranks [s]."""
    lat, bw = _fabric(chip, p)
    t = lat + 2.0 * safe_div(p - 1.0, p) * safe_div(n_bytes, bw)
    return jnp.where(p > 1.0, t, 0.0)


def all_to_all(chip: Chip, p: jax.Array, n_bytes: jax.Array) -> jax.Array:
    """Time of an all-to-all where each rank holds n_bytes to spread over p ranks [s]."""
    lat, bw = _fabric(chip, p)
    t = lat + safe_div(p - 1.0, p) * safe_div(n_bytes, bw)
    return jnp.where(p > 1.0, t, 0.0)


def hop(chip: Chip, n_chips: jax.Array, n_bytes: jax.Array) -> jax.Array:
    """Point-to-point send between pipeline stages of a replica of n_chips [s].

    Callers pass each chip's slice (activations / tp): the tp chips of a stage send in
    parallel; the receiving stage's all-gather of the slices is not modelled.

    Inside the domain: one link, the chip's link latency (per hop on ring/torus, taken
    as the collective latency on switch/mesh; a mesh peer link carries W/(D-1));
    beyond the domain, the scale-out network.
    """
    w = chip.topology
    per_peer = w[0] + w[2] + w[3] + w[1] / jnp.maximum(chip.domain_chips - 1.0, 1.0)
    inside = n_chips <= chip.domain_chips
    lat = jnp.where(inside, chip.link_latency_s, chip.scale_out_latency_s)
    bw = jnp.where(inside, chip.link_bw_bytes_per_s * per_peer, chip.scale_out_bw_bytes_per_s)
    return lat + safe_div(n_bytes, bw * chip.eff_link)
