"""Turning Metrics into plain dicts and tables for people (no model logic)."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer import units
from explorer.hardware import BREAKDOWN, ChipInfo
from explorer.mapping import Mapping
from explorer.perf import Metrics
from explorer.workload import Model, Scenario

_LABELS = {
    "compute": "compute",
    "sram": "SRAM bandwidth",
    "mem": "memory bandwidth",
    "ext": "external memory bandwidth",
    "comm": "communication",
    "fixed": "fixed latency",
}


def bottleneck_text(metrics: Metrics, info: ChipInfo, phase: str = "decode") -> str:
    """The dominant term of a phase, named with the memory tier's kind."""
    if not bool(metrics.fits):
        short = -float(metrics.memory_slack_bytes) / units.GB
        return f"memory capacity ({short:.2f} GB per chip short)"
    bd = np.asarray(getattr(metrics, f"{phase}_breakdown_s"))
    key = BREAKDOWN[int(np.argmax(bd))]
    label = _LABELS[key]
    tier = {"sram": 0, "mem": 1, "ext": 2}.get(key)
    if tier is not None:
        label = f"{info.tier_kinds[tier]} bandwidth"
    return label


def metrics_dict(
    metrics: Metrics,
    info: ChipInfo,
    model: Model,
    scenario: Scenario,
    mapping: Mapping,
    chosen_by: str,
    replicas: int = 1,
) -> dict[str, Any]:
    """The ``explorer predict --json`` object (DESIGN.md section 5 keys and more)."""
    f = lambda x: float(np.asarray(x))  # noqa: E731
    breakdown = {
        phase: {
            k: f(v) / units.MS
            for k, v in zip(
                BREAKDOWN, np.asarray(getattr(metrics, f"{phase}_breakdown_s")), strict=True
            )
        }
        for phase in ("prefill", "decode")
    }
    return {
        "chip": info.id,
        "model": model.id,
        "chips": int(f(metrics.n_chips)) * replicas,
        "replicas": replicas,
        "scenario": {
            "batch": f(scenario.batch),
            "prompt_tokens": f(scenario.prompt_tokens),
            "output_tokens": f(scenario.output_tokens),
            "prefill_batch": f(scenario.prefill_batch),
            "precision": scenario.weight_precision,
            "kv_precision": scenario.kv_precision,
            "spec_k": f(scenario.spec_k),
            "spec_accept": f(scenario.spec_accept),
        },
        "ttft_ms": f(metrics.ttft_s) / units.MS,
        "tpot_ms": f(metrics.tpot_s) / units.MS,
        "tokens_per_s_per_user": f(metrics.tokens_per_s_per_user),
        "tokens_per_s_total": f(metrics.tokens_per_s_per_replica) * replicas,
        "tokens_per_s_per_chip": f(metrics.tokens_per_s_per_chip),
        "energy_j_per_token": f(metrics.energy_j_per_token),
        "power_w_per_chip": f(metrics.power_w),
        "fits_in_memory": bool(metrics.fits),
        "memory_slack_gb": f(metrics.memory_slack_bytes) / units.GB,
        "resident_gb_per_chip": f(metrics.resident_bytes) / units.GB,
        "bottleneck": bottleneck_text(metrics, info, "decode"),
        "prefill_bottleneck": bottleneck_text(metrics, info, "prefill"),
        "throttle": f(metrics.throttle),
        "mapping": mapping.as_dict(),
        "mapping_chosen_by": chosen_by,
        "breakdown_ms": breakdown,
        "estimated_chip_fields": list(info.estimated),
    }


# A prediction "rests on" an estimated constant when the time it governs is at least
# this share of TTFT or TPOT.
RESTS_ON_SHARE = 0.25
_LATENCY_FIELDS = ("scale_up.latency_us", "scale_out.latency_us")


