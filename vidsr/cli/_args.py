"""Flags shared by the commands that run a model on video (`upscale`, `stream`)."""

from __future__ import annotations

import argparse
from typing import get_args

# Torch-free: the choices come from the same definitions the options are checked against.
from vidsr.catalog import MODELS, SCALES
from vidsr.config import BackendName, Device


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", choices=("auto", *MODELS), metavar="MODEL",
        help=f"auto (default: the best quality; for a live source, the best that keeps up), "
        f"or one of {', '.join(MODELS)}; `vidsr models` lists them",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--scale", type=int, choices=SCALES, help="model scale (default 2)")
    size.add_argument("--target", help="720p, 1080p, 1440p, 2160p or WxH (aspect kept)")
    p.add_argument("--device", choices=get_args(Device))
    p.add_argument("--backend", choices=get_args(BackendName))


def model_names(text: str | None, scale: int) -> list[str]:
    """`--model a,b` as shipped model names, `auto` (also the default) resolved the way a file
    gets it: the best-quality model at `scale`."""
    from vidsr.backends.auto import best_quality
    from vidsr.config import Options

    return [best_quality(n, scale) for n in (text or Options().model).split(",")]
