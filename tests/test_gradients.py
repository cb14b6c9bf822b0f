"""Gradients against finite differences, and jit / vmap / grad-under-vmap consistency.

Gradients are checked in SMOOTH mode: the exact mode has kinks (max, relu) where a
derivative is one-sided, so finite differences and autodiff need not agree there.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import explorer as ex

LLAMA = ex.load_model("llama-3.1-8b")
MIXTRAL = ex.load_model("mixtral-8x7b")


def strong(chip):
    """Every leaf a strongly typed float64 array (presets load scalars weakly typed;
    one signature for every chip here means one compilation)."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=jnp.float64), chip)


H100 = strong(ex.load_chip("h100-sxm"))
MI300X = strong(ex.load_chip("mi300x"))
WSE3 = strong(ex.load_chip("wse-3"))
# Hypothetical: a large SRAM tier far faster than HBM, then a slow DDR tier.
SRAM_HEAVY = H100.replace(
    mem_capacity_bytes=[8e9, 24e9, 256e9],
    mem_bw_bytes_per_s=[40e12, 3.35e12, 0.4e12],
    mem_energy_j_per_byte=[4.8e-12, 3.92e-11, 1.28e-10],
)

OUTPUTS = ("tpot_s", "ttft_s", "energy_j_per_token")

# Differentiated: every leaf element of every Chip field except
#  - topology: a one-hot choice among TOPOLOGIES, not a continuous quantity (a
#    perturbation off the simplex has no physical meaning);
#  - domain_chips: an integer count; the model only compares it with the group size
#    (p <= domain_chips), a step function with zero derivative almost everywhere.
NOT_CONTINUOUS = ("topology", "domain_chips")
CONTINUOUS_FIELDS = tuple(f for f in ex.CHIP_FIELDS if f not in NOT_CONTINUOUS)


@functools.partial(jax.jit, static_argnames=("model", "mode"))
def outputs(chip, model, scenario, mapping, mode=ex.SMOOTH):
    m = ex.predict(chip, model, scenario, mapping, mode)
    return jnp.stack([getattr(m, k) for k in OUTPUTS])


_jacobian = jax.jit(jax.jacrev(outputs), static_argnames=("model", "mode"))


def _sram_case():
    """SRAM-heavy chip, llama pp=4, SRAM capacity just above the resident bytes."""
    scenario = ex.make_scenario(16, 2048, 512)
    mapping = ex.make_mapping(1, 4, 1)
    resident = float(ex.predict(SRAM_HEAVY, LLAMA, scenario, mapping, ex.EXACT).resident_bytes)
    chip = SRAM_HEAVY.replace(
        mem_capacity_bytes=SRAM_HEAVY.mem_capacity_bytes.at[0].set(1.02 * resident)
    )
    return chip, LLAMA, scenario, mapping


CASES = {
    "h100-llama8b-tp2-b8": lambda: (
        H100,
        LLAMA,
        ex.make_scenario(8, 1024, 256),
        ex.make_mapping(2, 1, 1),
    ),
    "mi300x-mixtral-tp2-ep2": lambda: (
        MI300X,
        MIXTRAL,
        ex.make_scenario(16, 2048, 512),
        ex.make_mapping(2, 1, 2),
    ),
    "sram-heavy-llama8b-pp4-near-capacity": _sram_case,
    # a mesh-of-cores chip: the on-chip traversal term (core_sram_bytes, mesh_hop_latency_s)
    "wse3-llama8b-b1": lambda: (
        WSE3,
        LLAMA,
        ex.make_scenario(1, 1024, 256),
        ex.make_mapping(1, 1, 1),
    ),
}


def _leaf_elements(chip):
    """(field, index, value) of every continuous scalar in the chip.

    core_sram_bytes = 0 means "not a mesh of cores" (the traversal term is off); any
    positive value switches it on with a finite size, so 0 is a flag there, like the
    topology one-hot, and is differentiated only where it is positive (the WSE-3 case).
    """
    for field in CONTINUOUS_FIELDS:
        leaf = np.asarray(getattr(chip, field))
        if field == "core_sram_bytes" and not np.all(leaf > 0):
            continue
        for idx in np.ndindex(leaf.shape):
            yield field, idx, float(leaf[idx])


def _nudge(chip, field, idx, delta):
    leaf = jnp.asarray(getattr(chip, field))
    return chip.replace(**{field: leaf.at[idx].add(delta)})


# Step scale of a field that is 0 in every element (a calibrated fixed latency may be).
_ZERO_SCALE = {f: 1e-6 if f.endswith("_s") else 1.0 for f in CONTINUOUS_FIELDS}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_central_differences(case):
    chip, model, scenario, mapping = CASES[case]()
    f0 = np.asarray(outputs(chip, model, scenario, mapping))
    assert np.all(np.isfinite(f0)) and np.all(f0 > 0)
    jac = _jacobian(chip, model, scenario, mapping)
    failures = []
    for field, idx, x in _leaf_elements(chip):
        if field == "mem_capacity_bytes" and x == 0:
            # an absent tier's capacity sits at a kink: a negative capacity is
            # unphysical, and a positive one takes bytes from the balanced SRAM fill
            # (memory.fill_capacity), so only one-sided derivatives exist there
            continue
        # Relative step ~1e-6; a zero-valued element (an absent tier) steps by 1e-6 of
        # the field's largest element instead (or of _ZERO_SCALE).
        scale = abs(x) or float(np.max(np.abs(getattr(chip, field)))) or _ZERO_SCALE[field]
        h = 1e-6 * scale
        assert h > 0, (field, idx)
        up = np.asarray(outputs(_nudge(chip, field, idx, h), model, scenario, mapping))
        down = np.asarray(outputs(_nudge(chip, field, idx, -h), model, scenario, mapping))
        fd = (up - down) / (2.0 * h)
        ad = np.asarray(getattr(jac, field))[(slice(None),) + idx]
        # Tolerance: rtol 1e-4 on the derivative, plus an absolute floor in units of
        # the output per unit of this input (elasticity 1e-7, ~1000x the FD roundoff
        # eps |f| / h). Derivatives that are 0 by construction must have FD ~0 too.
        atol = 1e-7 * np.abs(f0) / scale
        bad = np.abs(ad - fd) > 1e-4 * np.abs(fd) + atol
        for k in np.flatnonzero(bad):
            failures.append(
                f"d {OUTPUTS[k]} / d {field}{list(idx)}: autodiff {ad[k]:.6e} fd {fd[k]:.6e}"
            )
    assert not failures, "\n".join(failures)


