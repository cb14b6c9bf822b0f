"""Design search: rounding re-checks feasibility exactly; candidates cover tp and pp."""

import jax.numpy as jnp
import numpy as np
import pytest

import explorer as ex
from explorer.model.configio import ConfigError
from explorer.search import design_search as search


def _ev(tpot_s=1e-3, memory="none"):
    return dict(
        model=ex.load_model("llama-3.2-1b"),
        scenario=ex.make_scenario(1, 256, 64),
        targets=search.Targets(tpot_s=tpot_s),
        tech=ex.load_tech(),
        memory=memory,
        node="N4",
        fabric="torus",
    )


def test_rounding_and_exact_recheck():
    """Fractional dies and stacks are rounded up, then every constraint is re-evaluated
    in exact mode: a design whose SRAM is too small for the model is infeasible with
    'memory' binding; one with room to spare is feasible."""
    y = {"compute": 2e14, "sram": 5e8, "stacks": 0.3, "link": 2e11, "dies": 1.4}
    small = search.finalise(dict(y), (1.0, 1.0, 1.0), _ev(), iterations=0)
    assert float(small.design.dies) == 2.0
    assert not small.feasible and small.binding == "memory"
    roomy = search.finalise(dict(y, sram=4e9, dies=3.4), (1.0, 1.0, 1.0), _ev(tpot_s=1.0), 0)
    assert float(roomy.design.dies) == 4.0
    assert roomy.feasible, roomy.constraints
    assert min(roomy.constraints.values()) >= 0


def test_candidates_cover_tensor_and_pipeline_splits():
    rows = search.candidates(ex.load_model("llama-3.2-1b"))
    assert (1, 1, 1) in {tuple(r) for r in rows}
    assert any(r[1] == r[0] > 1 for r in rows) and any(r[2] == r[0] > 1 for r in rows)
    assert np.all(rows[:, 0] == rows[:, 1] * rows[:, 2])


def test_objective_values_are_positive_and_finite():
    ev = _ev()
    raw = {"compute": 2e14, "sram": 4e9, "stacks": 1.0, "link": 2e11, "dies": 2.0}
    y = {k: jnp.asarray(v) for k, v in raw.items()}
    for objective in search.OBJECTIVES:
        ev["targets"] = search.Targets(tpot_s=1e-3, objective=objective)
        value, slack, m = search._evaluate(y, (1.0, 1.0, 1.0), **ev, mode=ex.EXACT)
        assert np.isfinite(float(value)) and float(value) > 0
        assert all(np.isfinite(float(v)) for v in slack.values())


def test_gradient_within_one_percent_of_a_grid():
    """On the two-variable problem of benchmarks/optimize_vs_grid.py the gradient answer
    is feasible and within 1% of the best feasible point of a 30 x 30 grid (or better)."""
    from benchmarks.optimize_vs_grid import compare

    r = compare(("compute", "sram"), points=30)
    assert r["gradient_feasible"]
    assert r["gradient_objective"] <= 1.01 * r["grid_objective"]


@pytest.mark.parametrize("node", ["14nm", "N7", "N4", "N2"])
def test_traced_node_evaluates_as_the_named_node(node):
    """A batched search carries a node's constants as numbers (search.node_columns);
    the design evaluates exactly as with the node named statically, formats included
    (14nm and N7 have no fp8: an fp8 scenario runs at the bf16 rate there)."""
    ev = _ev(tpot_s=1e-2)
    ev["node"] = node
    ev["scenario"] = ex.make_scenario(1, 256, 64, precision="fp8")
    raw = {"compute": 2e14, "sram": 4e9, "stacks": 1.0, "link": 2e11, "dies": 3.0}
    y = {k: jnp.asarray(v) for k, v in raw.items()}
    cols = search.node_columns(ev["tech"], (node,))
    cand = dict(n=1.0, tp=1.0, pp=1.0, node={f: jnp.asarray(v[0]) for f, v in cols.items()})
    v1, s1, m1 = search._evaluate(y, (1.0, 1.0, 1.0), **ev, mode=ex.EXACT)
    v2, s2, m2 = search._evaluate(y, cand, **ev, mode=ex.EXACT)
    assert float(v2) == pytest.approx(float(v1), rel=1e-6)
    assert float(m2.tpot_s) == pytest.approx(float(m1.tpot_s), rel=1e-6)
    for k in s1:
        assert float(s2[k]) == pytest.approx(float(s1[k]), rel=1e-6, abs=1e-9)


def test_unknown_fabric_or_node_is_a_config_error(tech):
    with pytest.raises(ConfigError, match="fabric 'hypercube' unknown"):
        search.fabric_spec("hypercube", tech)
    targets = search.Targets(tpot_s=1e-3)
    model, scenario = ex.load_model("llama-3.2-1b"), ex.make_scenario(1, 256, 64)
    with pytest.raises(ConfigError, match="node 'N9' unknown"):
        search.search(model, scenario, targets, tech, "none", ("N4", "N9"), fabric="torus")
