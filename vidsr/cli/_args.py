"""Flags shared by the commands that run a model on video (`upscale`, `stream`)."""

from __future__ import annotations

import argparse


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        help="auto (default: the best quality that keeps up with a live source), small, tiny, "
        "espcn or fsrcnn; `vidsr models` lists them",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--scale", type=int, choices=(2, 3, 4), help="model scale (default 2)")
    size.add_argument("--target", help="720p, 1080p, 1440p, 2160p or WxH (aspect kept)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--backend", choices=("auto", "tensorrt", "compile", "eager"))


def model_names(text: str | None, scale: int) -> list[str]:
    """`--model a,b` as shipped model names, `auto` (also the default) resolved the way a file
    gets it: the best-quality model at `scale`."""
    from vidsr.backends.auto import best_quality
    from vidsr.config import Options

    return [best_quality(n, scale) for n in (text or Options().model).split(",")]
