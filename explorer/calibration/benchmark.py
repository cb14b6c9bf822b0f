"""Benchmark against published measurements: per-point errors, summaries, CV and LOCO.

Pipeline (every step is a pure function of the reference points and chip configs):
1. Each modellable point becomes a :class:`~explorer.calibration.fit.Case` at an operating
   point chosen as its source measured it (fixed batch; MLPerf Offline: max throughput;
   Server/Interactive: max throughput under the round's TTFT/TPOT bounds; API and
   vendor demos: the stated low concurrency).
2. Uncalibrated predictions use the datasheet numbers and default efficiency knobs.
3. Calibrated predictions are cross-validated: leave-one-out by default, or k-fold
   (each point predicted by knobs fitted without it), and leave-one-chip-out (each
   chip predicted by knobs fitted on the other chips; a chip alone in its family
   keeps the defaults).
Knobs are fitted per (chip family, software stack) (:func:`references.stack_of`),
shrunk towards one centre per family (:func:`explorer.calibration.fit.fit`). MLPerf
Server/Interactive bounds are on the p99 TPOT; the model's TPOT is a mean, so the
bound it must meet is the round's bound divided by P99_OVER_MEAN_TPOT.
Speculative-decoding points are never fitted; they are predicted and reported apart.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from explorer.calibration import fit as cal
from explorer.calibration.measurements import Point, load_points, source_of, stack_of
from explorer.model.chip_config import load_chip, load_chip_info
from explorer.model.mapping import make_mapping
from explorer.model.perf import resident_bytes
from explorer.model.smooth import EXACT
from explorer.model.stacks import blend, chip_weights
from explorer.model.workload import load_model, make_scenario
from explorer.search.mapping_choice import choose_mapping
from explorer.search.operating_points import best_operating_point

MLPERF = ("mlperf-offline", "mlperf-server", "mlperf-interactive")
# p99 / mean TPOT of MLPerf Server and Interactive runs at their highest passing load:
# the median of the 9 submissions whose logs give both (configs/references, from
# mlperf_log_summary.txt via measurements.yaml): 1.08, 1.11, 1.12, 1.13, 1.155, 1.18,
# 1.21, 1.25, 1.38 (Llama-2-70B on MI300X/MI325X/MI355X/H100/H200/B200).
P99_OVER_MEAN_TPOT = 1.155
# MLPerf load is continuous: its operating-point search uses batches in steps of
# sqrt(2) (1, 2, 3, 4, 6, 8, 11, 16, ..., 2896, 4096), not operating_points.BATCHES' steps of 2.
MLPERF_BATCHES = tuple(sorted({float(round(2 ** (i / 2))) for i in range(25)}))


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """Everything the report needs."""

    cases: list[cal.Case]
    families: list[str]  # knob sets, "family/stack"; Case.family indexes them
    skipped: list[Point]
    uncalibrated: np.ndarray
    cv: np.ndarray
    loco: np.ndarray
    loso: np.ndarray  # leave-one-source-out, each point with its own knob set's fit
    loso_default: np.ndarray  # leave-one-source-out with the default knobs `predict` uses
    sources: list[str]  # the publication of each case (references.source_of)
    regimes: list[str]  # the regime of each case (regime_of)
    fitted: np.ndarray  # (n_sets, N_KNOBS) fitted on all plain points
    defaults: np.ndarray  # (n_sets, N_KNOBS) the family defaults of each set
    in_fit: np.ndarray  # bool per case: plain decode points used for fitting
    folds: int
    parents: list[str]  # chip families
    parent: np.ndarray  # (n_sets,) family index of each knob set
    fitted_parent: np.ndarray  # (n_parents, N_KNOBS) the family centres of the full fit

    @property
    def cv_kind(self) -> str:
        """ "leave-one-out" or "k-fold", as the cross-validation ran."""
        return "leave-one-out" if self.folds == int(self.in_fit.sum()) else f"{self.folds}-fold"


def _scenario(p: Point, batch: float):
    pb = p.get("prefill_batch", "batch")
    return make_scenario(
        batch=batch,
        prompt_tokens=p.get("input_tokens"),
        output_tokens=p.get("output_tokens"),
        prefill_batch=batch if pb == "batch" else min(float(pb), batch),
        precision=p.get("precision"),
        kv_precision=p.get("kv_precision"),
        spec_k=p.get("spec_k", 0),
        spec_accept=p.get("spec_accept", 0.0),
    )


def make_case(p: Point, family: int, knobs: np.ndarray) -> cal.Case:
    """The point at its operating point, chosen with the given knobs."""
    base = load_chip(p.chip, calibrated=False)
    chip = cal.with_knobs(base, np.asarray(knobs))
    model = load_model(p.model)
    n = int(p.get("num_chips"))
    replicas = 1
    if p.scenario in MLPERF:
        bounds = {}
        if p.scenario != "mlperf-offline":
            bounds = dict(
                ttft_slo_s=p.get("ttft_slo_ms") / 1e3,
                tpot_slo_s=p.get("tpot_slo_ms") / 1e3 / P99_OVER_MEAN_TPOT,
            )
        sc = _scenario(p, 1.0)
        op = best_operating_point(
            chip,
            model,
            sc,
            n,
            batches=MLPERF_BATCHES,
            static_prefill=p.scenario == "mlperf-offline",
            **bounds,
        )
        scenario = _scenario(p, op.batch)
        if p.scenario != "mlperf-offline":
            scenario = dataclasses.replace(scenario, prefill_batch=scenario.batch * 0 + 1.0)
        mapping, replicas = op.mapping, op.replicas
    else:
        scenario = _scenario(p, float(p.get("batch")))
        if p.get("tp"):
            mapping = make_mapping(p.get("tp"), p.get("pp", 1), 1, model)
        else:
            mapping, _ = choose_mapping(chip, model, scenario, n)
    e2e = p.get("throughput_basis") == "e2e"
    return cal.Case(
        point_id=p.id,
        chip_id=p.chip,
        vendor=p.vendor,
        family=family,
        metric=p.metric,
        measured=p.value,
        chip=base,
        model=model,
        scenario=scenario,
        mapping=mapping,
        replicas=replicas,
        e2e=bool(e2e),
        loaded=p.scenario in ("mlperf-server", "mlperf-interactive"),
    )


def fold_masks(in_fit: np.ndarray, folds: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cross-validation masks over the fitted points: (train masks (k, n), fold of each
    case). folds = 0 (or >= the number of fitted points): leave-one-out, one fold per
    point, no randomness; otherwise k-fold on a random permutation (``seed``)."""
    fold = np.full(len(in_fit), -1)
    idx = np.flatnonzero(in_fit)
    if folds == 0 or folds >= len(idx):
        folds, fold[idx] = len(idx), np.arange(len(idx))
    else:
        fold[idx] = np.random.default_rng(seed).permutation(len(idx)) % folds
    masks = np.array([(in_fit & (fold != k)).astype(float) for k in range(folds)])
    return masks, fold


