"""``explorer fleet``: the least-cost fleet mix serving every latency tier."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from explorer.cli.common import save_figure, status
from explorer.model.configio import ConfigError


def add_parser(sub: Any) -> None:
    fl = sub.add_parser("fleet", help="the least-cost fleet mix serving every latency tier")
    fl.add_argument(
        "--scenario", default="frontier-2026", help="built-in id (configs/scenarios/) or a file"
    )
    fl.add_argument(
        "--objective", choices=("tco", "power", "chips"), help="overrides the scenario's"
    )
    fl.add_argument("--design-chip", action="store_true", help="add one chip designed for it")
    fl.add_argument("--plot", help="save the fleet as stacked bars (PNG/PDF/SVG)")
    fl.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Plan the scenario's fleet (explorer.fleet.plan); with --design-chip, also design one
    chip for it and re-plan with it in the catalogue (explorer.fleet.chip_design)."""
    from explorer.design.tech import load_tech
    from explorer.fleet import plan as fleet
    from explorer.fleet import report as fleet_report
    from explorer.fleet.scenario import load_scenario

    if args.plot and not Path(args.plot).parent.exists():  # fail before the work
        raise ConfigError(f"--plot: folder '{Path(args.plot).parent}' does not exist")
    scenario = load_scenario(args.scenario)
    if args.objective:
        scenario = dataclasses.replace(scenario, objective=args.objective)
    tech = fleet.scenario_tech(scenario, load_tech())
    n = len(scenario.tiers) * len(scenario.options)
    done = []

    def progress(tier: str, option: str) -> None:
        done.append(1)
        status(f"fleet: {len(done)}/{n} {tier} on {option}")

    plan = fleet.plan(scenario, tech, progress=progress)
    out = fleet_report.summary(plan, tech.economics)
    if args.design_chip:
        from explorer.fleet import chip_design

        def designing(model_id: str, memory: str) -> None:
            status(f"fleet: designing a chip ({model_id}, memory {memory})")

        out["design_chip"] = chip_design.design_for_fleet(plan, tech, progress=designing)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.plot:
        from explorer.plots import figures as plots

        save_figure(plots.fleet_bars(out), args.plot)
    return out


def text(out: dict[str, Any], args: argparse.Namespace) -> str:
    from explorer.fleet import report as fleet_report

    return fleet_report.text(out)
