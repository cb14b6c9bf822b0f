"""Repeated design searches in one process: does the second reuse compiled code?

    python -m benchmarks.search_reuse                 # SRAM-only (torus), node N4
    python -m benchmarks.search_reuse --nodes all     # every node of configs/cost.toml

Three calls of ``explorer.search.design_search.search`` for llama-3.1-70b at batch 1
(TPOT targets 1, 2 and 1 ms: same static structure, different numbers), each timed
wall-clock with JAX's trace, lower and XLA-compile time split off
(benchmarks.speed.compile_seconds). Not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import time

import explorer as ex
from benchmarks.speed import compile_seconds
from explorer.design.tech import load_tech
from explorer.search import design_search as search


def run(memory: str = "none", fabric: str = "torus", nodes: str = "N4") -> list[dict]:
    tech = load_tech()
    model = ex.load_model("llama-3.1-70b")
    scenario = ex.make_scenario(1, 1024, 256)
    node = tuple(tech.nodes) if nodes == "all" else nodes
    out = []
    for tpot_ms in (1.0, 2.0, 1.0):
        targets = search.Targets(tpot_s=tpot_ms / 1e3)
        with compile_seconds() as spent:
            t0 = time.perf_counter()
            found = search.search(model, scenario, targets, tech, memory, node, fabric=fabric)
            wall = time.perf_counter() - t0
        compiling = spent["trace_s"] + spent["lower_s"] + spent["xla_compile_s"]
        out.append(
            dict(
                tpot_ms=tpot_ms,
                wall_s=round(wall, 2),
                compiling_s=round(compiling, 2),
                rest_s=round(wall - compiling, 2),
                feasible=bool(found.feasible),
                objective=round(found.objective, 3),
                node=found.design.node,
                dies=float(found.design.dies),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", default="none")
    parser.add_argument("--fabric", default="torus")
    parser.add_argument("--nodes", default="N4", help="a node name, or all")
    a = parser.parse_args()
    for row in run(a.memory, a.fabric, a.nodes):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
