"""How much the cross-validated error depends on how the points are dealt into folds.

Leave-one-out has one answer; k-fold has one per random permutation. This fits, in
one vmapped run, leave-one-out and k-fold under several seeds, and prints the median
absolute percentage error of the out-of-sample predictions of each (docs/model.md
13.5), overall and per vendor with 3 or more points.

    python -m benchmarks.cv_spread [--folds 5] [--seeds 5] [--steps 200]
"""

from __future__ import annotations

import argparse

import numpy as np

from explorer.calibration import benchmark as bm
from explorer.calibration import fit as cal


def medians(pred: np.ndarray, su: bm.Setup) -> dict[str, float]:
    """Median APE overall and per vendor (3+ fitted points) of the fitted cases."""
    fit = su.in_fit
    meas = np.array([c.measured for c in su.cases])[fit]
    vendors = [c.vendor for c, f in zip(su.cases, fit, strict=True) if f]
    overall = bm.summarise(["overall"] * len(vendors), pred[fit], meas)
    per_vendor = bm.summarise(vendors, pred[fit], meas)
    rows = {**overall, **{v: s for v, s in per_vendor.items() if s["n"] >= 3}}
    return {k: s["median_ape"] for k, s in rows.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args(argv)
    su = bm.setup()
    runs = [("leave-one-out", bm.fold_masks(su.in_fit, 0))]
    runs += [
        (f"{args.folds}-fold, seed {s}", bm.fold_masks(su.in_fit, args.folds, s))
        for s in range(args.seeds)
    ]
    masks = np.concatenate([m for _, (m, _) in runs])
    fits = cal.fit(su.cases, len(su.sets), su.centre0, masks, args.steps, parent=su.parent)
    start = 0
    for name, (m, fold) in runs:
        pred = bm.held_out(su, np.where(fold >= 0, fold + start, -1), fits)
        start += len(m)
        row = medians(pred, su)
        print(f"{name:>16}: " + ", ".join(f"{k} {v:.1f}%" for k, v in row.items()))


if __name__ == "__main__":
    main()
