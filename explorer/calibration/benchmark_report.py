"""The benchmark's report: its JSON object and its text tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.model.report import table


def benchmark_dict(bench: Any) -> dict[str, Any]:
    """The ``explorer benchmark --json`` object: points and summaries."""
    from explorer.calibration.benchmark import (  # local: report stays importable alone
        ape,
        summarise,
    )

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
    from explorer.calibration.fit import FIT_FIELDS

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
