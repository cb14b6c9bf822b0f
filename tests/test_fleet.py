"""Fleet planning: the integer mix against enumeration and hand-computed optima, the
relaxation and its duals, cap shortfalls, and `explorer fleet` end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from explorer.cli.main import run
from explorer.fleet import plan as fleet
from explorer.fleet.integer_program import (
    CAP,
    DEMAND,
    MixProblem,
    brute_force,
    cap_shortfall,
    solve_integer,
    solve_relaxed,
)
from explorer.fleet.scenario import load_scenario, parse_scenario
from explorer.model.configio import ConfigError
from explorer.model.workload import load_model

# --- the integer program ---------------------------------------------------------


def _one_tier(rates, costs, demand, powers=None, cap=np.inf) -> MixProblem:
    rates, costs = np.asarray(rates, float), np.asarray(costs, float)
    powers = np.zeros_like(rates) if powers is None else np.asarray(powers, float)
    a = np.vstack([-rates, powers])
    return MixProblem(costs, a, np.asarray([-demand, cap]), ("demand t", "power cap"),
                      (DEMAND, CAP))  # fmt: skip


def test_relaxation_and_dual_by_hand():
    """Demand 10 tokens/s; option A: 3 tok/s for $4, B: 5 tok/s for $9. The relaxation
    takes the cheaper per token (A, 4/3 $ per tok/s): 10 x 4/3, dual 4/3. The integer
    optimum: 4 x A = $16 (3 A + 1 B = $21, 2 B = $18, 2 A + 1 B = $17)."""
    p = _one_tier([3.0, 5.0], [4.0, 9.0], 10.0)
    lp = solve_relaxed(p)
    assert lp.objective == pytest.approx(40.0 / 3.0)
    assert -lp.duals[0] == pytest.approx(4.0 / 3.0)
    ip = solve_integer(p)
    assert ip.objective == pytest.approx(16.0)
    assert ip.x.tolist() == [4.0, 0.0]


def test_power_cap_changes_the_mix_and_has_a_price():
    """As above, but A draws 10 W and B 5 W under a 30 W cap: 4 A (40 W) is out;
    2 A + 1 B (25 W, 11 tokens/s, $17) is the integer optimum; the relaxation mixes A and B."""
    p = _one_tier([3.0, 5.0], [4.0, 9.0], 10.0, powers=[10.0, 5.0], cap=30.0)
    ip = solve_integer(p)
    assert ip.objective == pytest.approx(brute_force(p, 5).objective)
    assert ip.objective == pytest.approx(17.0)  # 2 A + 1 B = 25 W, 11 tok/s, $17
    lp = solve_relaxed(p)
    assert lp.objective <= ip.objective + 1e-9
    assert lp.duals[1] < 0  # the cap binds in the relaxation: more watts, less cost


@pytest.mark.parametrize("seed", range(12))
def test_integer_equals_enumeration(seed):
    """Random small mixes (2 tiers, 3 columns, a power cap): HiGHS's integer optimum is
    the enumerated one, and the relaxation is a lower bound."""
    rng = np.random.default_rng(seed)
    n = 3
    rates = rng.uniform(1.0, 5.0, size=(2, n)) * (rng.uniform(size=(2, n)) < 0.8)
    rates[:, 0] = rng.uniform(1.0, 5.0, size=2)  # every tier can be served
    demand = rng.uniform(2.0, 8.0, size=2)
    power = rng.uniform(1.0, 3.0, size=n)
    cost = rng.uniform(1.0, 4.0, size=n)
    cap = float(np.sum(power) * rng.uniform(2.0, 6.0))
    a = np.vstack([-rates, power])
    p = MixProblem(cost, a, np.concatenate([-demand, [cap]]), ("d0", "d1", "power cap"),
                   (DEMAND, DEMAND, CAP))  # fmt: skip
    most = int(math.ceil(np.max(demand) / np.min(rates[:, 0]))) + 1
    brute = brute_force(p, most)
    ip = solve_integer(p)
    assert ip.feasible == brute.feasible
    if brute.feasible:
        assert ip.objective == pytest.approx(brute.objective, rel=1e-9)
        assert solve_relaxed(p).objective <= ip.objective + 1e-9


def test_cap_shortfall_by_hand():
    """Demand 10 at 3 tokens/s per 10 W replica needs 4 replicas = 40 W; a 25 W cap is
    short by 15 W."""
    p = _one_tier([3.0], [1.0], 10.0, powers=[10.0], cap=25.0)
    assert not solve_integer(p).feasible
    assert cap_shortfall(p) == {"power cap": pytest.approx(15.0)}


# --- fleet end to end (a small scenario) ----------------------------------------

SMALL = {
    "id": "small",
    "objective": "tco",
    "power_cap_mw": 1.0,
    "sources": {"power_cap_mw": "test"},
    "tier": [
        {"id": "fast", "model": "llama-3.1-8b", "precision": "fp8",
         "output_tokens_per_s": 2.0e4, "prompt_tokens": 1024, "output_tokens": 256,
         "ttft_slo_ms": 500.0, "tpot_slo_ms": 6.0, "sources": {"output_tokens_per_s": "test"}},
        {"id": "bulk", "model": "llama-3.1-8b", "precision": "fp8",
         "output_tokens_per_s": 6.0e4, "prompt_tokens": 1024, "output_tokens": 256,
         "ttft_slo_ms": 2000.0, "tpot_slo_ms": 40.0, "sources": {"output_tokens_per_s": "test"}},
    ],
    "option": [{"chip": "h100-sxm"}, {"chip": "mi300x"}],
}  # fmt: skip


@pytest.fixture(scope="module")
def small_plan():
    return fleet.plan(parse_scenario(SMALL, "small.toml"))


def test_small_fleet_meets_demand_slos_and_cap(small_plan):
    p = small_plan
    assert p.feasible
    x = p.integer.x
    for t in p.scenario.tiers:
        served = sum(c.rate * n for c, n in zip(p.columns, x, strict=True) if c.tier == t.id)
        assert served >= t.demand_tokens_per_s
    power = sum(c.power_w * n for c, n in zip(p.columns, x, strict=True))
    assert power <= p.scenario.power_cap_w
    checks = fleet.verify(p)
    assert checks and all(v["slo_met"] for v in checks)


def test_small_fleet_integer_equals_enumeration(small_plan):
    """The real fleet problem (4 columns: 2 tiers x 2 chips) solved by HiGHS and by
    enumerating every replica count up to what any one column would need alone."""
    p = small_plan.problem
    rates = -p.a_ub[[k == DEMAND for k in p.kinds]]
    most = int(np.max(np.ceil(60000.0 / rates[rates > 0]))) + 1
    assert p.cost.size == 4 and most <= 40
    brute = brute_force(p, most)
    assert small_plan.integer.objective == pytest.approx(brute.objective, rel=1e-9)


def test_operating_point_is_the_best_per_chip_that_meets_the_slos(small_plan):
    """The column's rate per chip is the maximum over the grid of SLO-meeting points."""
    tier = small_plan.scenario.tiers[0]
    offer = small_plan.offers[0]
    g = fleet.grids(offer, load_model(tier.model), tier)
    col, _ = fleet.serve_column(tier, offer, g)
    m = g.cont
    tpot = np.asarray(fleet.BATCHES)[None, :] / m.tokens_per_s_per_replica
    ok = m.fits & (m.ttft_s <= tier.ttft_slo_s) & (tpot <= tier.tpot_slo_s)
    per_chip = np.where(ok, m.tokens_per_s_per_replica / g.cands[:, 3:4], -np.inf)
    assert col.rate / col.chips == pytest.approx(float(np.max(per_chip)))
    assert col.tpot_s <= tier.tpot_slo_s and col.ttft_s <= tier.ttft_slo_s


