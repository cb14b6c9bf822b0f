"""The design variables of a hypothetical chip: the :class:`Design` pytree.

A :class:`Design` is a pytree of positive floats in SI units (dense BF16 FLOP/s, SRAM
bytes, memory stacks, link bytes/s, dies) plus static names (memory technology,
process node, SRAM kind, package class, wafer scale).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from explorer.model.configio import ConfigError

MEMORY_NONE = "none"
SRAM_KINDS = ("scratchpad", "cache")
PACKAGE_AUTO = "auto"
CONTINUOUS = (
    "compute_flops_per_s",
    "sram_bytes",
    "mem_stacks",
    "link_bw_bytes_per_s",
    "dies",
    "sram_bw_bytes_per_s",
    "mem_stack_bytes",
    "mem_stack_bw_bytes_per_s",
)


def _f(x: Any) -> jax.Array:
    """A strongly typed array of the default float dtype (float64 under x64)."""
    return jnp.asarray(x, dtype=jnp.result_type(float))


# --- design -----------------------------------------------------------------------


def _static(default: Any) -> Any:
    return dataclasses.field(default=default, metadata=dict(static=True))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Design:
    """A chip design. Continuous fields are arrays (traced, batched, differentiated).

    compute_flops_per_s: dense BF16 (or BF16-equivalent) peak [FLOP/s].
    sram_bytes: on-chip SRAM capacity (tier 0) [B].
    mem_stacks: HBM stacks / GDDR devices / LPDDR x64 packages, a relaxed integer [-].
    link_bw_bytes_per_s: scale-up bandwidth per direction [B/s].
    dies: compute dies per package, a relaxed integer [-] (ignored at wafer scale).
    sram_bw_bytes_per_s: SRAM bandwidth [B/s]; None: sram_bytes x the per-byte rate of
      the SRAM kind (configs/cost.toml sram_kind.*.bandwidth_tb_s_per_mb), so it grows
      with capacity (more banks in parallel).
    mem_stack_bytes, mem_stack_bw_bytes_per_s: per stack [B], [B/s]; None: the memory
      technology's values (reference chips set them from their datasheets).
    Static: memory (a [memory.*] name of configs/cost.toml, or "none"), node (a
    [node.*] name), sram_kind ("scratchpad" or "cache"), package (a [package.*] name or
    "auto": wafer at wafer scale, cowos-l with on-package memory, else organic),
    wafer_scale (one die = the usable wafer).
    """

    compute_flops_per_s: jax.Array
    sram_bytes: jax.Array
    mem_stacks: jax.Array
    link_bw_bytes_per_s: jax.Array
    dies: jax.Array
    sram_bw_bytes_per_s: jax.Array | None = None
    mem_stack_bytes: jax.Array | None = None
    mem_stack_bw_bytes_per_s: jax.Array | None = None
    memory: str = _static("HBM3E")
    node: str = _static("N4")
    sram_kind: str = _static("scratchpad")
    package: str = _static(PACKAGE_AUTO)
    wafer_scale: bool = _static(False)

    def replace(self, **changes: Any) -> Design:
        """A copy with some fields changed (numbers become float arrays)."""
        conv = {k: (_f(v) if k in CONTINUOUS and v is not None else v) for k, v in changes.items()}
        return dataclasses.replace(self, **conv)


def make_design(
    *,
    compute_flops_per_s: float,
    sram_bytes: float = 0.0,
    mem_stacks: float = 0.0,
    link_bw_bytes_per_s: float = 0.0,
    dies: float = 1.0,
    sram_bw_bytes_per_s: float | None = None,
    mem_stack_bytes: float | None = None,
    mem_stack_bw_bytes_per_s: float | None = None,
    memory: str = "HBM3E",
    node: str = "N4",
    sram_kind: str = "scratchpad",
    package: str = PACKAGE_AUTO,
    wafer_scale: bool = False,
) -> Design:
    """A Design from SI numbers; checks signs and the SRAM kind (ConfigError).

    Names of memory, node and package are checked against a Tech when it is used.
    """
    if not compute_flops_per_s > 0 or not dies > 0:
        raise ConfigError("design: compute_flops_per_s and dies must be > 0")
    for key, value in (
        ("sram_bytes", sram_bytes),
        ("mem_stacks", mem_stacks),
        ("link_bw_bytes_per_s", link_bw_bytes_per_s),
    ):
        if not value >= 0:
            raise ConfigError(f"design: '{key}' must be >= 0, got {value!r}")
    if sram_kind not in SRAM_KINDS:
        raise ConfigError(f"design: sram_kind '{sram_kind}' not one of {SRAM_KINDS}")

    def opt(x):
        return None if x is None else _f(x)

    return Design(
        compute_flops_per_s=_f(compute_flops_per_s),
        sram_bytes=_f(sram_bytes),
        mem_stacks=_f(mem_stacks),
        link_bw_bytes_per_s=_f(link_bw_bytes_per_s),
        dies=_f(dies),
        sram_bw_bytes_per_s=opt(sram_bw_bytes_per_s),
        mem_stack_bytes=opt(mem_stack_bytes),
        mem_stack_bw_bytes_per_s=opt(mem_stack_bw_bytes_per_s),
        memory=memory,
        node=node,
        sram_kind=sram_kind,
        package=package,
        wafer_scale=wafer_scale,
    )


def stack_designs(designs: list[Design]) -> Design:
    """Stack designs (same static names) along a new leading axis, for ``jax.vmap``."""
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *designs)
