"""`vidsr upscale IN OUT`: upscale a video file, keeping its audio, subtitles and timing;
`vidsr upscale IN… OUTDIR/`: many files (folders, globs) into a folder, one output each."""

from __future__ import annotations

import argparse
import glob
import time
from pathlib import Path
from typing import Any

from vidsr.cli._args import add_model_args
from vidsr.cli._ui import UI


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("upscale", help="upscale a video file (audio and subtitles copied as-is)")
    p.add_argument("input", nargs="+",
                   help="input video: a path, a URL, or - for stdin; or several files, folders "
                        "and globs, upscaled one output each into the folder OUT")
    p.add_argument("output", help="output file; its extension picks the container (.mp4, .mkv, …); "
                                  "a folder (ending in /) for many inputs")
    p.add_argument("--name", help="many inputs: each output's name, from {stem}, {ext}, "
                                  "{height}, {width} (default {stem}{ext}); existing ones are "
                                  "skipped unless --overwrite")
    p.add_argument("--cluster", metavar="ray[://HOST:PORT]",
                   help="upscale segments on a Ray cluster: ray starts one on this machine, "
                        "ray://HOST:10001 joins a running one (pip install 'vidsr[ray]'; files "
                        "must be on storage every node sees under the same path)")
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
    p.add_argument("--quiet", action="store_true", help="nothing but errors")
    p.add_argument("--json", action="store_true",
                   help="print one JSON summary on stdout (for many inputs: of the whole job)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    options = {k: getattr(args, k) for k in (
        "model", "scale", "target", "device", "batch", "frames", "codec", "crf", "preset",
        "overwrite", "strict", "tile", "resume", "realtime")}
    if _many(args.input, args.output):
        return _run_many(args, ui, options)  # each file resumable, whatever --resume says
    if args.name is not None:
        ui.warn("--name names the outputs of many inputs; OUT is the file name here")
    return _run_one(args, ui, options)


def _many(inputs: list[str], output: str) -> bool:
    """A job of many files: several inputs, a folder or a glob in, or a folder out."""
    return (len(inputs) > 1 or output.endswith("/") or Path(output).is_dir()
            or any(Path(i).is_dir() or (not Path(i).exists() and glob.has_magic(i))
                   for i in inputs))


def _run_one(args: argparse.Namespace, ui: UI, options: dict[str, Any]) -> int:
    from rich.progress import TaskID

    from vidsr.api import upscale

    started = time.monotonic()
    with ui.progress("upscaling", None) as bar:
        def on_progress(done: int, total: int | None) -> None:
            fps = done / max(time.monotonic() - started, 1e-9)
            bar.update(TaskID(0), completed=done, total=total, rate=f"{fps:.1f} fps")

        stats = upscale(args.input[0], args.output, config=args.config, backend=args.backend,
                        cluster=args.cluster, on_progress=on_progress, **options)
    ui.result(
        f"wrote {stats.output}: {stats.frames} frames, {stats.width}x{stats.height}, "
        f"{stats.fps:.1f} fps, {_human(stats.output_bytes)} (model {stats.model_reason}; "
        f"{stats.backend}: {stats.reason})"
        + (f"; {stats.corrupt} corrupt video packet(s) skipped" if stats.corrupt else "")
        + (f"; resumed after frame {stats.resumed}" if stats.resumed else ""),
        stats.as_dict(),
    )
    return 0


def _run_many(args: argparse.Namespace, ui: UI, options: dict[str, Any]) -> int:
    from rich.progress import TaskID

    from vidsr.jobs import NAME, JobProgress, upscale_many

    started = time.monotonic()
    with ui.progress("upscaling", None) as bar:
        def on_progress(p: JobProgress) -> None:
            fps = p.frames_done / max(time.monotonic() - started, 1e-9)
            bar.update(TaskID(0), completed=p.frames_done, total=p.frames,
                       rate=f"{fps:.1f} fps", extra=f"files {p.files_done}/{p.files}",
                       description=Path(p.current).name)

        job = upscale_many(args.input, args.output, name=args.name or NAME, config=args.config,
                           backend=args.backend, cluster=args.cluster, on_progress=on_progress,
                           **options)
    ui.table(f"{len(job.files)} file(s) into {args.output}", ["file", "frames", "time", "fps",
                                                            "status"],
             [[Path(f.input).name, f.frames, f"{f.seconds:.1f} s", f"{f.fps:.1f}", f.status]
              for f in job.files])
    for f in job.files:
        if f.error is not None:
            ui.error(f.error, f.option)
    done = sum(f.status == "done" for f in job.files)
    skipped = sum(f.status == "skipped" for f in job.files)
    ui.result(f"{done} upscaled, {skipped} skipped (output exists), {job.failed} failed; "
              f"{job.frames} frames in {job.seconds:.1f} s", job.as_dict())
    return 1 if job.failed else 0


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
