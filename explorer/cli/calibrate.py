"""``explorer calibrate``: fit the efficiency knobs to all reference points and write
configs/calibration.toml."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from explorer.cli.common import folds


def add_parser(sub: Any) -> None:
    k = sub.add_parser("calibrate", help="fit efficiency knobs to all reference points")
    k.add_argument("--out", default=None, help="default: configs/calibration.toml")
    k.add_argument("--steps", type=int, default=200, help="Adam steps")
    k.add_argument("--folds", type=int, default=10, help="as for benchmark (0: leave-one-out)")
    k.set_defaults(json=False)  # prints the knobs as JSON and one line, always


def run(args: argparse.Namespace) -> dict[str, Any]:
    from explorer.calibration import fit as cal
    from explorer.calibration.benchmark import ape, run_benchmark
    from explorer.calibration.benchmark_report import knobs_dict
    from explorer.calibration.calibration_file import render, write_atomic
    from explorer.model.configio import CONFIG_DIR
    from explorer.model.smooth import EXACT

    bench = run_benchmark(folds=folds(args), steps=args.steps)
    meas = np.array([c.measured for c in bench.cases])
    fit = bench.in_fit
    cv = float(np.median(ape(bench.cv[fit], meas[fit])))
    in_sample = cal.evaluate(bench.cases, bench.fitted, EXACT)
    centres = dict(zip(bench.parents, bench.fitted_parent, strict=True))
    toml = render(
        bench.families, bench.fitted, bench.cases, fit, in_sample, cv, bench.cv_kind, centres
    )
    path = args.out or CONFIG_DIR / "calibration.toml"
    write_atomic(path, toml)
    return {
        "knobs": knobs_dict(bench.families, bench.fitted),
        "written": str(path),
        "points": int(fit.sum()),
        "cv_kind": bench.cv_kind,
        "cv_median_ape": cv,
    }


def text(out: dict[str, Any], args: argparse.Namespace) -> str:
    return json.dumps(out["knobs"], indent=2) + (
        f"\nwrote {out['written']} ({out['points']} points; {out['cv_kind']} cross-validated "
        f"median APE {out['cv_median_ape']:.1f}%)"
    )
