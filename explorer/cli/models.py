"""``explorer models``: model ids with key sizes."""

from __future__ import annotations

import argparse
from typing import Any

from explorer.model.configio import list_ids
from explorer.model.report import table
from explorer.model.workload import load_model


def add_parser(sub: Any) -> None:
    mo = sub.add_parser("models", help="list model ids with key sizes")
    mo.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
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


def text(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    cols = [("id", "id", ""), ("layers", "layers", "d"), ("d_model", "d_model", "d"),
            ("attention", "attention", ""), ("experts", "top-k/experts", ""),
            ("total_b", "total B", ".1f"), ("active_b", "active B", ".1f"),
            ("kv_kb_per_token", "KV kB/token (16-bit)", ".1f")]  # fmt: skip
    return table(rows, cols)
