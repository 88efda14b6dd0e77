"""`vidsr train`: train a model's weights from still images."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from vidsr.catalog import SCALES
from vidsr.cli._ui import UI

DEFAULT_OUT = Path("vidsr/models/weights")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train a model on still images (clean or coded as streams)")
    p.add_argument("--model", required=True,
                   help="an architecture: espcn, fsrcnn, tiny, small, medium")
    p.add_argument("--scale", type=int, required=True, choices=SCALES)
    p.add_argument(
        "--data",
        type=Path,
        action="append",
        required=True,
        help="a folder of training images (repeat for several)",
    )
    p.add_argument("--val", type=Path, help="a folder of validation images (e.g. Set5)")
    p.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT,
        help=f"where {{model}}_x{{scale}}-{{sha8}}.pt is written (default {DEFAULT_OUT})",
    )
    p.add_argument("--iterations", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--patch", type=int, default=16, help="LR patch side (default 16)")
    p.add_argument(
        "--lr", type=float, default=1e-3, help="initial Adam learning rate (cosine decay)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads; a result is reproducible for one seed and thread count",
    )
    p.add_argument("--init", type=Path,
                   help="start from these weights (e.g. the x3 model; body blocks that a "
                   "shallower file lacks start as the identity)")
    p.add_argument(
        "--degrade",
        choices=("bicubic", "video"),
        default="bicubic",
        help="bicubic: the papers' clean MATLAB shrink; video: random scaler, soft or noisy "
        "sources, libx264 at a random CRF (default bicubic)",
    )
    p.add_argument("--clips", type=int, default=4000, help="--degrade video: clips to draw")
    p.add_argument("--soft-share", type=float, default=0.35,
                   help="--degrade video: share of clips whose source is blurred (default 0.35)")
    p.add_argument("--crf-range", type=_crf_range, default=(16, 36), metavar="LOW-HIGH",
                   help="--degrade video: x264 CRFs drawn, inclusive (default 16-36)")
    p.add_argument("--scalers", type=_scalers, metavar="NAME,…",
                   default=("bicubic", "bilinear", "area", "lanczos", "matlab"),
                   help="--degrade video: the scalers senders shrink with, drawn uniformly; a name "
                   "given twice is drawn twice as often (default bicubic,bilinear,area,lanczos,"
                   "matlab: swscale's four and MATLAB's)")
    p.add_argument("--loss", choices=("l2", "l1"), default="l2")
    p.add_argument("--val-every", type=int, default=1000)
    p.add_argument("--checkpoint", type=Path, help="checkpoint file, written at each validation")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from vidsr.train import Progress, TrainConfig, train

    cfg = TrainConfig(
        model=args.model,
        scale=args.scale,
        data=tuple(args.data),
        out_dir=args.out_dir,
        val=args.val,
        iterations=args.iterations,
        batch=args.batch,
        patch=args.patch,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        init=args.init,
        val_every=args.val_every,
        checkpoint=args.checkpoint,
        resume=args.resume,
        degrade=args.degrade,
        clips=args.clips,
        loss=args.loss,
        soft_share=args.soft_share,
        crf_range=args.crf_range,
        scalers=args.scalers,
        # Recorded without --out-dir/--checkpoint/--resume/--quiet/--json: they do not change
        # the weights, and the file's bytes must follow from the recipe alone.
        command=shlex.join(["vidsr", *_recipe_args(sys.argv[2:])]),
    )
    from rich.progress import TaskID

    started = time.monotonic()
    with ui.progress(f"{args.model} x{args.scale}", args.iterations, unit="it") as bar:

        def on_progress(p: Progress) -> None:
            val = f"Set5 {p.val_psnr:.2f} dB" if p.val_psnr is not None else ""
            rate = p.iteration / max(time.monotonic() - started, 1e-9)
            bar.update(TaskID(0), completed=p.iteration, rate=f"{rate:.1f} it/s",
                       extra=f"loss {p.loss:.5f} {val}")

        path = train(cfg, on_progress)
    ui.result(f"wrote {path}", {"weights": str(path)})
    return 0


def _scalers(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


def _crf_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    if not sep or not low.isdigit() or not high.isdigit():
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH, e.g. 20-38, not {text!r}")
    return int(low), int(high)


def _recipe_args(argv: list[str]) -> list[str]:
    skip_with_value = {"--out-dir", "--checkpoint"}
    skip_flag = {"--resume", "--quiet", "--json"}
    out: list[str] = ["train"]
    it = iter(argv)
    for arg in it:
        name = arg.split("=", 1)[0]
        if name in skip_with_value:
            if "=" not in arg:
                next(it, None)
        elif name not in skip_flag:
            out.append(arg)
    return out
