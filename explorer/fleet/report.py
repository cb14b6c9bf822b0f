"""A FleetPlan as plain numbers (``explorer fleet --json``) and as text (no model logic)."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.design.tech import Economics
from explorer.fleet.integer_program import CAP
from explorer.fleet.plan import PREFILL, FleetPlan, verify
from explorer.model import units

MW = units.MEGA
MUSD = 1e6


def summary(plan: FleetPlan, economics: Economics) -> dict[str, Any]:
    """Per tier: the chosen columns, chips, MW, TCO and $/Mtok; totals; caps with their
    use and shadow price; the relaxation gap; each used column re-checked in exact mode.

    economics: its utilisation (mean load / provisioned capacity) turns TCO into $ per
    million tokens. Capex counts each chip's server share (``Offer.server_usd``)."""
    sc = plan.scenario
    utilisation = economics.utilisation
    x = plan.integer.x if plan.integer is not None else np.zeros(len(plan.columns))
    offers = {o.name: o for o in plan.offers}
    tiers = []
    for t in sc.tiers:
        rows = []
        for c, n in zip(plan.columns, x, strict=True):
            if c.tier != t.id or n < 0.5:
                continue
            o = offers[c.option]
            rows.append({
                "option": c.option, "role": c.role, "pair": c.pair, "replicas": int(n),
                "chips_per_replica": c.chips, "chips": int(n) * c.chips, "batch": c.batch,
                "mapping": {"tp": c.tp, "pp": c.pp, "ep": c.ep},
                "ttft_ms": c.ttft_s / units.MS, "tpot_ms": c.tpot_s / units.MS,
                "kv_transfer_ms": c.transfer_s / units.MS,
                "rate_per_replica": c.rate,
                "rate_unit": "prompts/s" if c.role == PREFILL else "output tokens/s",
                "power_mw": n * c.power_w / MW,
                "capex_musd": n * c.chips * (o.capex_usd + o.server_usd) / MUSD,
                "tco_musd_per_year": n * c.tco_usd_per_year / MUSD,
            })  # fmt: skip
        served = sum(r["replicas"] * r["rate_per_replica"] for r in rows if r["role"] != PREFILL)
        tco = sum(r["tco_musd_per_year"] for r in rows)
        per_mtok = tco * MUSD / (t.demand_tokens_per_s * units.YEAR * utilisation) * 1e6
        tiers.append({
            "id": t.id, "model": t.model, "precision": t.precision,
            "demand_tokens_per_s": t.demand_tokens_per_s, "served_tokens_per_s": served,
            "ttft_slo_ms": t.ttft_slo_s / units.MS, "tpot_slo_ms": t.tpot_slo_s / units.MS,
            "feasible": t.id not in plan.unservable,
            "why_not": plan.unservable.get(t.id, {}),
            "chips": sum(r["chips"] for r in rows),
            "power_mw": sum(r["power_mw"] for r in rows),
            "tco_musd_per_year": tco,
            "usd_per_mtok": per_mtok if rows else None,
            "columns": rows,
        })  # fmt: skip
    out = {
        "scenario": sc.id,
        "objective": sc.objective,
        "feasible": plan.feasible,
        "tiers": tiers,
        "totals": _totals(tiers),
        "caps": _caps(plan, x),
        "shortfall": {k: v / (MW if "power" in k else 1.0) for k, v in plan.shortfall.items()},
        "relaxation": _gap(plan),
        "utilisation": utilisation,
        "chip_costs": {
            o.name: {
                "capex_usd": o.capex_usd,
                "basis": o.capex_basis,
                "tco_usd_per_year": o.tco_usd_per_year,
                "power_w": o.power_w,
            }
            for o in plan.offers
        },  # fmt: skip
    }
    out["infeasible_tiers"] = sorted(plan.unservable)
    out["verified"] = verify(plan) if plan.integer is not None and plan.integer.feasible else []
    return out


def _totals(tiers: list[dict[str, Any]]) -> dict[str, Any]:
    by_option: dict[str, int] = {}
    for t in tiers:
        for r in t["columns"]:
            by_option[r["option"]] = by_option.get(r["option"], 0) + r["chips"]
    cols = [r for t in tiers for r in t["columns"]]
    return {
        "chips": sum(by_option.values()),
        "chips_by_option": by_option,
        "power_mw": sum(r["power_mw"] for r in cols),
        "capex_musd": sum(r["capex_musd"] for r in cols),
        "tco_musd_per_year": sum(r["tco_musd_per_year"] for r in cols),
    }


def _caps(plan: FleetPlan, x: np.ndarray) -> list[dict[str, Any]]:
    """Every finite cap: limit, use, and whether it binds (its dual in the relaxation
    is non-zero: one more unit of it would lower the objective)."""
    p = plan.problem
    if p is None:
        return []
    duals = plan.relaxed.duals if plan.relaxed and plan.relaxed.duals is not None else None
    out = []
    for r, (name, kind) in enumerate(zip(p.rows, p.kinds, strict=True)):
        if kind != CAP or not np.isfinite(p.b_ub[r]):
            continue
        scale = MW if "power" in name else 1.0
        shadow = 0.0 if duals is None else -float(duals[r]) * scale
        out.append({
            "cap": name, "limit": p.b_ub[r] / scale, "used": float(p.a_ub[r] @ x) / scale,
            "unit": "MW" if scale == MW else "chips", "binding": abs(shadow) > 1e-9,
            "shadow_price_per_unit": shadow,
        })  # fmt: skip
    return out


