"""``explorer predict``: latency, throughput and energy of one configuration."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from explorer.cli.common import load_any_chip, scenario_from_args
from explorer.model.chip import PRECISIONS
from explorer.model.configio import ConfigError
from explorer.model.mapping import make_mapping
from explorer.model.perf import predict
from explorer.model.report import metrics_dict
from explorer.model.workload import load_model
from explorer.search.mapping_choice import choose_mapping, complete_split
from explorer.search.operating_points import best_operating_point


def add_parser(sub: Any) -> None:
    p = sub.add_parser("predict", help="latency, throughput and energy of one configuration")
    p.add_argument("--chip", help="built-in chip id (see `explorer chips`)")
    p.add_argument("--chip-file", help="a chip TOML file instead of --chip")
    p.add_argument("--chips", type=int, default=1, help="chips per replica (default 1)")
    p.add_argument("--model", required=True, help="model id (see `explorer models`)")
    p.add_argument(
        "--batch", default="1", help="sequences decoding together, or 'auto' (max throughput)"
    )
    p.add_argument("--tpot-slo-ms", type=float, help="with --batch auto: TPOT bound")
    p.add_argument("--ttft-slo-ms", type=float, help="with --batch auto: TTFT bound")
    p.add_argument("--uncalibrated", action="store_true", help="default efficiency knobs")
    p.add_argument(
        "--stack",
        help="the knobs fitted for this software stack (e.g. vllm-2024; default: the family "
        "centre half-way to the stacks that measured this chip)",
    )
    p.add_argument("--year", type=int, help="blend only this chip's stacks of this year or earlier")
    p.add_argument("--prompt", type=float, default=1024, help="prompt tokens")
    p.add_argument("--output", type=float, default=256, help="generated tokens")
    p.add_argument("--precision", default="bf16", choices=PRECISIONS, help="weights/compute")
    p.add_argument("--kv-precision", choices=PRECISIONS, help="KV cache (default: precision)")
    p.add_argument("--tp", type=int, help="tensor parallel (with --pp, --ep; default: auto)")
    p.add_argument("--pp", type=int, help="pipeline stages")
    p.add_argument("--ep", type=int, help="expert parallel (<= tp)")
    p.add_argument(
        "--prefill-batch", type=float, help="prompts prefilled together (default: batch)"
    )
    p.add_argument("--spec-k", type=float, default=0, help="draft tokens per step")
    p.add_argument("--spec-accept", type=float, default=0.0, help="draft acceptance rate")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _with_economics(out: dict[str, Any], metrics, chip, info, design) -> dict[str, Any]:
    from explorer.design.economics import economics
    from explorer.design.tech import load_tech

    out.update(economics(metrics, chip, info, load_tech(), design))
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    if (args.chip is None) == (args.chip_file is None):
        raise ConfigError("predict: give exactly one of --chip ID or --chip-file FILE")
    calibrated = not args.uncalibrated
    chip, info, design = load_any_chip(args, calibrated)
    if args.stack:
        if args.uncalibrated or design is not None:
            raise ConfigError("predict: --stack needs calibrated knobs of a chip (not a design)")
        from explorer.model.efficiency import with_stack

        chip = with_stack(chip, info, args.stack)
    model = load_model(args.model)
    if args.chips < 1:
        raise ConfigError(f"predict: --chips must be >= 1, got {args.chips}")
    if args.batch == "auto":
        out, metrics = _predict_auto(args, chip, info, model)
        return _with_confidence(_with_economics(out, metrics, chip, info, design), args, info)
    if args.tpot_slo_ms is not None or args.ttft_slo_ms is not None:
        raise ConfigError("predict: --tpot-slo-ms and --ttft-slo-ms need --batch auto")
    scenario = scenario_from_args(args, _number(args.batch, "--batch"))
    if args.tp is None and args.pp is None and args.ep is None:
        mapping, metrics = choose_mapping(chip, model, scenario, args.chips)
        chosen_by = "auto"
    else:
        tp, pp, ep = complete_split(args.chips, args.tp, args.pp, args.ep)
        mapping = make_mapping(tp, pp, ep, model)
        if tp * pp != args.chips:
            raise ConfigError(f"predict: tp x pp = {tp * pp} but --chips is {args.chips}")
        metrics = predict(chip, model, scenario, mapping)
        chosen_by = "user"
    out = metrics_dict(metrics, info, model, scenario, mapping, chosen_by)
    return _with_confidence(_with_economics(out, metrics, chip, info, design), args, info)


def _with_confidence(out: dict[str, Any], args: argparse.Namespace, info) -> dict[str, Any]:
    """Add the confidence label and the provenance of the knobs (model.report.confidence)."""
    from explorer.model.efficiency import knob_provenance
    from explorer.model.report import confidence

    calibrated = not args.uncalibrated and not args.chip_file
    provenance = knob_provenance(info, calibrated, args.stack, args.year)
    out["confidence"] = confidence(out, provenance, info)
    return out


def _number(text: str, flag: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"predict: {flag} must be a number or 'auto', got {text!r}") from None


def _predict_auto(args, chip, info, model) -> dict[str, Any]:
    """--batch auto: the throughput-maximising batch and mapping under memory and SLOs."""
    inf = float("inf")
    ttft = inf if args.ttft_slo_ms is None else args.ttft_slo_ms / 1e3
    tpot = inf if args.tpot_slo_ms is None else args.tpot_slo_ms / 1e3
    for name, value in (("--ttft-slo-ms", ttft), ("--tpot-slo-ms", tpot)):
        if not value > 0:
            raise ConfigError(f"predict: {name} must be > 0")
    static = args.prefill_batch is None
    start = scenario_from_args(args, 1.0 if static else max(args.prefill_batch, 1.0))
    op = best_operating_point(chip, model, start, args.chips, ttft, tpot, static_prefill=static)
    scenario = dataclasses.replace(
        start,
        batch=start.batch * 0 + op.batch,
        prefill_batch=start.batch * 0 + (op.batch if static else min(args.prefill_batch, op.batch)),
    )
    out = metrics_dict(op.metrics, info, model, scenario, op.mapping, "auto", op.replicas)
    out["batch_chosen_by"] = "auto: max total tokens/s within memory and SLOs"
    if not static:  # continuous batching: the inter-token time the SLO was checked on
        per_replica = float(op.metrics.tokens_per_s_per_replica)
        out["tpot_loaded_ms"] = op.batch / per_replica * 1e3
    out["feasible"] = op.feasible
    if not op.feasible:
        out["infeasible_because"] = op.reason
    return out, op.metrics


def text(out: dict[str, Any], args: argparse.Namespace) -> str:
    m = out["mapping"]
    lines = [
        f"{out['model']} on {out['chips']} x {out['chip']}  (tp={m['tp']} pp={m['pp']} "
        f"ep={m['ep']}, {out['mapping_chosen_by']}; {out['replicas']} replica(s), "
        f"batch {out['scenario']['batch']:g} per replica)"
    ]
    if out.get("feasible") is False:
        lines.append(f"  INFEASIBLE: {out['infeasible_because']}; closest configuration shown")
    if not out["fits_in_memory"]:
        lines.append(f"  DOES NOT FIT: {out['bottleneck']}; the numbers below are not achievable")
    lines.append(
        f"  TTFT {out['ttft_ms']:.2f} ms   TPOT {out['tpot_ms']:.3f} ms   "
        f"{out['tokens_per_s_per_user']:.1f} tok/s per user"
    )
    lines.append(
        f"  {out['tokens_per_s_total']:.1f} tok/s total, "
        f"{out['tokens_per_s_per_chip']:.1f} per chip, "
        f"{out['energy_j_per_token']:.3f} J/token, {out['power_w_per_chip']:.0f} W per chip"
    )
    if "tpot_loaded_ms" in out:
        lines.append(
            f"  TPOT with prefills interleaved (continuous): {out['tpot_loaded_ms']:.2f} ms"
        )
    if "cost_usd_per_mtok" in out:
        lines.append(
            f"  ${out['cost_usd_per_mtok']:.3f} per million output tokens "
            f"(TCO ${out['tco_usd_per_hour_per_chip']:.2f}/chip-hour, chip "
            f"${out['chip_cost_usd']:,.0f}: {out['chip_cost_basis'].split(':')[0]})"
        )
    lines.append(
        f"  memory per chip {out['resident_gb_per_chip']:.2f} GB "
        f"(slack {out['memory_slack_gb']:.2f} GB)"
    )
    lines.append(
        f"  decode bottleneck: {out['bottleneck']}; prefill bottleneck: {out['prefill_bottleneck']}"
    )
    for phase, parts in out["breakdown_ms"].items():
        breakdown = ", ".join(f"{k} {v:.3f}" for k, v in parts.items() if v > 0)
        lines.append(f"  {phase} (ms): {breakdown}")
    if "confidence" in out:
        c = out["confidence"]
        k = c["knobs"]
        where = f"{k['table']}" + (f", stack {k['stack']}" if k["stack"] else "")
        if k["own_stacks"]:
            own = ", ".join(f"{s} {w:.0%}" for s, w in sorted(k["own_stacks"].items()))
            where += f"; half-way to this chip's stacks: {own}"
        lines.append(
            f"  confidence: {c['label']} (knobs: {where}; {k['points']} fitted points, "
            f"{k['points_on_chip']} on this chip)"
        )
        lines += [f"    rests on: {line}" for line in c["rests_on"]]
    return "\n".join(lines)
