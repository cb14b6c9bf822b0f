"""``explorer chips``: chip ids with key specs."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from explorer.model import units
from explorer.model.chip_config import load_chip, load_chip_info
from explorer.model.configio import list_ids
from explorer.model.report import table


def add_parser(sub: Any) -> None:
    ch = sub.add_parser("chips", help="list chip ids with key specs")
    ch.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for cid in list_ids("chips"):
        chip, info = load_chip(cid), load_chip_info(cid)
        cap = np.asarray(chip.mem_capacity_bytes)
        bw = np.asarray(chip.mem_bw_bytes_per_s)
        rows.append({
            "id": cid, "vendor": info.vendor,
            "bf16_tflops": float(chip.peak_flops_per_s[1]) / units.TERA,
            "fp8_tflops": float(chip.peak_flops_per_s[2]) / units.TERA,
            "sram_mb": float(cap[0]) / units.MB, "sram_tb_s": float(bw[0]) / units.TB,
            "offchip_gb": float(cap[1] + cap[2]) / units.GB,
            "offchip_tb_s": float(bw[1]) / units.TB if cap[1] > 0 else 0.0,
            "link_gb_s": float(chip.link_bw_bytes_per_s) / units.GB,
            "domain": int(chip.domain_chips), "tdp_w": float(chip.tdp_w),
            "estimated": len(info.estimated),
        })  # fmt: skip
    return rows


def text(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    cols = [("id", "id", ""), ("vendor", "vendor", ""), ("bf16_tflops", "BF16 TF/s", ".0f"),
            ("fp8_tflops", "FP8 TF/s", ".0f"), ("sram_mb", "SRAM MB", ".0f"),
            ("sram_tb_s", "SRAM TB/s", ".1f"), ("offchip_gb", "off-chip GB", ".0f"),
            ("offchip_tb_s", "off-chip TB/s", ".2f"), ("link_gb_s", "link GB/s", ".0f"),
            ("domain", "domain", "d"), ("tdp_w", "TDP W", ".0f"),
            ("estimated", "est. fields", "d")]  # fmt: skip
    return table(rows, cols)