@dataclasses.dataclass(frozen=True)
class Setup:
    """The modellable points as cases, with their knob sets and family defaults."""

    usable: list[Point]
    skipped: list[Point]
    cases: list[cal.Case]
    sets: list[str]  # knob sets, "family/stack"
    parents: list[str]  # chip families
    parent: np.ndarray  # (n_sets,) family index of each set
    centre0: np.ndarray  # (n_parents, N_KNOBS) family defaults
    in_fit: np.ndarray  # bool per case: plain points (not speculative, not suspect)

    @property
    def defaults(self) -> np.ndarray:
        return self.centre0[self.parent]


def setup(points: list[Point] | None = None) -> Setup:
    """Cases of the modellable points at their operating points (default knobs)."""
    points = load_points() if points is None else points
    usable = [p for p in points if p.modellable]
    fam = {p.id: load_chip_info(p.chip).family for p in usable}
    parents = sorted(set(fam.values()))
    sets = sorted({f"{fam[p.id]}/{stack_of(p)}" for p in usable})
    parent = np.array([parents.index(s.split("/")[0]) for s in sets])
    set_of = {p.id: sets.index(f"{fam[p.id]}/{stack_of(p)}") for p in usable}
    centre0 = np.array(
        [cal.knobs_of(load_chip(_first_chip(usable, f), calibrated=False)) for f in parents]
    )
    cases = [make_case(p, set_of[p.id], centre0[parent[set_of[p.id]]]) for p in usable]
    in_fit = np.array([not (p.get("spec_decode") or p.get("suspect")) for p in usable])
    skipped = [p for p in points if not p.modellable]
    return Setup(usable, skipped, cases, sets, parents, parent, centre0, in_fit)


def held_out(su: Setup, group: np.ndarray, fits: list[cal.FitResult]) -> np.ndarray:
    """Predictions of each case by the fit of its group (group[i] = k: ``fits[k]``;
    -1: not predicted, NaN)."""
    out = np.full(len(su.cases), np.nan)
    for k in np.unique(group[group >= 0]):
        held = group == k
        out[held] = _predict_held(su.usable, su.cases, held, fits[k].knobs)
    return out


def default_row(su: Setup, fit: cal.FitResult, mask: np.ndarray, i: int) -> np.ndarray:
    """The knobs ``predict`` gives case i's chip at its point's year, from a fit on
    ``mask``: the family centre half-way to the stacks whose fitted points measured
    this chip (explorer.model.stacks)."""
    case = su.cases[i]
    fam = su.parent[case.family]
    counts: dict[str, int] = {}
    for j in np.flatnonzero(mask > 0):
        other = su.cases[j]
        if other.chip_id == case.chip_id and su.parent[other.family] == fam:
            name = su.sets[other.family].split("/", 1)[1]
            counts[name] = counts.get(name, 0) + 1
    weights = chip_weights(counts, case.chip_id, int(str(su.usable[i].get("date"))[:4]))
    rows = {name: fit.knobs[su.sets.index(f"{su.parents[fam]}/{name}")] for name in weights}
    return blend(fit.parent_knobs[fam], rows, weights)


