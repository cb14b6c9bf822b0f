"""Fleet planning: which chips, how many, serve each latency tier at least cost.

1. Offers: each chip option of the scenario with its capex (price, or a design's
   manufacturing cost x the scenario's markup), TCO per chip-year and provisioned IT
   power per chip (TDP x (1 + server share); a whole-system TDP takes no share).
2. Columns: for each tier and offer, the operating point (replica size, mapping,
   batch) that meets the tier's SLOs with the most output tokens/s per chip, in
   exact mode (:func:`explorer.search.operating_points.operating_grid`). Serving is continuous
   batching: a request's prompt is prefilled alone (TTFT), and a sequence's time per
   token carries the prefills of the requests that join its batch (batch / rate).
   With disaggregation, a tier may also prefill on chip p and decode on chip d: the
   decode replica runs decode alone (time per token = the decode step), the prefill
   replica prefills a batch of prompts together, and TTFT = that prefill + the KV
   cache's transfer over the scale-out network (bytes / the slower side's aggregate
   NIC bandwidth + its latency).
3. The mix (:mod:`explorer.fleet.integer_program`): replicas per column, integers, meeting every
   tier's demand and each pair's prefill supply, within the power cap and each
   option's unit and power caps; solved exactly and as its continuous relaxation.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from explorer.design.cost import manufacturing_cost, tco_per_hour
from explorer.design.design_file import load_design_chip
from explorer.design.economics import chip_capex
from explorer.design.tech import Tech, load_tech
from explorer.design.variables import Design
from explorer.fleet.integer_program import (
    CAP,
    COUPLING,
    DEMAND,
    MixProblem,
    MixSolution,
    cap_shortfall,
    solve_integer,
    solve_relaxed,
)
from explorer.fleet.scenario import FleetScenario, Option, Tier
from explorer.model import units
from explorer.model.chip import Chip, ChipInfo
from explorer.model.chip_config import load_chip, load_chip_info
from explorer.model.configio import ConfigError
from explorer.model.mapping import make_mapping
from explorer.model.perf import Metrics, predict
from explorer.model.smooth import EXACT, Mode
from explorer.model.traffic import resident_context
from explorer.model.workload import PRECISION_BYTES, Model, Scenario, load_model, make_scenario
from explorer.search.mapping_choice import chip_counts
from explorer.search.operating_points import BATCHES, operating_grid, why_not

SERVE, PREFILL, DECODE = "serve", "prefill", "decode"


@dataclasses.dataclass(frozen=True)
class Offer:
    """A chip option resolved: the chip, what one costs and draws."""

    option: Option
    chip: Chip
    info: ChipInfo
    design: Design | None
    capex_usd: float
    capex_basis: str
    server_usd: float  # server and network share per chip (0 for a whole system)
    tco_usd_per_year: float  # per chip
    power_w: float  # provisioned IT power per chip

    @property
    def name(self) -> str:
        return self.option.name


@dataclasses.dataclass(frozen=True)
class Column:
    """One way of serving (part of) one tier: ``role`` SERVE, PREFILL or DECODE; a
    disaggregated pair's two columns share ``pair`` = 'prefill->decode' option names.

    rate: output tokens/s per replica (SERVE, DECODE) or prompts/s (PREFILL).
    """

    tier: str
    role: str
    option: str
    pair: str
    chips: int
    tp: int
    pp: int
    ep: int
    batch: float
    rate: float
    ttft_s: float
    tpot_s: float
    transfer_s: float  # KV transfer in the TTFT (disaggregated pairs)
    power_w: float  # per replica
    tco_usd_per_year: float  # per replica


def make_offer(option: Option, tech: Tech, markup: float = 1.0) -> Offer:
    """Resolve an option: load its chip and cost it (price > design cost x markup)."""
    design = None
    if option.design is not None:
        chip, info, design = load_design_chip(option.design, tech)
    else:
        chip, info = load_chip(option.chip), load_chip_info(option.chip)
    if option.price_usd is not None:
        capex, basis = option.price_usd, "price given in the scenario"
    elif design is not None:
        mfg = float(manufacturing_cost(design, tech)["total_usd"])
        capex, basis = mfg * markup, f"design: manufacturing cost x markup {markup:g}"
    else:
        capex, basis = chip_capex(info, tech)
    if not np.isfinite(capex):
        raise ConfigError(f"option '{option.name}': no price and no cost model ({basis})")
    econ, server = tech.economics, tech.economics.server_network_usd_per_chip
    if info.tdp_scope == "system":  # priced and powered as a whole system: no server share
        econ, server = dataclasses.replace(econ, server_power_fraction=0.0), 0.0
    tco = tco_per_hour(capex, float(chip.tdp_w), econ, server)
    power = float(chip.tdp_w) * (1.0 + econ.server_power_fraction)
    return Offer(
        option=option,
        chip=chip,
        info=info,
        design=design,
        capex_usd=float(capex),
        capex_basis=basis,
        server_usd=server,
        tco_usd_per_year=float(tco["total_usd_per_h"]) * units.YEAR / units.HOUR,
        power_w=power,
    )


def replica_pool(chip: Chip, model: Model, precision: str) -> int:
    """Chips whose divisors are the replica sizes tried: 4x the first 2^a 3^b count whose
    memory holds the weights (at least 8, a server), so that count, 2x and 4x of it and
    every divisor are tried."""
    weights = model.total_params * PRECISION_BYTES[precision]
    lower = max(1.0, weights / max(float(np.sum(np.asarray(chip.mem_capacity_bytes))), 1.0))
    first = chip_counts(np.ceil(lower), 10**7)[0]
    return max(8, 4 * first)


def _scenario(tier: Tier, prefill_batch: float, batch: float = 1.0) -> Scenario:
    """The tier's scenario at ``batch``; ``prefill_batch`` may exceed it (the grid caps
    it at each batch it tries)."""
    sc = make_scenario(batch, tier.prompt_tokens, tier.output_tokens, precision=tier.precision)
    return dataclasses.replace(sc, prefill_batch=sc.batch * 0 + prefill_batch)


def kv_bytes_per_request(model: Model, tier: Tier) -> float:
    """KV cache of one prompt after prefill [B]: every layer's resident context x the
    per-token KV elements x the KV precision's bytes."""
    kv_precision = "fp8" if tier.precision == "fp4" else tier.precision
    ctx = float(resident_context(model, np.asarray(tier.prompt_tokens)))
    return ctx * model.n_layers * model.kv_elems_per_token_layer * PRECISION_BYTES[kv_precision]


