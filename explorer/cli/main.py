"""The ``explorer`` command: parse, call the library, print. No model logic here.

Bad input exits 2 with one line on stderr (``--debug`` re-raises with a traceback).
Each subcommand is a module with ``add_parser(sub)``, ``run(args) -> out`` and
``text(out, args) -> str``; ``--json`` prints ``out`` as JSON instead of the text.
"""

from __future__ import annotations

import argparse
import json
import sys

from explorer.cli import (
    benchmark,
    calibrate,
    chips,
    compare,
    cost,
    fleet,
    models,
    optimize,
    pareto,
    predict,
)
from explorer.model.configio import ConfigError

# The one dispatch table: subcommand -> its module, in the order of `explorer --help`.
COMMANDS = {
    "predict": predict,
    "benchmark": benchmark,
    "calibrate": calibrate,
    "compare": compare,
    "optimize": optimize,
    "pareto": pareto,
    "fleet": fleet,
    "cost": cost,
    "chips": chips,
    "models": models,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise ConfigError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="explorer", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (tests call this in-process)."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        command = COMMANDS[args.command]
        out = command.run(args)
        print(json.dumps(out, indent=2) if args.json else command.text(out, args))
    except ConfigError as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def main() -> None:
    """Console entry point. Compiled XLA programs are cached on disk between runs
    (``EXPLORER_CACHE_DIR``, default ~/.cache/explorer/jax; set it to "" to disable), so a
    second ``explorer predict`` skips most of its compilation."""
    import os

    cache = os.environ.get("EXPLORER_CACHE_DIR", os.path.expanduser("~/.cache/explorer/jax"))
    if cache:
        import jax

        jax.config.update("jax_compilation_cache_dir", cache)
    sys.exit(run())
