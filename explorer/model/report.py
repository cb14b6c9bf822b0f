"""Turning Metrics into plain dicts and tables for people (no model logic)."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.model import units
from explorer.model.chip import BREAKDOWN, ChipInfo
from explorer.model.mapping import Mapping
from explorer.model.perf import Metrics
from explorer.model.workload import Model, Scenario

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