@dataclasses.dataclass(frozen=True)
class Grids:
    """The evaluated operating points of one tier on one offer."""

    cands: np.ndarray  # (K, 4): tp, pp, ep, chips per replica
    cont: Any  # Metrics (K, B): prompts prefilled alone (continuous batching)
    static: Any  # Metrics (K, B): a batch of prompts prefilled together


def grids(offer: Offer, model: Model, tier: Tier) -> Grids:
    pool = replica_pool(offer.chip, model, tier.precision)
    cands, cont = operating_grid(offer.chip, model, _scenario(tier, 1.0), pool)
    _, static = operating_grid(offer.chip, model, _scenario(tier, 1e9), pool)
    return Grids(np.asarray(cands, dtype=float), cont, static)


def _column(tier, role, offer, pair, g: Grids, i, j, rate, ttft, tpot, transfer=0.0) -> Column:
    tp, pp, ep, n = (int(v) for v in g.cands[i])
    return Column(
        tier=tier.id,
        role=role,
        option=offer.name,
        pair=pair,
        chips=n,
        tp=tp,
        pp=pp,
        ep=ep,
        batch=BATCHES[j],
        rate=float(rate[i, j]),
        ttft_s=float(ttft[i, j]),
        tpot_s=float(tpot[i, j]),
        transfer_s=float(np.broadcast_to(transfer, rate.shape)[i, j]),
        power_w=n * offer.power_w,
        tco_usd_per_year=n * offer.tco_usd_per_year,
    )


def _best(ok: np.ndarray, score: np.ndarray) -> tuple[int, int]:
    """(candidate, batch) of the highest score among the points that are ok."""
    i, j = np.unravel_index(int(np.argmax(np.where(ok, score, -np.inf))), ok.shape)
    return int(i), int(j)


def serve_column(tier: Tier, offer: Offer, g: Grids) -> tuple[Column | None, str]:
    """The SLO-meeting point with the most tokens/s per chip, or (None, why not)."""
    m, n = g.cont, g.cands[:, 3:4]
    rate = m.tokens_per_s_per_replica
    tpot = np.asarray(BATCHES)[None, :] / np.maximum(rate, 1e-30)
    ok = m.fits & (m.ttft_s <= tier.ttft_slo_s) & (tpot <= tier.tpot_slo_s)
    if not ok.any():
        return None, why_not(m.fits, m.ttft_s, tpot, m, tier.ttft_slo_s, tier.tpot_slo_s)
    i, j = _best(ok, rate / n)
    return _column(tier, SERVE, offer, "", g, i, j, rate, m.ttft_s, tpot), ""


