"""The `vidsr` command. The only part of vidsr that prints, draws progress or picks exit codes.

Each subcommand lives in its own module with `add_parser(subparsers)` and `run(args, ui) -> int`;
heavy imports happen inside `run`, so `vidsr --help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Sequence

from vidsr.cli._ui import UI, LogToUI
from vidsr.errors import VidsrError

# Subcommand name -> module. Listed by hand, in the order `--help` shows them.
COMMANDS = {
    "upscale": "vidsr.cli.upscale",
    "stream": "vidsr.cli.stream",
    "bench": "vidsr.cli.bench",
    "train": "vidsr.cli.train",
    "eval": "vidsr.cli.eval",
    "compare": "vidsr.cli.compare",
    "models": "vidsr.cli.models",
    "engines": "vidsr.cli.engines",
}

EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidsr",
        description="Real-time video super-resolution: small CNNs trained on coded streams.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ui = UI(quiet=getattr(args, "quiet", False), json=getattr(args, "json", False))
    logger = logging.getLogger("vidsr")
    logger.handlers[:] = [LogToUI(ui)]
    logger.propagate = False
    try:
        return int(args.run(args, ui))
    except VidsrError as exc:
        ui.error(str(exc), exc.option)
        return exc.exit_code
    except KeyboardInterrupt:
        ui.error("interrupted")
        return EXIT_INTERRUPTED
