"""`vidsr eval`: the papers' PSNR / SSIM table on still images (`--data`), or the real-stream
protocol on video (`--video`, `--pan`): PSNR, SSIM, VMAF and VMAF NEG against the player's
bicubic scaler."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidsr.catalog import SCALES
from vidsr.cli._args import model_names
from vidsr.cli._ui import UI

DEFAULT_CRFS = "18,23,30"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "eval", help="quality against bicubic: still images (papers) or real compressed video"
    )
    p.add_argument(
        "--model",
        help="models to evaluate, comma-separated (default: the default model)",
    )
    p.add_argument("--scale", type=int, required=True, choices=SCALES)
    what = p.add_argument_group("what to evaluate on (one kind)")
    what.add_argument(
        "--data", type=Path, action="append", default=[],
        help="a folder of HR images, e.g. ../shared/data/val/Set5 (papers' protocol; repeatable)",
    )
    what.add_argument(
        "--video", type=Path, action="append", default=[],
        help="an HR clip: shrunk, coded at each --crf, upscaled by each model (repeatable)",
    )
    what.add_argument(
        "--pan", type=Path, nargs="+", default=[],
        help="HR stills, each turned into a crisp clip by a slowly panning window",
    )
    p.add_argument(
        "--weights", type=Path, action="append", default=[],
        help="also evaluate this weight file (its architecture read from it; repeatable)",
    )
    p.add_argument("--crf", default=DEFAULT_CRFS, help=f"video: x264 CRFs (default {DEFAULT_CRFS})")
    p.add_argument(
        "--scaler", default="bicubic",
        help="video: swscale scalers that shrink the clip, comma-separated (default bicubic)",
    )
    p.add_argument("--frames", type=int, default=30,
                   help="video: frames per clip or pan (default 30)")
    p.add_argument("--no-vmaf", action="store_true", help="video: skip VMAF (it is the slow part)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from vidsr.errors import ConfigError

    kinds = [k for k in ("data", "video", "pan") if getattr(args, k)]
    if len(kinds) != 1:
        raise ConfigError("give one of --data (still images), --video or --pan")
    models = _models(args)
    if kinds[0] == "data":
        return _stills(args, ui, models)
    return _video(args, ui, models)


@dataclass(frozen=True)
class Row:
    name: str  # as the table shows it: the model's name, or the weight file's stem
    model: Any  # torch.nn.Module, eval mode
    shipped: bool


def _models(args: argparse.Namespace) -> list[Row]:
    """Shipped models by name, then weight files."""
    from vidsr.models import build, load_model, weights

    names = [] if args.weights and not args.model else model_names(args.model, args.scale)
    rows = [Row(n, load_model(n, args.scale), True) for n in names]
    for path in args.weights:
        state, meta = weights.load(path)
        model = build(meta["arch"], args.scale)
        model.load_state_dict(state)
        rows.append(Row(path.stem, model.eval(), False))
    return rows


def _stills(args: argparse.Namespace, ui: UI, models: list[Row]) -> int:
    from vidsr.dataset import load_images, make_pairs
    from vidsr.evaluate import evaluate

    pairs = make_pairs(load_images(args.data), args.scale)
    fields = ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim")
    results = []
    for row in models:
        name, report = row.name, evaluate(row.model, pairs, args.scale)
        means = {f: round(report.mean(f), 4 if "psnr" in f else 5) for f in fields}
        rows: list[list[object]] = [
            [s.name, s.psnr, s.ssim, s.bicubic_psnr, s.bicubic_ssim] for s in report.images
        ]
        ui.table(f"{name} x{args.scale} (Y, shave {args.scale})",
                 ["image", "PSNR dB", "SSIM", "bicubic PSNR", "bicubic SSIM"],
                 [*rows, ["mean", *means.values()]])
        results.append({"model": name, "scale": args.scale, **means,
                        "images": [vars(s) for s in report.images]})
    line = "; ".join(
        f"{r['model']} x{args.scale}: {r['psnr']:.2f} dB / {r['ssim']:.4f} "
        f"(bicubic {r['bicubic_psnr']:.2f} dB / {r['bicubic_ssim']:.4f})" for r in results
    )
    ui.result(line, results[0] if len(results) == 1 else {"models": results})
    return 0


def _video(args: argparse.Namespace, ui: UI, models: list[Row]) -> int:
    import torch
    from rich.progress import TaskID

    from vidsr.backends.eager import EagerBackend
    from vidsr.dataset import read_rgb
    from vidsr.errors import BackendUnavailable, ConfigError
    from vidsr.models.graph import inference_graph
    from vidsr.video_eval import (
        PLAYER,
        SCALERS,
        evaluate_stream,
        pan_clip,
        pipeline_upscaler,
        read_clip,
    )

    try:
        crfs = [int(c) for c in args.crf.split(",")]
    except ValueError as exc:
        raise ConfigError(f"--crf takes comma-separated integers, not {args.crf!r}") from exc
    with_vmaf = not args.no_vmaf
    if with_vmaf:
        try:
            import vmaf_torch  # noqa: F401
        except ImportError:
            ui.warn("no VMAF columns: pip install 'vidsr[vmaf]' to get them")
            with_vmaf = False
    clips = [read_clip(p, args.scale, args.frames) for p in args.video]
    clips += [pan_clip(p.stem, read_rgb(p), args.scale, args.frames) for p in args.pan]
    # Shipped models run as users run them (backend auto); a weight file on an eager backend of
    # its own, under `model="auto"` (its architecture may ship no weights of its own to name).
    upscalers = [
        (row.name, pipeline_upscaler(row.name, args.scale, "auto") if row.shipped else
         pipeline_upscaler("auto", args.scale,
                           EagerBackend(inference_graph(row.model), torch.device("cpu"))))
        for row in models
    ]
    scalers = args.scaler.split(",")
    if unknown := set(scalers) - set(SCALERS):
        raise ConfigError(f"unknown --scaler {', '.join(sorted(unknown))}; choose from "
                          f"{', '.join(SCALERS)}")
    results = []
    total = len(clips) * len(scalers) * len(crfs)
    with ui.progress(f"eval x{args.scale}", total, unit="streams") as bar:
        for clip in clips:
            for scaler in scalers:
                for crf in crfs:
                    try:
                        results.append(evaluate_stream(clip, args.scale, scaler, crf, upscalers,
                                                       with_vmaf=with_vmaf))
                    except BackendUnavailable as exc:
                        raise ConfigError(str(exc)) from exc
                    bar.update(TaskID(0), completed=len(results), rate="", extra=clip.name)
    for r in results:
        ref = r.rows[PLAYER]
        ui.table(
            f"{r.clip} x{args.scale}, {r.scaler}, CRF {r.crf} ({r.kbps:.0f} kbit/s); Y, shave "
            f"{args.scale}",
            ["row", "PSNR", "Δ", "SSIM", "VMAF", "Δ", "VMAF NEG", "Δ"],
            [[name, f"{s.psnr:.2f}", f"{s.psnr - ref.psnr:+.2f}", f"{s.ssim:.4f}", _num(s.vmaf),
              _delta(s.vmaf, ref.vmaf), _num(s.vmaf_neg), _delta(s.vmaf_neg, ref.vmaf_neg)]
             for name, s in r.rows.items()],
        )
    summary = _mean_gains(results)
    ui.result(
        "; ".join(f"{name} CRF {crf}: {g['psnr']:+.2f} dB" + (
            f", VMAF NEG {g['vmaf_neg']:+.1f}" if g["vmaf_neg"] is not None else "")
            for (name, crf), g in summary.items()),
        {"scale": args.scale, "frames": args.frames,
         "streams": [{"clip": r.clip, "scaler": r.scaler, "crf": r.crf, "kbps": r.kbps,
                      "rows": {n: vars(s) for n, s in r.rows.items()}} for r in results],
         "mean_gain": [{"model": n, "crf": c, **g} for (n, c), g in summary.items()]},
    )
    return 0


def _mean_gains(results: list[Any]) -> dict[tuple[str, int], dict[str, float | None]]:
    """Per model and CRF, the mean over clips of each metric's gain over the player."""
    from vidsr.video_eval import PLAYER

    gains: dict[tuple[str, int], dict[str, list[float]]] = {}
    for r in results:
        ref = r.rows[PLAYER]
        for name, s in r.rows.items():
            if name == PLAYER:
                continue
            g = gains.setdefault((name, r.crf), {m: [] for m in ("psnr", "ssim", "vmaf",
                                                                 "vmaf_neg")})
            for metric in g:
                if getattr(s, metric) is not None:
                    g[metric].append(getattr(s, metric) - getattr(ref, metric))
    return {k: {m: (round(sum(v) / len(v), 4) if v else None) for m, v in g.items()}
            for k, g in gains.items()}


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def _delta(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a - b:+.1f}"
