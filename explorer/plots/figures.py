"""Matplotlib figures. Each function takes numbers and returns a Figure; no model logic."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def sram_cliff(
    sram_gb: np.ndarray,
    curves: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    working_set_gb: float,
    title: str,
    infeasible_below_gb: float | None = None,
) -> Figure:
    """TPOT (ms) against SRAM capacity per chip, and d TPOT / d SRAM (ms per GB).

    curves, grads: label -> values at each sram_gb (NaN where not to draw).
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6.5), sharex=True)
    for label, y in curves.items():
        top.plot(sram_gb, y, label=label, lw=2)
    for label, g in grads.items():
        bottom.plot(sram_gb, g, label=label, lw=2)
    for ax in (top, bottom):
        ax.axvline(working_set_gb, color="k", ls="--", lw=1)
        ax.grid(alpha=0.3)
    if infeasible_below_gb is not None:
        top.axvspan(0, infeasible_below_gb, color="tab:red", alpha=0.08)
        top.text(
            infeasible_below_gb * 0.5,
            top.get_ylim()[1] * 0.9,
            "SRAM-only chip:\ndoes not fit",
            ha="center",
            va="top",
            color="tab:red",
        )
    top.text(working_set_gb, top.get_ylim()[1] * 0.98, " working set", va="top")
    top.set_ylabel("TPOT (ms)")
    top.set_title(title, fontsize=10)
    top.legend(fontsize=8)
    bottom.set_ylabel("d TPOT / d SRAM (ms per GB)")
    bottom.set_xlabel("on-chip SRAM per chip (GB)")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    return fig


def parity(
    measured: np.ndarray,
    predicted: dict[str, np.ndarray],
    vendors: list[str],
    title: str,
) -> Figure:
    """Log-log parity plot: one panel per prediction set, 1:1 line, +-25% band,
    colours per vendor."""
    names = sorted(set(vendors))
    colours = {v: plt.get_cmap("tab10")(i) for i, v in enumerate(names)}
    fig, axes = plt.subplots(1, len(predicted), figsize=(5.2 * len(predicted), 5.0))
    axes = np.atleast_1d(axes)
    lo = min(measured.min(), *(p.min() for p in predicted.values())) / 2
    hi = max(measured.max(), *(p.max() for p in predicted.values())) * 2
    line = np.geomspace(lo, hi, 50)
    for ax, (label, pred) in zip(axes, predicted.items(), strict=True):
        ax.fill_between(line, line / 1.25, line * 1.25, color="0.85", label="+-25%")
        ax.plot(line, line, "k-", lw=1, label="1:1")
        for v in names:
            sel = np.asarray(vendors) == v
            ax.scatter(measured[sel], pred[sel], s=22, color=colours[v], label=v, alpha=0.85)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ape = np.median(np.abs(pred - measured) / measured) * 100
        ax.set_title(f"{label}: median APE {ape:.1f}%", fontsize=10)
        ax.set_xlabel("measured (metric's own unit)")
        ax.set_ylabel("predicted")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def pareto_front(
    front: list[tuple[float, float, bool]],
    references: dict[str, list[tuple[float, float]]],
    title: str,
    ylabel: str = "cost per million output tokens ($)",
) -> Figure:
    """Designed front (TPOT ms, objective, feasible) and reference chips' configurations
    (TPOT ms, objective) on log-log axes."""
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    for i, (name, pts) in enumerate(sorted(references.items())):
        pts = sorted(pts)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=4, lw=1, alpha=0.8,
                color=plt.get_cmap("tab20")(i % 20), label=name)  # fmt: skip
    ok = [p for p in front if p[2]]
    bad = [p for p in front if not p[2]]
    if ok:
        ax.plot([p[0] for p in ok], [p[1] for p in ok], "k*-", ms=12, lw=2.5,
                label="optimised design (feasible)")  # fmt: skip
    if bad:
        ax.plot([p[0] for p in bad], [p[1] for p in bad], "kx", ms=10,
                label="optimised design (infeasible)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("TPOT (ms per token, batch as stated)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def fleet_bars(out: dict) -> Figure:
    """The fleet by tier (bars) and chip type (stacks): IT power and TCO per year, with
    the chips of each stack written on it (``explorer fleet --plot``)."""
    tiers = [t for t in out["tiers"] if t["columns"]]
    options = sorted({r["option"] for t in tiers for r in t["columns"]})
    colours = {o: plt.get_cmap("tab10")(i % 10) for i, o in enumerate(options)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, key, label in (
        (axes[0], "power_mw", "IT power (MW, provisioned)"),
        (axes[1], "tco_musd_per_year", "TCO ($M per year)"),
    ):
        bottom = np.zeros(len(tiers))
        for o in options:
            vals = np.array([sum(r[key] for r in t["columns"] if r["option"] == o) for t in tiers])
            chips = [sum(r["chips"] for r in t["columns"] if r["option"] == o) for t in tiers]
            ax.bar(range(len(tiers)), vals, bottom=bottom, color=colours[o], label=o)
            for i, (v, n) in enumerate(zip(vals, chips, strict=True)):
                if v > 0.04 * max(float(np.max(bottom + vals)), 1e-9):
                    ax.text(i, bottom[i] + v / 2, f"{n:,}", ha="center", va="center", fontsize=7)
            bottom += vals
        ax.set_xticks(range(len(tiers)))
        ax.set_xticklabels([f"{t['id']}\nTPOT<={t['tpot_slo_ms']:g} ms" for t in tiers], fontsize=8)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, title="chip (number = chips)", title_fontsize=8)
    tot = out["totals"]
    fig.suptitle(
        f"fleet '{out['scenario']}': {tot['chips']:,} chips, {tot['power_mw']:.0f} MW, "
        f"TCO ${tot['tco_musd_per_year']:.0f}M/yr (least {out['objective']})",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
