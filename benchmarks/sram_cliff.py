"""The SRAM cliff: TPOT of Llama 3.1 70B against on-chip SRAM per chip.

A hypothetical chip (H100-class compute, 100 TB/s SRAM, optional 80 GB of HBM at
3.35 TB/s) serves llama-3.1-70b in bf16 on 8 chips (tp = 8), batch 16, prompt
1024, output 1024. SRAM runs from 0 to twice the per-chip working set. With HBM,
TPOT falls as weights and KV move into SRAM and stops falling once they all fit;
without HBM the chip does not fit below the working set. The gradient d TPOT / d SRAM
is taken through the model (exact and smooth modes) and is finite everywhere.

    python benchmarks/sram_cliff.py [--out docs/sram_cliff.png]
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

import explorer as ex
from explorer.model import units
from explorer.model.perf import resident_bytes
from explorer.model.smooth import Mode
from explorer.plots import figures as plots
from explorer.search.sweep import sweep, sweep_grad

MODEL = "llama-3.1-70b"


def hypothetical_chip(hbm: bool) -> ex.Chip:
    """H100-class compute and links, 100 TB/s SRAM, 80 GB HBM3 at 3.35 TB/s or none."""
    return ex.make_chip(
        peak_flops_per_s=989.4e12,
        sram_bytes=0.0,
        sram_bw_bytes_per_s=100e12,
        mem_bytes=80e9 if hbm else 0.0,
        mem_bw_bytes_per_s=3.35e12,
        link_bw_bytes_per_s=450e9,
        link_latency_s=6e-6,
        eff_gemm=0.7,
        eff_mem=(0.9, 0.8, 0.8),
        eff_link=0.8,
        layer_latency_s=2e-6,
        step_latency_s=50e-6,
    )


def run(points: int = 241) -> dict[str, np.ndarray | float]:
    """Sweep values for both chips; every number the plot and the test need."""
    model = ex.load_model(MODEL)
    scenario = ex.make_scenario(16, 1024, 1024)
    mapping = ex.make_mapping(tp=8)
    working = float(resident_bytes(model, scenario, mapping))
    sram = np.linspace(0.0, 2.0 * working, points)
    out: dict[str, np.ndarray | float] = {"sram_bytes": sram, "working_set_bytes": working}
    for hbm in (True, False):
        chip = hypothetical_chip(hbm)
        tag = "hbm" if hbm else "sram_only"
        m = sweep(chip, model, scenario, mapping, "mem_capacity_bytes", sram, index=0)
        out[f"{tag}_tpot_s"] = np.asarray(m.tpot_s)
        out[f"{tag}_fits"] = np.asarray(m.fits)
        for name, mode in (("exact", ex.EXACT), ("smooth", Mode(smooth=True, sharpness=50.0))):
            val, grad = sweep_grad(
                chip, model, scenario, mapping, "mem_capacity_bytes", sram, index=0, mode=mode
            )
            out[f"{tag}_{name}_tpot_s"] = np.asarray(val)
            out[f"{tag}_{name}_grad_s_per_byte"] = np.asarray(grad)
    return out


def figure(out):
    gb = out["sram_bytes"] / units.GB
    ms = 1e3
    fits = out["sram_only_fits"]
    return plots.sram_cliff(
        gb,
        {
            "80 GB HBM + SRAM (exact)": out["hbm_exact_tpot_s"] * ms,
            "80 GB HBM + SRAM (smooth, sharpness 50)": out["hbm_smooth_tpot_s"] * ms,
            "SRAM only (exact, where it fits)": np.where(
                fits, out["sram_only_tpot_s"] * ms, np.nan
            ),
        },
        {
            "HBM + SRAM, exact": out["hbm_exact_grad_s_per_byte"] * ms * units.GB,
            "HBM + SRAM, smooth": out["hbm_smooth_grad_s_per_byte"] * ms * units.GB,
        },
        out["working_set_bytes"] / units.GB,
        f"{MODEL} bf16, 8 chips tp=8, batch 16, prompt 1024, output 1024",
        infeasible_below_gb=float(gb[np.argmax(fits)]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/sram_cliff.png")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    out = run()
    figure(out).savefig(args.out, dpi=130)
    w = out["working_set_bytes"] / units.GB
    t = out["hbm_tpot_s"]
    print(f"working set per chip {w:.2f} GB")
    print(f"TPOT with HBM: {t[0] * 1e3:.3f} ms at 0 SRAM -> {t[-1] * 1e3:.3f} ms at 2x working set")
    first_fit = out["sram_bytes"][np.argmax(out["sram_only_fits"])] / units.GB
    print(f"SRAM-only chip fits from {first_fit:.2f} GB")
    finite = all(np.all(np.isfinite(v)) for k, v in out.items() if k.endswith("grad_s_per_byte"))
    print(f"gradients finite everywhere: {finite}; saved {args.out}")


if __name__ == "__main__":
    main()
