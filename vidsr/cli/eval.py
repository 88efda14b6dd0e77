"""`vidsr eval`: the papers' PSNR / SSIM table for a shipped model (or a weight file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vidsr.cli._ui import UI


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="PSNR / SSIM on luma (papers' protocol), model vs bicubic")
    p.add_argument("--model", required=True, help="espcn or fsrcnn")
    p.add_argument("--scale", type=int, required=True, choices=(2, 3, 4))
    p.add_argument(
        "--data",
        type=Path,
        action="append",
        required=True,
        help="a folder of HR images, e.g. ../shared/data/val/Set5 (repeatable)",
    )
    p.add_argument(
        "--weights", type=Path, help="evaluate this weight file instead of the shipped one"
    )
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from vidsr.dataset import load_images, make_pairs
    from vidsr.evaluate import evaluate
    from vidsr.models import build, load_model, weights

    if args.weights is not None:
        model = build(args.model, args.scale)
        model.load_state_dict(weights.load(args.weights)[0])
    else:
        model = load_model(args.model, args.scale)
    report = evaluate(model, make_pairs(load_images(args.data), args.scale), args.scale)
    rows: list[list[object]] = [
        [s.name, s.psnr, s.ssim, s.bicubic_psnr, s.bicubic_ssim] for s in report.images
    ]
    fields = ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim")
    means = {f: round(report.mean(f), 4 if "psnr" in f else 5) for f in fields}
    rows.append(["mean", *means.values()])
    ui.table(
        f"{args.model} x{args.scale} (Y, shave {args.scale})",
        ["image", "PSNR dB", "SSIM", "bicubic PSNR", "bicubic SSIM"],
        rows,
    )
    ui.result(
        f"{args.model} x{args.scale}: {means['psnr']:.2f} dB / {means['ssim']:.4f} "
        f"(bicubic {means['bicubic_psnr']:.2f} dB / {means['bicubic_ssim']:.4f})",
        {
            "model": args.model,
            "scale": args.scale,
            **means,
            "images": [vars(s) for s in report.images],
        },
    )
    return 0