def pair_columns(
    tier: Tier, model: Model, pre: Offer, g_pre: Grids, dec: Offer, g_dec: Grids
) -> tuple[Column, Column] | None:
    """(prefill column on ``pre``, decode column on ``dec``) meeting the tier's SLOs
    with the most tokens/s per chip on each side, or None."""
    m = g_dec.cont
    rate_d = np.asarray(BATCHES)[None, :] / np.maximum(m.tpot_s, 1e-30)
    ok_d = m.fits & (m.tpot_s <= tier.tpot_slo_s)
    if not ok_d.any():
        return None
    n_d = g_dec.cands[:, 3:4]
    i, j = _best(ok_d, rate_d / n_d)
    pair = f"{pre.name}->{dec.name}"
    ttft_d = np.zeros_like(rate_d)
    decode = _column(tier, DECODE, dec, pair, g_dec, i, j, rate_d, ttft_d, m.tpot_s)
    s = g_pre.static
    n_p = g_pre.cands[:, 3:4]
    nic = np.minimum(n_p * float(pre.chip.scale_out_bw_bytes_per_s),
                     decode.chips * float(dec.chip.scale_out_bw_bytes_per_s))  # fmt: skip
    transfer = kv_bytes_per_request(model, tier) / nic + float(pre.chip.scale_out_latency_s)
    ttft = s.ttft_s + transfer
    prompts = np.asarray(BATCHES)[None, :] / np.maximum(s.ttft_s, 1e-30)
    ok_p = s.fits & (ttft <= tier.ttft_slo_s)
    if not ok_p.any():
        return None
    k, b = _best(ok_p, prompts / n_p)
    zero = np.zeros_like(ttft)
    prefill = _column(tier, PREFILL, pre, pair, g_pre, k, b, prompts, ttft, zero, transfer)
    return prefill, dataclasses.replace(
        decode, ttft_s=prefill.ttft_s, transfer_s=prefill.transfer_s
    )


@dataclasses.dataclass(frozen=True)
class FleetPlan:
    """Everything ``explorer fleet`` reports."""

    scenario: FleetScenario
    offers: tuple[Offer, ...]
    columns: tuple[Column, ...]
    problem: MixProblem | None
    integer: MixSolution | None
    relaxed: MixSolution | None
    unservable: dict[str, dict[str, str]]  # tier -> option -> why not
    shortfall: dict[str, float]  # cap row -> excess needed (when caps cannot be met)

    @property
    def feasible(self) -> bool:
        ok = self.integer is not None and self.integer.feasible
        return ok and not self.unservable


def build_columns(
    scenario: FleetScenario, offers: tuple[Offer, ...], progress: Any = None
) -> tuple[list[Column], dict[str, dict[str, str]]]:
    """Every tier's columns on every offer (and pair), and the tiers nothing can serve."""
    columns, unservable = [], {}
    for tier in scenario.tiers:
        model = load_model(tier.model)
        g = {}
        reasons = {}
        for offer in offers:
            g[offer.name] = grids(offer, model, tier)
            col, why = serve_column(tier, offer, g[offer.name])
            if col is None:
                reasons[offer.name] = why
            else:
                columns.append(col)
            if progress is not None:
                progress(tier.id, offer.name)
        served = len(reasons) < len(offers)
        if scenario.disaggregation:
            for pre in offers:
                for dec in offers:
                    cols = pair_columns(tier, model, pre, g[pre.name], dec, g[dec.name])
                    if cols is not None:
                        columns.extend(cols)
                        served = True
        if not served:
            unservable[tier.id] = reasons
    return columns, unservable


