"""The ``explorer`` command: parse, call the library, print. No model logic here.

Bad input exits 2 with one line on stderr (``--debug`` re-raises with a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from explorer import units
from explorer.configio import ConfigError, list_ids
from explorer.hardware import PRECISIONS, load_chip, load_chip_file, load_chip_info
from explorer.mapping import make_mapping
from explorer.perf import predict
from explorer.planner import choose_mapping, min_chips
from explorer.report import metrics_dict, table
from explorer.workload import load_model, make_scenario

COMPARE_CHIPS = (
    "a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "gb200", "mi300x", "mi325x", "mi355x",
    "tpu-v5e", "tpu-v6e", "gaudi3", "sn40l", "wse-3", "groq-lpu",
)  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise ConfigError(f"{self.prog}: {message}")


def _add_predict(sub: Any) -> None:
    p = sub.add_parser("predict", help="latency, throughput and energy of one configuration")
    p.add_argument("--chip", help="built-in chip id (see `explorer chips`)")
    p.add_argument("--chip-file", help="a chip TOML file instead of --chip")
    p.add_argument("--chips", type=int, default=1, help="chips per replica (default 1)")
    p.add_argument("--model", required=True, help="model id (see `explorer models`)")
    p.add_argument("--batch", type=float, default=1, help="sequences decoding together")
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="explorer", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_predict(sub)
    c = sub.add_parser("compare", help="every reference chip on one scenario (the main job)")
    c.add_argument("--model", default="llama-3.1-70b")
    c.add_argument("--batch", type=float, default=1)
    c.add_argument("--prompt", type=float, default=1024)
    c.add_argument("--output", type=float, default=256)
    c.add_argument("--precision", default="bf16", choices=PRECISIONS)
    c.add_argument("--json", action="store_true")
    ch = sub.add_parser("chips", help="list chip ids with key specs")
    ch.add_argument("--json", action="store_true")
    mo = sub.add_parser("models", help="list model ids with key sizes")
    mo.add_argument("--json", action="store_true")
    return parser


def _scenario(args: argparse.Namespace):
    return make_scenario(
        batch=args.batch,
        prompt_tokens=args.prompt,
        output_tokens=args.output,
        prefill_batch=getattr(args, "prefill_batch", None),
        precision=args.precision,
        kv_precision=getattr(args, "kv_precision", None),
        spec_k=getattr(args, "spec_k", 0),
        spec_accept=getattr(args, "spec_accept", 0.0),
    )


def cmd_predict(args: argparse.Namespace) -> dict[str, Any]:
    if (args.chip is None) == (args.chip_file is None):
        raise ConfigError("predict: give exactly one of --chip ID or --chip-file FILE")
    if args.chip_file:
        chip, info = load_chip_file(args.chip_file)
    else:
        chip, info = load_chip(args.chip), load_chip_info(args.chip)
    model = load_model(args.model)
    scenario = _scenario(args)
    if args.chips < 1:
        raise ConfigError(f"predict: --chips must be >= 1, got {args.chips}")
    if args.tp is None and args.pp is None and args.ep is None:
        mapping, metrics = choose_mapping(chip, model, scenario, args.chips)
        chosen_by = "auto"
    else:
        tp, pp, ep = args.tp or 1, args.pp or 1, args.ep or 1
        if args.tp is None and args.pp is not None:
            tp = max(args.chips // pp, 1)
        if args.pp is None:
            pp = max(args.chips // tp, 1)
        mapping = make_mapping(tp, pp, ep, model)
        if tp * pp != args.chips:
            raise ConfigError(f"predict: tp x pp = {tp * pp} but --chips is {args.chips}")
        metrics = predict(chip, model, scenario, mapping)
        chosen_by = "user"
    return metrics_dict(metrics, info, model, scenario, mapping, chosen_by)


def _print_predict(out: dict[str, Any]) -> None:
    m = out["mapping"]
    print(
        f"{out['model']} on {out['chips']} x {out['chip']}  (tp={m['tp']} pp={m['pp']} "
        f"ep={m['ep']}, {out['mapping_chosen_by']})"
    )
    if not out["fits_in_memory"]:
        print(f"  DOES NOT FIT: {out['bottleneck']}; the numbers below are not achievable")
    print(
        f"  TTFT {out['ttft_ms']:.2f} ms   TPOT {out['tpot_ms']:.3f} ms   "
        f"{out['tokens_per_s_per_user']:.1f} tok/s per user"
    )
    print(
        f"  {out['tokens_per_s_total']:.1f} tok/s total, "
        f"{out['tokens_per_s_per_chip']:.1f} per chip, "
        f"{out['energy_j_per_token']:.3f} J/token, {out['power_w_per_chip']:.0f} W per chip"
    )
    print(
        f"  memory per chip {out['resident_gb_per_chip']:.2f} GB "
        f"(slack {out['memory_slack_gb']:.2f} GB)"
    )
    print(
        f"  decode bottleneck: {out['bottleneck']}; prefill bottleneck: {out['prefill_bottleneck']}"
    )
    for phase, parts in out["breakdown_ms"].items():
        text = ", ".join(f"{k} {v:.3f}" for k, v in parts.items() if v > 0)
        print(f"  {phase} (ms): {text}")


def cmd_compare(args: argparse.Namespace) -> list[dict[str, Any]]:
    model = load_model(args.model)
    scenario = _scenario(args)
    rows = []
    for chip_id in COMPARE_CHIPS:
        if chip_id not in list_ids("chips"):
            continue
        chip, info = load_chip(chip_id), load_chip_info(chip_id)
        n, mapping, metrics = min_chips(chip, model, scenario)
        rows.append(metrics_dict(metrics, info, model, scenario, mapping, "auto"))
    return rows


def _print_compare(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"{args.model}, batch {args.batch:g}, prompt {args.prompt:g}, output {args.output:g}, "
        f"{args.precision}; fewest chips (2^a 3^b) that hold the model, best mapping"
    )
    for r in rows:
        m = r["mapping"]
        r["map"] = f"tp{m['tp']} pp{m['pp']}" + (f" ep{m['ep']}" if m["ep"] > 1 else "")
        r["fit"] = "yes" if r["fits_in_memory"] else "NO"
    cols = [
        ("chip", "chip", ""),
        ("chips", "chips", "d"),
        ("map", "mapping", ""),
        ("fit", "fits", ""),
        ("ttft_ms", "TTFT ms", ".1f"),
        ("tpot_ms", "TPOT ms", ".2f"),
        ("tokens_per_s_per_user", "tok/s/user", ".0f"),
        ("tokens_per_s_per_chip", "tok/s/chip", ".1f"),
        ("energy_j_per_token", "J/token", ".3f"),
        ("bottleneck", "decode bottleneck", ""),
    ]
    print(table(rows, cols))


def cmd_chips() -> list[dict[str, Any]]:
    rows = []
    for cid in list_ids("chips"):
        chip, info = load_chip(cid), load_chip_info(cid)
        cap = np.asarray(chip.mem_capacity_bytes)
        bw = np.asarray(chip.mem_bw_bytes_per_s)
        rows.append({
            "id": cid, "vendor": info.vendor,
            "bf16_tflops": float(chip.peak_flops_per_s[1]) / units.TERA,
            "fp8_tflops": float(chip.peak_flops_per_s[2]) / units.TERA,
            "sram_mb": cap[0] / units.MB, "sram_tb_s": bw[0] / units.TB,
            "offchip_gb": (cap[1] + cap[2]) / units.GB,
            "offchip_tb_s": bw[1] / units.TB if cap[1] > 0 else 0.0,
            "link_gb_s": float(chip.link_bw_bytes_per_s) / units.GB,
            "domain": int(chip.domain_chips), "tdp_w": float(chip.tdp_w),
            "estimated": len(info.estimated),
        })  # fmt: skip
    return rows


def cmd_models() -> list[dict[str, Any]]:
    rows = []
    for mid in list_ids("models"):
        m = load_model(mid)
        rows.append({
            "id": mid, "layers": m.n_layers, "d_model": m.d_model, "attention": m.attention,
            "experts": f"{m.top_k}/{m.n_experts}" if m.is_moe else "-",
            "total_b": m.total_params / 1e9, "active_b": m.active_params / 1e9,
            "kv_kb_per_token": m.kv_elems_per_token_layer * m.n_layers * 2 / 1e3,
        })  # fmt: skip
    return rows


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (tests call this in-process)."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command == "predict":
            out: Any = cmd_predict(args)
            print(json.dumps(out, indent=2)) if args.json else _print_predict(out)
        elif args.command == "compare":
            out = cmd_compare(args)
            print(json.dumps(out, indent=2)) if args.json else _print_compare(out, args)
        elif args.command == "chips":
            out = cmd_chips()
            cols = [("id", "id", ""), ("vendor", "vendor", ""), ("bf16_tflops", "BF16 TF/s", ".0f"),
                    ("fp8_tflops", "FP8 TF/s", ".0f"), ("sram_mb", "SRAM MB", ".0f"),
                    ("sram_tb_s", "SRAM TB/s", ".1f"), ("offchip_gb", "off-chip GB", ".0f"),
                    ("offchip_tb_s", "off-chip TB/s", ".2f"), ("link_gb_s", "link GB/s", ".0f"),
                    ("domain", "domain", "d"), ("tdp_w", "TDP W", ".0f"),
                    ("estimated", "est. fields", "d")]  # fmt: skip
            print(json.dumps(out, indent=2)) if args.json else print(table(out, cols))
        elif args.command == "models":
            out = cmd_models()
            cols = [("id", "id", ""), ("layers", "layers", "d"), ("d_model", "d_model", "d"),
                    ("attention", "attention", ""), ("experts", "top-k/experts", ""),
                    ("total_b", "total B", ".1f"), ("active_b", "active B", ".1f"),
                    ("kv_kb_per_token", "KV kB/token (16-bit)", ".1f")]  # fmt: skip
            print(json.dumps(out, indent=2)) if args.json else print(table(out, cols))
    except ConfigError as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def main() -> None:
    sys.exit(run())