def _gap(plan: FleetPlan) -> dict[str, float] | None:
    if plan.integer is None or not plan.integer.feasible or not plan.relaxed.feasible:
        return None
    lp, ip = plan.relaxed.objective, plan.integer.objective
    gap = 100.0 * (ip - lp) / max(abs(lp), 1e-30)
    return {"integer": ip, "relaxed": lp, "gap_pct": gap, "proven_optimal": plan.integer.optimal}


def text(out: dict[str, Any]) -> str:
    """What ``explorer fleet`` prints without --json."""
    ok = "FEASIBLE" if out["feasible"] else "INFEASIBLE"
    lines = [f"{ok}: scenario {out['scenario']}, least {out['objective']}"]
    for t in out["tiers"]:
        lines.append(
            f"\n{t['id']} ({t['model']} {t['precision']}): {t['demand_tokens_per_s']:.3g} tok/s, "
            f"TTFT <= {t['ttft_slo_ms']:g} ms, TPOT <= {t['tpot_slo_ms']:g} ms"
        )
        if not t["feasible"]:
            lines.append("  no chip meets this tier's SLOs:")
            lines += [f"    {k}: {v}" for k, v in t["why_not"].items()]
            continue
        for r in t["columns"]:
            m = r["mapping"]
            lat = (f"TTFT {r['ttft_ms']:.0f} ms" if r["role"] == PREFILL
                   else f"TTFT {r['ttft_ms']:.0f} ms, TPOT {r['tpot_ms']:.3g} ms")  # fmt: skip
            pair = f" [{r['pair']}]" if r["pair"] else ""
            lines.append(
                f"  {r['role']:7s} {r['option']:10s}{pair}: {r['replicas']} x "
                f"{r['chips_per_replica']} chips (tp{m['tp']} pp{m['pp']} ep{m['ep']}), "
                f"batch {r['batch']:g}, {lat}, "
                f"{r['power_mw']:.1f} MW, ${r['tco_musd_per_year']:.1f}M/yr"
            )
        if t["columns"]:
            lines.append(
                f"  tier: {t['chips']:,} chips, {t['power_mw']:.1f} MW, "
                f"${t['tco_musd_per_year']:.1f}M/yr, ${t['usd_per_mtok']:.3g} per Mtok"
            )
    tot = out["totals"]
    if tot["chips"]:
        by = ", ".join(f"{k} {v:,}" for k, v in tot["chips_by_option"].items())
        lines.append(
            f"\ntotal: {tot['chips']:,} chips ({by}), {tot['power_mw']:.1f} MW, "
            f"capex ${tot['capex_musd'] / 1e3:.2f}B, TCO ${tot['tco_musd_per_year']:.0f}M/yr"
        )
        for c in out["caps"]:
            bind = (
                f"BINDING, shadow price {c['shadow_price_per_unit']:.3g}/{c['unit']}/yr"
                if c["binding"]
                else "slack"
            )
            lines.append(
                f"cap {c['cap']}: {c['used']:,.1f} of {c['limit']:,.1f} {c['unit']} ({bind})"
            )
    else:
        lines.append("\nno mix of these chips meets every cap")
    for name, excess in out["shortfall"].items():
        unit = "MW" if "power" in name else "chips"
        lines.append(f"cannot meet {name}: it would have to grow by {excess:,.1f} {unit}")
    if out["relaxation"]:
        g = out["relaxation"]
        proof = "" if g["proven_optimal"] else " (time limit: best mix found, not proven optimal)"
        lines.append(
            f"integer vs continuous relaxation: {g['gap_pct']:.3f}% above the bound{proof}"
        )
    if "design_chip" in out:
        lines += design_text(out["design_chip"], out["objective"])
    bad = [v for v in out["verified"] if not v["slo_met"]]
    if out["verified"]:
        lines.append(
            f"exact re-check: {len(out['verified']) - len(bad)} of {len(out['verified'])} "
            "used columns meet their tier's SLOs"
        )
    return "\n".join(lines)


def design_text(d: dict[str, Any], objective: str) -> list[str]:
    """The --design-chip part of the text report."""
    if not d["feasible"]:
        return [f"\ndesigned chip: none ({d['reason']})"]
    used = ", ".join(f"{k} {v:,}" for k, v in d["chips_used_by_tier"].items() if v)
    f = d["fleet"]
    return [
        f"\ndesigned chip (designed against tier {d['designed_for_tier']}, memory {d['memory']}): "
        f"${d['capex_usd']:,.0f} per chip ({d['capex_basis']}), {d['power_w']:,.0f} W with "
        "its server share",
        "  " + d["design_toml"].strip().replace("\n", "\n  "),
        f"  chips used: {used or 'none'}",
        f"  re-planned fleet: {f['totals']['chips']:,} chips, {f['totals']['power_mw']:.1f} MW; "
        f"exact re-check: {sum(v['slo_met'] for v in f['verified'])} of {len(f['verified'])} "
        "used columns meet their tier's SLOs",
        f"  {objective}: {d['objective_before']:,.4g} -> {d['objective_after']:,.4g} "
        f"(saves {d['saving_pct']:.1f}%; first-order estimate from the duals "
        f"{d['first_order_saving']:,.4g})",
    ]
