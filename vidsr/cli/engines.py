"""`vidsr engines build|list|clear`: the TensorRT engine cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from vidsr.catalog import SCALES
from vidsr.cli._ui import UI
from vidsr.errors import ConfigError


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT (e.g. 960x540), got {text!r}") from None
    return width, height


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("engines", help="build, list or clear cached TensorRT engines")
    p.add_argument("action", choices=("build", "list", "clear"))
    p.add_argument("--engine-dir", type=Path,
                   help="engine cache (default: ./engines if present, else the user cache dir)")
    p.add_argument("--model", default="fsrcnn", help="for build: espcn or fsrcnn (default fsrcnn)")
    p.add_argument("--scale", type=int, default=2, choices=SCALES)
    p.add_argument("--size", type=_size, default=(960, 540), help="input WIDTHxHEIGHT (build)")
    p.add_argument("--batch", type=int, default=8, help="largest batch the engine takes (build)")
    p.add_argument("--device", default="cuda", help="CUDA device for build (default cuda)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from vidsr.backends import cache

    directory = args.engine_dir or cache.default_dir()
    if args.action == "list":
        found = cache.entries(directory)
        ui.table(f"engines in {directory}", ["file", "MiB", "model", "GPU", "torch-tensorrt"], [
            [e.path.name, round(e.size / 2**20, 1), *(
                [f"{e.key['model']} x{e.key['scale']}", e.key["gpu"], e.key["torch_tensorrt"]]
                if e.key else ["?", "?", "?"])]
            for e in found
        ])
        ui.result(f"{len(found)} engines in {directory}", {
            "dir": str(directory),
            "engines": [{"file": e.path.name, "bytes": e.size, "key": e.key} for e in found],
        })
    elif args.action == "clear":
        removed = cache.clear(directory)
        ui.result(f"removed {len(removed)} engines from {directory}",
                  {"dir": str(directory), "removed": [p.name for p in removed]})
    else:
        _build(args, ui, directory)
    return 0


def _build(args: argparse.Namespace, ui: UI, directory: Path) -> None:
    import torch

    from vidsr.backends.select import select

    if args.batch < 1:
        raise ConfigError(f"--batch must be at least 1, got {args.batch}")
    width, height = args.size
    ui.info(f"building TensorRT engine for {args.model} x{args.scale} at {width}x{height}, "
            f"batch ≤ {args.batch} in {directory} (minutes on first build)")
    selection = select(args.model, args.scale, backend="tensorrt", device=torch.device(args.device),
                       batch=args.batch, height=height, width=width, engine_dir=directory)
    ui.result(f"engine ready: {selection.reason}",
              {"dir": str(directory), "reason": selection.reason})