def confidence(out: dict[str, Any], provenance: dict[str, Any], info: ChipInfo) -> dict:
    """The confidence label of a prediction and what it rests on.

    Label: "calibrated" (this chip's own measured points fitted its knobs), "family
    default" (knobs fitted on other chips of its family), "estimate" (no measured point
    in its family, or, on a chip without measured points of its own, an estimated link
    latency carries >= 25% of TTFT or TPOT: no measurement checks it).
    """
    if provenance["points_on_chip"]:
        label = "calibrated"
    elif provenance["points"]:
        label = "family default"
    else:
        label = "estimate"
    rests = []
    if provenance["points"] == 0:
        rests.append("efficiency knobs and latencies: family defaults, no measured point")
    estimated = [f for f in _LATENCY_FIELDS if f in info.estimated]
    for phase, total in (("prefill", out["ttft_ms"]), ("decode", out["tpot_ms"])):
        share = out["breakdown_ms"][phase]["comm"] / total if total > 0 else 0.0
        if estimated and share >= RESTS_ON_SHARE and not provenance["points_on_chip"]:
            label = "estimate"
            rests.append(
                f"{phase}: {share:.0%} is communication, timed with an estimated "
                f"{' and '.join(estimated)} (no measured point fits it)"
            )
    return {"label": label, "rests_on": rests, "knobs": provenance}


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """A fixed-width text table. columns: (key, header, format spec)."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        line = []
        for key, _, spec in columns:
            value = row.get(key, "")
            is_number = isinstance(value, (int, float, np.number))
            line.append(format(value, spec) if is_number else str(value))
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    out = []
    for n, r in enumerate(cells):
        out.append(
            "  ".join(
                c.rjust(w) if n and i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# --- benchmark ----------------------------------------------------------------------


def benchmark_dict(bench: Any) -> dict[str, Any]:
    """The ``explorer benchmark --json`` object: points and summaries."""
    from explorer.benchmark import ape, summarise  # local: report stays importable alone

    cases = bench.cases
    meas = np.array([c.measured for c in cases])
    points = []
    for i, c in enumerate(cases):
        points.append(
            {
                "id": c.point_id,
                "chip": c.chip_id,
                "vendor": c.vendor,
                "model": c.model.id,
                "metric": c.metric,
                "measured": c.measured,
                "predicted": float(bench.cv[i]),
                "ape": float(ape(bench.cv[i], c.measured)),
                "predicted_uncalibrated": float(bench.uncalibrated[i]),
                "ape_uncalibrated": float(ape(bench.uncalibrated[i], c.measured)),
                "predicted_loco": float(bench.loco[i]),
                "ape_loco": float(ape(bench.loco[i], c.measured)),
                "predicted_loso": float(bench.loso_default[i]),
                "ape_loso": float(ape(bench.loso_default[i], c.measured)),
                "source": bench.sources[i],
                "regime": bench.regimes[i],
                "fitted": bool(bench.in_fit[i]),
                "batch": float(c.scenario.batch),
                "mapping": c.mapping.as_dict(),
                "replicas": c.replicas,
            }
        )
    fit = bench.in_fit

    def block(pred: np.ndarray, sel: np.ndarray) -> dict[str, Any]:
        keys = {
            "per_vendor": [c.vendor for c in cases],
            "per_chip": [c.chip_id for c in cases],
            "per_metric": [c.metric for c in cases],
            "per_regime": bench.regimes,
            "per_source": bench.sources,
            "per_class": [_chip_class(c.vendor) for c in cases],
        }
        out: dict[str, Any] = {
            "overall": summarise(["all"] * int(sel.sum()), pred[sel], meas[sel])["all"]
        }
        for name, key in keys.items():
            out[name] = summarise(list(np.asarray(key)[sel]), pred[sel], meas[sel])
        return out

    spec = ~fit
    summary = {
        "headline": "leave_one_source_out",
        "leave_one_source_out": block(bench.loso_default, fit),
        "leave_one_source_out_own_stack": block(bench.loso, fit),
        "calibrated_cv": block(bench.cv, fit),
        "uncalibrated": block(bench.uncalibrated, fit),
        "leave_one_chip_out": block(bench.loco, fit),
        "folds": bench.folds,
        "cv": bench.cv_kind,
        "n_points": len(cases),
        "n_fitted": int(fit.sum()),
        "n_not_modellable": len(bench.skipped),
    }
    if spec.any():
        summary["speculative_apart"] = block(bench.cv, spec)
    return {
        "points": points,
        "summary": summary,
        "fitted_knobs": knobs_dict(bench.families, bench.fitted),
        "not_modellable": [{"id": p.id, "why_not": p.get("why_not")} for p in bench.skipped],
    }


SRAM_HEAVY = ("cerebras", "groq", "sambanova", "tenstorrent", "d-matrix", "ibm")


def _chip_class(vendor: str) -> str:
    """ "sram-heavy" for the vendors whose chips keep weights in on-chip SRAM, else "hbm"."""
    return "sram-heavy" if vendor.lower() in SRAM_HEAVY else "hbm"


def knobs_dict(families: list[str], knobs: np.ndarray) -> dict[str, dict[str, float]]:
    """Fitted knobs per family in config units (us for latencies)."""
    from explorer.calibrate import FIT_FIELDS

    out = {}
    for f, row in zip(families, knobs, strict=True):
        out[f] = {
            name.replace("_s", "_us") if name.endswith("_s") else name: (
                float(v) * 1e6 if name.endswith("_s") else float(v)
            )
            for (name, _, _), v in zip(FIT_FIELDS, row, strict=True)
        }
    return out


def benchmark_text(out: dict[str, Any]) -> str:
    """Human-readable benchmark report: points, summaries, LOCO."""
    lines = []
    rows = [
        dict(p, ape_cv=p["ape"], tag="" if p["fitted"] else "spec")
        for p in sorted(out["points"], key=lambda p: (p["vendor"], p["chip"], p["id"]))
    ]
    cols = [
        ("id", "point", ""),
        ("chip", "chip", ""),
        ("model", "model", ""),
        ("metric", "metric", ""),
        ("measured", "measured", ".4g"),
        ("predicted_uncalibrated", "uncal.", ".4g"),
        ("ape_uncalibrated", "err %", ".0f"),
        ("predicted", "calib. (CV)", ".4g"),
        ("ape_cv", "err %", ".0f"),
        ("predicted_loso", "LOSO", ".4g"),
        ("ape_loso", "err %", ".0f"),
        ("tag", "", ""),
    ]
    lines.append(table(rows, cols))
    s = out["summary"]
    for title, key in (
        ("per vendor", "per_vendor"),
        ("per class", "per_class"),
        ("per regime", "per_regime"),
        ("per metric", "per_metric"),
        ("per source", "per_source"),
        ("per chip", "per_chip"),
    ):
        lines.append("")
        lines.append(
            f"Summary {title} (fitted points; APE = absolute % error, bias = median signed; "
            "LOSO = leave-one-source-out, the family knobs `predict` uses)"
        )
        srows = []
        for name, lo in s["leave_one_source_out"][key].items():
            srows.append(
                {
                    "name": name,
                    "n": lo["n"],
                    "u_med": s["uncalibrated"][key][name]["median_ape"],
                    "s_med": lo["median_ape"],
                    "s_p90": lo["p90_ape"],
                    "s_bias": lo["bias_pct"],
                    "c_med": s["calibrated_cv"][key][name]["median_ape"],
                    "l_med": s["leave_one_chip_out"][key][name]["median_ape"],
                }
            )
        lines.append(
            table(
                srows,
                [
                    ("name", title.split()[1], ""),
                    ("n", "n", "d"),
                    ("u_med", "uncal. median", ".1f"),
                    ("s_med", "LOSO median", ".1f"),
                    ("s_p90", "p90", ".1f"),
                    ("s_bias", "bias", "+.1f"),
                    ("c_med", f"{s['cv']} median", ".1f"),
                    ("l_med", "LOCO median", ".1f"),
                ],
            )
        )
    o, u, lo, so = (
        s["calibrated_cv"]["overall"],
        s["uncalibrated"]["overall"],
        s["leave_one_chip_out"]["overall"],
        s["leave_one_source_out"]["overall"],
    )
    own = s["leave_one_source_out_own_stack"]["overall"]
    lines.append("")
    lines.append(
        f"Headline ({s['n_fitted']} fitted points): leave-one-source-out median APE "
        f"{so['median_ape']:.1f}% (p90 {so['p90_ape']:.1f}%; with each point's own stack "
        f"where other sources fitted it: {own['median_ape']:.1f}%). Uncalibrated "
        f"{u['median_ape']:.1f}%, {s['cv']} CV {o['median_ape']:.1f}%, "
        f"leave-one-chip-out {lo['median_ape']:.1f}%"
    )
    if "speculative_apart" in s:
        sp = s["speculative_apart"]["overall"]
        lines.append(
            f"Speculative-decoding points, predicted apart (not fitted): n={sp['n']}, "
            f"median APE {sp['median_ape']:.1f}%"
        )
    lines.append(
        f"Not modellable (kept in configs/references with a reason): {s['n_not_modellable']}"
    )
    return "\n".join(lines)
