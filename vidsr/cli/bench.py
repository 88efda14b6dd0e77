"""`vidsr bench`: model, pipeline and latency benchmarks: tables, and all numbers in --json FILE."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, get_args

from vidsr.cli._ui import UI
from vidsr.config import Device

if TYPE_CHECKING:
    from vidsr.config import BackendName


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="measure frames/s: model only, the whole pipeline, or latency")
    p.add_argument("--mode", choices=("model", "pipeline", "latency"), default="model")
    p.add_argument("--model", default="small,tiny,espcn,fsrcnn",
                   help="comma-separated (default small,tiny,espcn,fsrcnn)")
    p.add_argument("--scale", default="2", help="comma-separated model scales (default 2)")
    p.add_argument(
        "--backend",
        default="auto",
        help="comma-separated: auto, tensorrt, compile, eager (default auto)",
    )
    p.add_argument(
        "--batch",
        help="comma-separated batch sizes in model mode (default 1,4); "
        "one batch size in pipeline mode (default 8, as `vidsr upscale`)",
    )
    p.add_argument("--size", default="960x540", help="input WxH in model mode (default 960x540)")
    p.add_argument("--device", choices=get_args(Device), default="auto")
    p.add_argument(
        "--input", type=Path, help="clip for pipeline/latency mode (default: bundled sample)"
    )
    p.add_argument("--frames", type=int, help="first N frames of the clip only")
    p.add_argument(
        "--min-time",
        type=float,
        default=1.0,
        help="seconds of timed runs per case in model mode (default 1)",
    )
    p.add_argument(
        "--json",
        dest="json_file",
        type=Path,
        metavar="FILE",
        help="write every number and the machine to FILE",
    )
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from vidsr import bench
    from vidsr.backends.select import resolve_device
    from vidsr.errors import ConfigError
    from vidsr.timing import matmul_gflops

    device = resolve_device(args.device)
    models = _list(args.model)
    backends = [cast("BackendName", b) for b in _list(args.backend)]  # select() checks the names
    try:
        scales = [int(s) for s in _list(args.scale)]
        batches = [int(b) for b in _list(args.batch or ("1,4" if args.mode == "model" else "8"))]
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ConfigError(
            f"--scale {args.scale!r} / --batch {args.batch!r} / --size {args.size!r}: "
            "expected lists like 2,3 and 1,4, and WxH"
        ) from None
    source = args.input or bench.SAMPLE
    machine = bench.machine()
    results: list[Any] = []
    peak = matmul_gflops(device) if args.mode == "model" else None
    for model, scale, backend in itertools.product(models, scales, backends):
        if args.mode == "model":
            for batch in batches:
                ui.info(f"{model} x{scale} {backend} batch {batch} at {width}x{height} …")
                results.append(
                    bench.bench_model(
                        model,
                        scale,
                        backend=backend,
                        batch=batch,
                        width=width,
                        height=height,
                        device=device,
                        min_time=args.min_time,
                        peak_gflops=peak,
                    )
                )
        elif args.mode == "pipeline":
            ui.info(f"{model} x{scale} {backend}: pipeline on {source} …")
            results.append(
                bench.bench_pipeline(
                    source,
                    model=model,
                    scale=scale,
                    backend=backend,
                    batch=batches[0],
                    device=device,
                    frames=args.frames,
                )
            )
        else:
            ui.info(f"{model} x{scale} {backend}: latency on {source} …")
            results.append(
                bench.bench_latency(
                    source,
                    model=model,
                    scale=scale,
                    backend=backend,
                    device=device,
                    frames=args.frames,
                )
            )
    _show(ui, args.mode, results)
    report = {
        "mode": args.mode,
        "machine": dataclasses.asdict(machine),
        "results": [dataclasses.asdict(r) for r in results],
    }
    if args.json_file is not None:
        args.json_file.parent.mkdir(parents=True, exist_ok=True)
        args.json_file.write_text(json.dumps(report, indent=2) + "\n")
        ui.info(f"wrote {args.json_file}")
    ui.result(
        f"{machine.gpu or machine.cpu} ({machine.cpu_count} cores): {len(results)} case(s)", report
    )
    return 0


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _show(ui: UI, mode: str, results: list[Any]) -> None:
    if mode == "model":
        ui.table(
            "model only (frames/s: median ± IQR; ms/frame)",
            ["case", "backend", "batch", "fps", "± IQR", "ms p50", "ms p95", "GMAC", "of floor",
             "agree dB", "GPU MiB"],
            [
                (
                    f"{r.model} x{r.scale} {r.width}x{r.height}",
                    r.backend,
                    r.batch,
                    f"{r.stats.fps_median:.1f}",
                    f"{r.stats.fps_iqr:.1f}",
                    f"{r.stats.ms_p50:.1f}",
                    f"{r.stats.ms_p95:.1f}",
                    f"{r.gmac_per_frame:.2f}",
                    "-" if r.of_floor is None else f"{r.of_floor:.0%}",
                    f"{r.agreement_db:.1f}",
                    "-" if r.peak_memory_mb is None else f"{r.peak_memory_mb:.0f}",
                )
                for r in results
            ],
        )
        for r in results[:1]:
            ui.info(f"backend: {r.reason}")
    elif mode == "pipeline":
        for r in results:
            ui.table(
                f"{r.model} x{r.scale}: {r.width}x{r.height} → {r.out_width}x{r.out_height}, "
                f"{r.frames} frames, {r.backend} on {r.device}, batch {r.batch}",
                ["stage", "alone s", "alone fps", "busy in run s"],
                [
                    (s.name, f"{s.alone_s:.3f}", f"{s.alone_fps:.1f}", f"{s.busy_s:.3f}")
                    for s in r.stages
                ],
            )
            ui.table(
                "baselines (vidsr ÷ baseline)",
                ["baseline", "fps", "vidsr ×", "measure"],
                [(b.name, f"{b.fps:.1f}", f"{b.vidsr_ratio:.2f}", b.measure) for b in r.baselines],
            )
            ui.result(
                f"end-to-end {r.end_to_end_fps:.1f} fps ({r.realtime_factor:.2f}× real time); "
                f"slowest stage alone: {r.bottleneck}; efficiency {r.efficiency:.2f} "
                f"(target ≥ 0.9); backend: {r.reason}",
                {},
            )
    else:
        ui.table(
            "latency, batch 1: decoded frame → encoded packet (ms)",
            ["case", "backend", "frames", "p50", "p95", "p99"],
            [
                (f"{r.model} x{r.scale}", r.backend, r.frames, *(f"{v:.1f}" for v in r.ms.values()))
                for r in results
            ],
        )
