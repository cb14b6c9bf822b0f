"""``explorer benchmark``: error against published measurements."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from explorer.cli.common import folds, save_figure


def add_parser(sub: Any) -> None:
    b = sub.add_parser("benchmark", help="error against published measurements")
    b.add_argument("--json", action="store_true")
    b.add_argument("--plot", help="save a parity plot (PNG/PDF/SVG)")
    b.add_argument(
        "--folds",
        type=int,
        default=10,
        help="k-fold cross-validation (default 10; 0: leave-one-out, whose cost grows as "
        "the square of the points: about an hour on 2 cores for 230 points)",
    )
    b.add_argument("--steps", type=int, default=200, help="Adam steps per fit")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from explorer.calibration.benchmark import run_benchmark
    from explorer.calibration.benchmark_report import benchmark_dict

    bench = run_benchmark(folds=folds(args), steps=args.steps)
    out = benchmark_dict(bench)
    if args.plot:
        _save_parity(out, args.plot)
    return out


def text(out: dict[str, Any], args: argparse.Namespace) -> str:
    from explorer.calibration.benchmark_report import benchmark_text

    return benchmark_text(out)


def _save_parity(out: dict[str, Any], path: str) -> None:
    from explorer.plots import figures as plots

    pts = [p for p in out["points"] if p["fitted"]]
    meas = np.array([p["measured"] for p in pts])
    fig = plots.parity(
        meas,
        {
            "uncalibrated (datasheet + default knobs)": np.array(
                [p["predicted_uncalibrated"] for p in pts]
            ),
            "calibrated, leave-one-source-out": np.array([p["predicted_loso"] for p in pts]),
        },
        [p["vendor"] for p in pts],
        f"explorer vs {len(pts)} published measurements",
    )
    save_figure(fig, path)
