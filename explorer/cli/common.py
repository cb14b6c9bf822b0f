"""What several subcommands share: the scenario flags, loading --chip or --chip-file,
--folds, saving a figure, a progress line."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from explorer.model.chip_config import load_chip, load_chip_file, load_chip_info
from explorer.model.configio import ConfigError
from explorer.model.workload import make_scenario


def scenario_from_args(args: argparse.Namespace, batch: float | None = None):
    return make_scenario(
        batch=args.batch if batch is None else batch,
        prompt_tokens=args.prompt,
        output_tokens=args.output,
        prefill_batch=getattr(args, "prefill_batch", None),
        precision=args.precision,
        kv_precision=getattr(args, "kv_precision", None),
        spec_k=getattr(args, "spec_k", 0),
        spec_accept=getattr(args, "spec_accept", 0.0),
    )


def load_any_chip(args: argparse.Namespace, calibrated: bool):
    """(Chip, ChipInfo, Design or None) from --chip ID or --chip-file (chip or design)."""
    if not args.chip_file:
        year = getattr(args, "year", None)
        return load_chip(args.chip, calibrated, year), load_chip_info(args.chip), None
    from explorer.design.design_file import is_design_file, load_design_chip
    from explorer.model.configio import read_toml

    if is_design_file(read_toml(args.chip_file)):
        return load_design_chip(args.chip_file)
    chip, info = load_chip_file(args.chip_file, calibrated)
    return chip, info, None


def folds(args: argparse.Namespace) -> int:
    if args.folds < 0 or args.folds == 1:
        raise ConfigError(
            f"{args.command}: --folds must be 0 (leave-one-out) or >= 2, got {args.folds}"
        )
    return args.folds


def save_figure(fig, path: str) -> None:
    """Save atomically: render to a temporary file, then rename."""
    target = Path(path)
    if not target.parent.exists():
        raise ConfigError(f"--plot: folder '{target.parent}' does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=target.suffix or ".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=130)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def status(line: str) -> None:
    """Overwrite one progress line on a terminal's stderr (nothing when redirected)."""
    if sys.stderr.isatty():
        print(f"\r{line}" + " " * 20, end="", file=sys.stderr, flush=True)