def mix_problem(
    scenario: FleetScenario, offers: tuple[Offer, ...], columns: list[Column], skip: set[str]
) -> MixProblem:
    """The integer program of the module docstring, over the servable tiers."""
    tiers = [t for t in scenario.tiers if t.id not in skip]
    out_tokens = {t.id: t.output_tokens for t in tiers}
    pairs = sorted({(c.tier, c.pair) for c in columns if c.pair})
    rows, kinds, b = [], [], []
    a = []

    def row(name, kind, coeffs, bound):
        rows.append(name)
        kinds.append(kind)
        a.append(coeffs)
        b.append(bound)

    for t in tiers:
        coeffs = [-c.rate if c.tier == t.id and c.role != PREFILL else 0.0 for c in columns]
        row(f"demand {t.id}", DEMAND, coeffs, -t.demand_tokens_per_s)
    for tier_id, pair in pairs:
        coeffs = []
        for c in columns:
            mine = c.tier == tier_id and c.pair == pair
            if mine and c.role == DECODE:
                coeffs.append(c.rate / out_tokens[tier_id])  # prompts/s it needs
            elif mine and c.role == PREFILL:
                coeffs.append(-c.rate)
            else:
                coeffs.append(0.0)
        row(f"prefill supply {tier_id} {pair}", COUPLING, coeffs, 0.0)
    row("power cap", CAP, [c.power_w for c in columns], scenario.power_cap_w)
    for o in offers:
        mine = [c.option == o.name for c in columns]
        units_ = [c.chips * k for c, k in zip(columns, mine, strict=True)]
        row(f"units {o.name}", CAP, units_, o.option.max_units)
        row(f"power {o.name}", CAP, [c.power_w * k for c, k in zip(columns, mine, strict=True)],
            o.option.max_w)  # fmt: skip
    cost = np.asarray([_objective(c, scenario.objective) for c in columns])
    a_ub = np.asarray(a, dtype=float).reshape(len(rows), len(columns))
    return MixProblem(cost, a_ub, np.asarray(b, dtype=float), tuple(rows), tuple(kinds))


def _objective(c: Column, objective: str) -> float:
    return {"tco": c.tco_usd_per_year, "power": c.power_w, "chips": float(c.chips)}[objective]


def scenario_tech(scenario: FleetScenario, tech: Tech) -> Tech:
    """tech with the scenario's TCO constants (its [economics] table) in place."""
    econ = dataclasses.replace(tech.economics, **scenario.economics)
    return dataclasses.replace(tech, economics=econ)


def plan(
    scenario: FleetScenario,
    tech: Tech | None = None,
    extra: tuple[Offer, ...] = (),
    progress: Any = None,
) -> FleetPlan:
    """Columns, then the integer mix and its relaxation (module docstring)."""
    tech = scenario_tech(scenario, load_tech() if tech is None else tech)
    offers = tuple(make_offer(o, tech, scenario.design_markup) for o in scenario.options) + extra
    columns, unservable = build_columns(scenario, offers, progress)
    if not columns:
        return FleetPlan(scenario, offers, (), None, None, None, unservable, {})
    problem = mix_problem(scenario, offers, columns, set(unservable))
    integer = solve_integer(problem)
    relaxed = solve_relaxed(problem)
    shortfall = {} if integer.feasible else cap_shortfall(problem)
    return FleetPlan(
        scenario, offers, tuple(columns), problem, integer, relaxed, unservable, shortfall
    )


def column_metrics(chip: Chip, model: Model, tier: Tier, c: Column, mode: Mode = EXACT) -> Metrics:
    """The model at a column's operating point on ``chip``: its batch and mapping, prompts
    prefilled alone (serving, decode) or the whole batch together (prefill)."""
    sc = _scenario(tier, c.batch if c.role == PREFILL else 1.0, batch=c.batch)
    return predict(chip, model, sc, make_mapping(c.tp, c.pp, c.ep, model), mode)


def verify(plan_: FleetPlan) -> list[dict[str, Any]]:
    """Re-predict every used column alone in exact mode and check its tier's SLOs."""
    tiers = {t.id: t for t in plan_.scenario.tiers}
    offers = {o.name: o for o in plan_.offers}
    out = []
    for c, x in zip(plan_.columns, plan_.integer.x, strict=True):
        if x < 0.5:
            continue
        t = tiers[c.tier]
        model = load_model(t.model)
        m = column_metrics(offers[c.option].chip, model, t, c)
        m_ttft, m_tpot, rate = float(m.ttft_s), float(m.tpot_s), float(m.tokens_per_s_per_replica)
        if c.role == SERVE:
            ttft, tpot = m_ttft, c.batch / rate
        elif c.role == DECODE:
            ttft, tpot = c.ttft_s, m_tpot
        else:  # the prefill of a pair: its batch's prefill plus the KV transfer
            ttft, tpot = m_ttft + c.transfer_s, 0.0
        tol = 1.0 + 1e-9
        ok = bool(m.fits) and ttft <= t.ttft_slo_s * tol and tpot <= t.tpot_slo_s * tol
        out.append({"tier": c.tier, "option": c.option, "role": c.role, "slo_met": bool(ok),
                    "ttft_ms": ttft / units.MS, "tpot_ms": tpot / units.MS})  # fmt: skip
    return out