# --- jit / vmap / grad consistency --------------------------------------------------

MODES = {"exact": ex.EXACT, "smooth": ex.SMOOTH}
RTOL = 1e-12


def assert_trees_close(a, b, rtol=RTOL):
    """Leaf by leaf, element-wise rtol. A vector leaf (a breakdown) also gets an absolute
    floor of rtol x its largest element: a component that is 0 in one evaluation can be
    1e-42 s in another (softplus(x) - softplus(x) of an absent tier, fused differently),
    which no relative tolerance admits."""
    for (path, x), y in zip(
        jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves(b), strict=True
    ):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        np.testing.assert_allclose(
            x,
            y,
            rtol=rtol,
            atol=rtol * float(np.max(np.abs(y), initial=0.0)),
            err_msg=jax.tree_util.keystr(path),
        )


def stack(trees):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *trees)


def unstack(tree, i):
    return jax.tree_util.tree_map(lambda x: x[i], tree)


@pytest.mark.parametrize("mode_name", sorted(MODES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_jit_matches_eager(case, mode_name):
    chip, model, scenario, mapping = CASES[case]()
    mode = MODES[mode_name]
    jitted = ex.predict(chip, model, scenario, mapping, mode)
    with jax.disable_jit():
        eager = ex.predict(chip, model, scenario, mapping, mode)
    assert_trees_close(jitted, eager)


CHIPS = [
    H100,
    MI300X,
    SRAM_HEAVY,
    H100.replace(mem_capacity_bytes=H100.mem_capacity_bytes.at[0].set(0.0)),
]


@pytest.mark.parametrize("mode_name", sorted(MODES))
def test_vmap_over_chips(mode_name):
    mode = MODES[mode_name]
    scenario, mapping = ex.make_scenario(8, 1024, 256), ex.make_mapping(2, 1, 1)
    batched = jax.vmap(lambda c: ex.predict(c, LLAMA, scenario, mapping, mode))(
        ex.stack_chips(CHIPS)
    )
    for i, chip in enumerate(CHIPS):
        assert_trees_close(unstack(batched, i), ex.predict(chip, LLAMA, scenario, mapping, mode))


SCENARIO_AXES = {
    "batch": [ex.make_scenario(b, 1024, 256) for b in (1, 3, 8, 64, 256)],
    "prompt": [ex.make_scenario(8, p, 256) for p in (16, 100, 1024, 4096, 8192)],
    "speculative": [
        ex.make_scenario(4, 1024, 256, spec_k=k, spec_accept=a)
        for k, a in ((0, 0.0), (2, 0.5), (4, 0.8), (8, 0.95))
    ],
}


@pytest.mark.parametrize("mode_name", sorted(MODES))
@pytest.mark.parametrize("axis", sorted(SCENARIO_AXES))
def test_vmap_over_scenarios(axis, mode_name):
    mode = MODES[mode_name]
    scenarios = SCENARIO_AXES[axis]
    mapping = ex.make_mapping(2, 2, 1)
    batched = jax.vmap(lambda s: ex.predict(H100, LLAMA, s, mapping, mode))(stack(scenarios))
    for i, s in enumerate(scenarios):
        assert_trees_close(unstack(batched, i), ex.predict(H100, LLAMA, s, mapping, mode))


@pytest.mark.parametrize("mode_name", sorted(MODES))
def test_vmap_over_mappings(mode_name):
    mode = MODES[mode_name]
    cands = [(1, 1, 1), (2, 1, 1), (2, 1, 2), (4, 2, 4), (8, 2, 1), (16, 1, 1)]
    scenario = ex.make_scenario(16, 1024, 256)
    batched = jax.vmap(lambda m: ex.predict(MI300X, MIXTRAL, scenario, m, mode))(
        stack([ex.make_mapping(*c) for c in cands])
    )
    for i, c in enumerate(cands):
        expect = ex.predict(MI300X, MIXTRAL, scenario, ex.make_mapping(*c), mode)
        assert_trees_close(unstack(batched, i), expect)


def _tpot(chip, model, scenario, mapping, mode):
    return ex.predict(chip, model, scenario, mapping, mode).tpot_s


_grad_tpot = jax.jit(jax.grad(_tpot), static_argnames=("model", "mode"))


@pytest.mark.parametrize("mode_name", sorted(MODES))
def test_grad_under_vmap(mode_name):
    mode = MODES[mode_name]
    scenario, mapping = ex.make_scenario(8, 1024, 256), ex.make_mapping(2, 1, 1)
    grad = _grad_tpot
    batched = jax.vmap(lambda c: grad(c, LLAMA, scenario, mapping, mode))(ex.stack_chips(CHIPS))
    for path, leaf in jax.tree_util.tree_leaves_with_path(batched):
        assert np.all(np.isfinite(leaf)), jax.tree_util.keystr(path)
    for i, chip in enumerate(CHIPS):
        assert_trees_close(unstack(batched, i), grad(chip, LLAMA, scenario, mapping, mode))