def test_kv_bytes_per_request_by_hand():
    """llama-3.1-8b: 32 layers x 2 (K, V) x 8 KV heads x 128 x 1 byte (fp8) per token."""
    tier = load_scenario_tier()
    model = load_model("llama-3.1-8b")
    assert fleet.kv_bytes_per_request(model, tier) == pytest.approx(1024 * 32 * 2 * 8 * 128)


def load_scenario_tier():
    return parse_scenario(SMALL, "small.toml").tiers[0]


def test_disaggregated_ttft_carries_the_kv_transfer():
    sc = parse_scenario({**SMALL, "disaggregation": True}, "small.toml")
    tech_plan = fleet.plan(sc)
    pairs = [c for c in tech_plan.columns if c.role == fleet.PREFILL]
    assert pairs
    for c in pairs:
        assert c.transfer_s > 0
        assert c.ttft_s <= sc.tiers[[t.id for t in sc.tiers].index(c.tier)].ttft_slo_s


# --- the CLI ------------------------------------------------------------------------


def _write(tmp_path, data) -> str:
    def toml_value(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        return repr(v)

    def table(d):
        def one(v):
            return "{" + table(v) + "}" if isinstance(v, dict) else toml_value(v)

        return ", ".join(f"{k} = {one(v)}" for k, v in d.items())

    lines = [f"{k} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, (list, dict))]
    if "sources" in data:
        lines.append(f"sources = {{{table(data['sources'])}}}")
    for kind in ("tier", "option"):
        for item in data[kind]:
            lines.append(f"[[{kind}]]")
            for k, v in item.items():
                lines.append(
                    f"{k} = {{{table(v)}}}" if isinstance(v, dict) else f"{k} = {toml_value(v)}"
                )
    path = tmp_path / "scenario.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_cli_infeasible_tier_is_an_answer(tmp_path, capsys):
    data = json.loads(json.dumps(SMALL))
    data["tier"][0]["tpot_slo_ms"] = 0.001  # 1 microsecond per token: nothing can
    code = run(["fleet", "--scenario", _write(tmp_path, data), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["feasible"] is False
    assert out["infeasible_tiers"] == ["fast"]
    assert set(out["tiers"][0]["why_not"]) == {"h100-sxm", "mi300x"}
    assert "TPOT" in out["tiers"][0]["why_not"]["h100-sxm"]
    assert out["tiers"][1]["served_tokens_per_s"] >= 6.0e4  # the other tier is still served


def test_cli_text_and_plot(tmp_path, capsys):
    plot = tmp_path / "fleet.png"
    code = run(["fleet", "--scenario", _write(tmp_path, SMALL), "--plot", str(plot)])
    assert code == 0
    text = capsys.readouterr().out
    assert text.startswith("FEASIBLE") and "exact re-check" in text
    assert plot.stat().st_size > 10_000


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["option"].append({"chip": "no-such-chip"}), "unknown chip id 'no-such-chip'"),
        (lambda d: d["tier"][0].pop("tpot_slo_ms"), "missing key 'tpot_slo_ms'"),
        (lambda d: d["tier"][0].update(output_tokens_per_s=-1.0), "must be > 0"),
        (lambda d: d.update(colour="red"), "unknown key 'colour'"),
        (lambda d: d["tier"][1].update(id="fast"), "tier 'fast' appears twice"),
    ],
)
def test_cli_bad_scenario_exits_2_and_writes_nothing(tmp_path, capsys, change, message):
    data = json.loads(json.dumps(SMALL))
    change(data)
    plot = tmp_path / "fleet.png"
    assert run(["fleet", "--scenario", _write(tmp_path, data), "--plot", str(plot)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not plot.exists()


def test_unknown_builtin_scenario():
    with pytest.raises(ConfigError, match="unknown scenario 'nope'"):
        load_scenario("nope")


def test_builtin_scenario_loads():
    sc = load_scenario("frontier-2026")
    assert len(sc.tiers) == 4 and sc.power_cap_w > 1e8
    share = sum(t.demand_tokens_per_s for t in sc.tiers if t.id.startswith("premium"))
    assert share / sum(t.demand_tokens_per_s for t in sc.tiers) == pytest.approx(0.1)


def test_design_chip_never_raises_the_fleet_cost(small_plan, tech):
    """A designed chip added to the catalogue can only lower the integer optimum (the
    old mix is still available); the re-planned fleet meets every SLO exactly, and the
    design is used where the duals said it saves."""
    from explorer.fleet import chip_design as fleet_design

    pi, lam = fleet_design.prices(small_plan)
    assert set(pi) == {"fast", "bulk"} and all(v > 0 for v in pi.values())
    assert lam == 0.0  # the 1 MW cap does not bind
    d = fleet_design.design_for_fleet(small_plan, tech, steps=30, outer=3, memories=("HBM3E",))
    assert d["feasible"]
    assert d["objective_after"] <= d["objective_before"] * (1 + 1e-6)
    assert d["saving"] == pytest.approx(d["objective_before"] - d["objective_after"])
    assert all(v["slo_met"] for v in d["fleet"]["verified"])
    if d["first_order_saving"] > 0:
        assert d["chips_used_by_tier"][d["designed_for_tier"]] > 0


def test_design_option_caps_and_economics(tmp_path):
    """A design file as an option, a per-option unit cap that binds, and a scenario's
    own electricity price: the cap is respected and the cheaper power lowers TCO."""
    import shutil

    shutil.copy("docs/designs/optimized-llama-3.1-70b.toml", tmp_path / "design.toml")
    data = json.loads(json.dumps(SMALL))
    data["option"].append({"design": "design.toml", "name": "mine"})
    data["option"][1].update(max_units=8, sources={"max_units": "test"})
    sc = parse_scenario(data, str(tmp_path / "s.toml"), tmp_path)
    p = fleet.plan(sc)
    assert p.feasible and "mine" in {o.name for o in p.offers}
    mi = sum(c.chips * n for c, n in zip(p.columns, p.integer.x, strict=True)
             if c.option == "mi300x")  # fmt: skip
    assert mi <= 8
    cheap = dict(data, economics={"electricity_usd_per_kwh": 0.02,
                                  "sources": {"electricity_usd_per_kwh": "test"}})  # fmt: skip
    q = fleet.plan(parse_scenario(cheap, str(tmp_path / "s.toml"), tmp_path))
    assert q.integer.objective < p.integer.objective
    with pytest.raises(ConfigError, match="economics: unknown key 'wacc'"):
        parse_scenario(dict(SMALL, economics={"wacc": 0.1, "sources": {"wacc": "x"}}), "s.toml")


def test_cli_objective_power_uses_no_more_power_than_tco(tmp_path, capsys):
    path = _write(tmp_path, SMALL)
    outs = {}
    for objective in ("tco", "power"):
        assert run(["fleet", "--scenario", path, "--objective", objective, "--json"]) == 0
        outs[objective] = json.loads(capsys.readouterr().out)
    assert outs["power"]["objective"] == "power"
    power = {k: v["totals"]["power_mw"] for k, v in outs.items()}
    tco = {k: v["totals"]["tco_musd_per_year"] for k, v in outs.items()}
    # each is optimal for its own objective (HiGHS's relative gap is 1e-6)
    assert power["power"] <= power["tco"] * (1 + 1e-5)
    assert tco["tco"] <= tco["power"] * (1 + 1e-5)


def test_builtin_scenario_is_served_within_its_cap():
    """The README's fleet: every tier's demand met, every used column's SLOs met on an
    exact re-check, power within the cap, and the integer optimum within 1% of the
    relaxation."""
    p = fleet.plan(load_scenario("frontier-2026"))
    assert p.feasible and not p.unservable
    x = p.integer.x
    for t in p.scenario.tiers:
        served = sum(
            c.rate * n
            for c, n in zip(p.columns, x, strict=True)
            if c.tier == t.id and c.role != fleet.PREFILL
        )
        assert served >= t.demand_tokens_per_s
    assert sum(c.power_w * n for c, n in zip(p.columns, x, strict=True)) <= p.scenario.power_cap_w
    checks = fleet.verify(p)
    assert checks and all(v["slo_met"] for v in checks)
    assert p.integer.objective <= 1.01 * p.relaxed.objective


def test_cli_cap_too_small_is_an_answer(tmp_path, capsys):
    """A power cap below any mix's draw: exit 0, feasible false, and how far the cap
    would have to grow (its shortfall, in MW) in JSON and in text."""
    data = dict(json.loads(json.dumps(SMALL)), power_cap_mw=1e-4)
    path = _write(tmp_path, data)
    assert run(["fleet", "--scenario", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["feasible"] is False and out["infeasible_tiers"] == []
    assert out["shortfall"]["power cap"] > 0
    assert run(["fleet", "--scenario", path]) == 0
    text = capsys.readouterr().out
    assert text.startswith("INFEASIBLE") and "cannot meet power cap" in text


def test_relaxed_cost_gradient_matches_finite_differences(small_plan):
    """dV/d(HBM bandwidth) of the relaxed fleet cost, by the envelope theorem through
    the model (fleet.sensitivity), against central differences of re-solved relaxations
    with every column's rate recomputed on the perturbed chip."""
    import dataclasses

    from explorer.fleet import sensitivity as fs
    from explorer.fleet.integer_program import solve_relaxed

    p = small_plan
    x = p.relaxed.x
    option = next(c.option for c, v in zip(p.columns, x, strict=True) if v > 0)
    offer = next(o for o in p.offers if o.name == option)
    tiers = {t.id: t for t in p.scenario.tiers}
    model = load_model("llama-3.1-8b")
    for c in p.columns:  # the rates re-derived at the base chip are the columns' own
        if c.option == option:
            rate = float(fs.column_rate(offer.chip, model, tiers[c.tier], c))
            assert rate == pytest.approx(c.rate, rel=1e-5)

    def relaxed_value(chip):
        cols = [
            dataclasses.replace(c, rate=float(fs.column_rate(chip, model, tiers[c.tier], c)))
            if c.option == option
            else c
            for c in p.columns
        ]
        return solve_relaxed(fleet.mix_problem(p.scenario, p.offers, cols, set())).objective

    bw = np.asarray(offer.chip.mem_bw_bytes_per_s, dtype=float)
    grad = float(np.asarray(fs.gradient(p, option).mem_bw_bytes_per_s)[1])
    h = 1e-4 * bw[1]
    up, down = bw.copy(), bw.copy()
    up[1] += h
    down[1] -= h
    fd = (relaxed_value(offer.chip.replace(mem_bw_bytes_per_s=up))
          - relaxed_value(offer.chip.replace(mem_bw_bytes_per_s=down))) / (2 * h)  # fmt: skip
    assert grad < 0  # more bandwidth, cheaper fleet
    assert grad == pytest.approx(fd, rel=1e-3)