def held_out_default(
    su: Setup, group: np.ndarray, fits: list[cal.FitResult], masks: np.ndarray
) -> np.ndarray:
    """Like :func:`held_out`, with the default knobs of each case's chip and year
    (:func:`default_row`) in place of its stack's: what ``predict`` would say."""
    out = np.full(len(su.cases), np.nan)
    for k in np.unique(group[group >= 0]):
        held = np.flatnonzero(group == k)
        n = len(fits[k].knobs)
        rows = [default_row(su, fits[k], masks[k], i) for i in held]
        knobs = np.concatenate([fits[k].knobs, np.array(rows)])
        cases = list(su.cases)
        for r, i in enumerate(held):
            cases[i] = dataclasses.replace(cases[i], family=n + r)
        out[held] = _predict_held(su.usable, cases, group == k, knobs)
    return out


def run_benchmark(
    folds: int = 0, steps: int = 300, points: list[Point] | None = None, seed: int = 0
) -> Benchmark:
    """Build the cases, predict uncalibrated, fit with cross-validation (folds = 0:
    leave-one-out; k: k-fold, shuffled by ``seed``) and LOCO, fit on all."""
    su = setup(points)
    cases, in_fit = su.cases, su.in_fit
    uncal = cal.evaluate(cases, su.defaults, EXACT)

    masks, fold = fold_masks(in_fit, folds, seed)
    folds = len(masks)
    chips = sorted({c.chip_id for c in cases})
    chip_of = np.array([chips.index(c.chip_id) for c in cases])
    loco_masks = np.array([in_fit & (chip_of != j) for j in range(len(chips))])
    sources = [source_of(p) for p in su.usable]
    names = sorted(set(sources))
    src_of = np.array([names.index(s) for s in sources])
    loso_masks = np.array([in_fit & (src_of != j) for j in range(len(names))])
    all_masks = np.concatenate([masks, loco_masks, loso_masks, in_fit.astype(float)[None]])
    fits = cal.fit(cases, len(su.sets), su.centre0, all_masks, steps, parent=su.parent)
    fitted = fits[-1].knobs

    # speculative and suspect points: the full fit (the last); the rest their own fold's
    cv = held_out(su, np.where(in_fit, fold, len(fits) - 1), fits)
    loco = held_out(su, folds + chip_of, fits)
    first = folds + len(chips)
    loso = held_out(su, first + src_of, fits)
    loso_default = held_out_default(su, first + src_of, fits, all_masks)
    return Benchmark(
        cases, su.sets, su.skipped, uncal, cv, loco, loso, loso_default, sources,
        [regime_of(c) for c in cases], fitted, su.defaults, in_fit, folds,
        su.parents, su.parent, fits[-1].parent_knobs,
    )  # fmt: skip


def regime_of(case: cal.Case) -> str:
    """The physical regime a point mostly tests (for the per-regime error table):
    "prefill" (TTFT: compute-bound), "sram-resident" (every resident byte fits the
    on-chip SRAM tier), "pipeline" (pp > 1 on off-chip memory), else "hbm-decode"
    (decode or throughput streaming weights and KV from HBM/GDDR/DDR)."""
    if case.metric == "ttft_ms":
        return "prefill"
    held = float(resident_bytes(case.model, case.scenario, case.mapping))
    if held <= float(case.chip.mem_capacity_bytes[0]):
        return "sram-resident"
    return "pipeline" if float(case.mapping.pp) > 1 else "hbm-decode"


def _first_chip(points: list[Point], family: str) -> str:
    return next(p.chip for p in points if load_chip_info(p.chip).family == family)


def _predict_held(points, cases, held: np.ndarray, knobs: np.ndarray) -> np.ndarray:
    """Exact predictions of the held-out cases; MLPerf operating points (batch, mapping,
    replicas) are re-chosen with the fold's knobs, as the submitter would have."""
    idx = np.flatnonzero(held)
    chosen = [
        make_case(points[i], cases[i].family, knobs[cases[i].family])
        if points[i].scenario in MLPERF
        else cases[i]
        for i in idx
    ]
    return cal.evaluate(chosen, knobs, EXACT) if chosen else np.empty(0)


# --- error tables -----------------------------------------------------------------


def ape(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Absolute percentage error |pred - meas| / meas x 100."""
    return np.abs(predicted - measured) / measured * 100.0


def summarise(keys: list[str], predicted: np.ndarray, measured: np.ndarray) -> dict[str, Any]:
    """Per key: n, median and p90 absolute % error, and signed bias (median % error)."""
    out: dict[str, Any] = {}
    keys_arr = np.asarray(keys)
    for key in sorted(set(keys)):
        sel = keys_arr == key
        err = (predicted[sel] - measured[sel]) / measured[sel] * 100.0
        out[key] = {
            "n": int(sel.sum()),
            "median_ape": float(np.median(np.abs(err))),
            "p90_ape": float(np.percentile(np.abs(err), 90)),
            "bias_pct": float(np.median(err)),
        }
    return out
