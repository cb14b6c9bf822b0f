"""``explorer compare``: every reference chip on one scenario, fewest chips."""

from __future__ import annotations

import argparse
from typing import Any

from explorer.cli.common import scenario_from_args
from explorer.model.chip import PRECISIONS
from explorer.model.report import metrics_dict, table
from explorer.model.workload import load_model
from explorer.search.reference_chips import fewest_chips


def add_parser(sub: Any) -> None:
    c = sub.add_parser("compare", help="every reference chip on one scenario (the main job)")
    c.add_argument("--model", default="llama-3.1-70b")
    c.add_argument("--batch", type=float, default=1)
    c.add_argument("--prompt", type=float, default=1024)
    c.add_argument("--output", type=float, default=256)
    c.add_argument("--precision", default="bf16", choices=PRECISIONS)
    c.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    model = load_model(args.model)
    scenario = scenario_from_args(args)
    return [
        metrics_dict(metrics, info, model, scenario, mapping, "auto")
        for info, mapping, metrics in fewest_chips(model, scenario)
    ]


def text(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    header = (
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
    return header + "\n" + table(rows, cols)
