"""`vidsr upscale IN OUT`: upscale a video file, keeping its audio, subtitles and timing."""

from __future__ import annotations

import argparse
import time

from vidsr.cli._args import add_model_args
from vidsr.cli._ui import UI


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("upscale", help="upscale a video file (audio and subtitles copied as-is)")
    p.add_argument("input", help="input video: a path, a URL, or - for stdin")
    p.add_argument("output", help="output file; its extension picks the container (.mp4, .mkv, …)")
    p.add_argument("--config", help="a TOML config (see configs/); flags override it")
    add_model_args(p)
    p.add_argument("--batch", type=int, help="frames per inference call (default 8)")
    p.add_argument("--frames", type=int, help="first N frames only (a preview; audio trimmed too)")
    p.add_argument("--codec", help="video encoder by FFmpeg name (default libx264)")
    p.add_argument("--crf", type=int, help="libx264/libx265 quality (default 18; lower = better)")
    p.add_argument("--preset", help="libx264/libx265 speed preset (default veryfast)")
    p.add_argument("--overwrite", action="store_true", default=None,
                   help="replace OUT if it exists")
    p.add_argument("--strict", action="store_true", default=None,
                   help="fail on video packets that do not decode (default: skip and count them)")
    p.add_argument("--tile", type=_tile, metavar="auto|N",
                   help="run frames in overlapping N×N tiles (auto: only frames too big to fit)")
    p.add_argument("--resume", action="store_true", default=None,
                   help="keep finished segments beside OUT, so that running the same command "
                        "again after an interruption continues where it stopped")
    p.add_argument("--realtime", action="store_true", default=None,
                   help="--model auto picks as for a live source: the best model that keeps up "
                        "with IN's frame rate here (default: the best quality)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from rich.progress import TaskID

    from vidsr.api import upscale

    options = {k: getattr(args, k) for k in (
        "model", "scale", "target", "device", "batch", "frames", "codec", "crf", "preset",
        "overwrite", "strict", "tile", "resume", "realtime")}
    started = time.monotonic()
    with ui.progress("upscaling", None) as bar:
        def on_progress(done: int, total: int | None) -> None:
            fps = done / max(time.monotonic() - started, 1e-9)
            bar.update(TaskID(0), completed=done, total=total, rate=f"{fps:.1f} fps")

        stats = upscale(args.input, args.output, config=args.config, backend=args.backend,
                        on_progress=on_progress, **options)
    ui.result(
        f"wrote {stats.output}: {stats.frames} frames, {stats.width}x{stats.height}, "
        f"{stats.fps:.1f} fps, {_human(stats.output_bytes)} (model {stats.model_reason}; "
        f"{stats.backend}: {stats.reason})"
        + (f"; {stats.corrupt} corrupt video packet(s) skipped" if stats.corrupt else "")
        + (f"; resumed after frame {stats.resumed}" if stats.resumed else ""),
        stats.as_dict(),
    )
    return 0


def _tile(value: str) -> int | str:
    return value if value == "auto" else int(value)


def _human(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if n < 1024 or unit == "GB":
            break
    return f"{n:.1f} {unit}"
