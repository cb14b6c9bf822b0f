"""The constrained optimiser on problems with known analytic optima."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from explorer.search.solver import minimise

BOX = dict(lower={"x": 1e-3, "y": 1e-3}, upper={"x": 1e3, "y": 1e3})
Y0 = {"x": jnp.asarray(5.0), "y": jnp.asarray(0.5)}


def test_product_constraint_optimum():
    """min x + y s.t. x y >= 1: x = y = 1, f = 2 (AM-GM)."""
    r = minimise(
        lambda p, a: p["x"] + p["y"],
        lambda p, a: {"product": p["x"] * p["y"] - 1.0},
        Y0,
        None,
        **BOX,
    )
    assert r.feasible
    assert r.objective == pytest.approx(2.0, rel=1e-3)
    assert float(r.params["x"]) == pytest.approx(1.0, rel=2e-2)


def test_active_upper_constraint():
    """min (x - 3)^2 s.t. x <= 2 (slack 1 - x/2): x = 2, f = 1; y is free (set by its own
    term (y - 0.5)^2 -> 0.5)."""
    r = minimise(
        lambda p, a: (p["x"] - 3.0) ** 2 + (p["y"] - 0.5) ** 2,
        lambda p, a: {"x_max": 1.0 - p["x"] / 2.0},
        Y0,
        None,
        **BOX,
    )
    assert r.feasible and r.binding == "x_max"
    assert float(r.params["x"]) == pytest.approx(2.0, rel=2e-3)
    assert r.objective == pytest.approx(1.0, rel=5e-3)


def test_unconstrained_rosenbrock_inside_bounds():
    """Rosenbrock (1 - x)^2 + 100 (y - x^2)^2 has its minimum 0 at (1, 1)."""
    r = minimise(
        lambda p, a: (1 - p["x"]) ** 2 + 100 * (p["y"] - p["x"] ** 2) ** 2,
        lambda p, a: {"none": jnp.asarray(1.0)},
        Y0,
        None,
        steps=400,
        optimizer=optax.adam(0.02),
        **BOX,
    )
    assert r.objective < 1e-4
    assert float(r.params["x"]) == pytest.approx(1.0, abs=1e-2)


def test_args_are_held_fixed():
    """min x s.t. x >= a for a in args: x = a."""
    r = minimise(
        lambda p, a: p["x"] + 0 * p["y"],
        lambda p, a: {"x_min": p["x"] / a - 1.0},
        Y0,
        7.0,
        **BOX,
    )
    assert float(r.params["x"]) == pytest.approx(7.0, rel=2e-3)


def test_infeasible_reports_binding_constraint():
    """x >= 5000 with x <= 1000 cannot hold: feasible False, violation about 0.8."""
    r = minimise(
        lambda p, a: p["x"] + p["y"],
        lambda p, a: {"too_big": p["x"] / 5000.0 - 1.0, "fine": 1.0 - p["y"] / 500.0},
        Y0,
        None,
        **BOX,
    )
    assert not r.feasible
    assert r.binding == "too_big"
    assert r.violation == pytest.approx(0.8, rel=1e-2)


def test_multistart_picks_best_feasible():
    """Two local minima of (x - 1)^2 (x - 10)^2 + x / 100 on [0.1, 100]: x = 1 is best;
    a start near 10 alone ends at 10, multi-start finds 1."""
    f = lambda p, a: (p["x"] - 1) ** 2 * (p["x"] - 10) ** 2 / 100 + p["x"] / 100 + 0 * p["y"]  # noqa: E731
    cons = lambda p, a: {"none": jnp.asarray(1.0)}  # noqa: E731
    start = {"x": jnp.asarray(9.0), "y": jnp.asarray(1.0)}
    one = minimise(f, cons, start, None, **BOX)
    many = minimise(f, cons, start, None, starts=16, **BOX)
    assert float(one.params["x"]) == pytest.approx(10.0, rel=0.05)
    assert float(many.params["x"]) == pytest.approx(1.0, rel=0.05)
    assert many.objective < one.objective
    assert many.starts == 16
    assert np.isfinite(many.history).all()


def test_batched_candidates_pick_the_best_feasible():
    """Candidates a in (7, 3, 50): min x s.t. x >= a. Each is feasible; the cheapest is
    a = 3 (x = 3), candidate index 1."""
    r = minimise(
        lambda p, a: p["x"] + 0 * p["y"],
        lambda p, a: {"x_min": p["x"] / a - 1.0},
        Y0,
        jnp.asarray([7.0, 3.0, 50.0]),
        batched_args=True,
        **BOX,
    )
    assert r.params["_candidate"] == 1
    assert float(r.params["x"]) == pytest.approx(3.0, rel=2e-3)
