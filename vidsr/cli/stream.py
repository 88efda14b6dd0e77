"""`vidsr stream`: enhance a live stream (UDP, RTMP, RTSP, SRT, HTTP, a pipe) with little delay."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from vidsr.cli._args import add_model_args
from vidsr.cli._ui import UI

if TYPE_CHECKING:
    from vidsr.live import LiveStats


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("stream", help="enhance a live stream and send it on",
                       description="INPUT: any URL FFmpeg opens, or - for stdin. OUTPUT: udp://… "
                       "(MPEG-TS), rtmp://… (FLV), - (MPEG-TS on stdout), a file, or a .m3u8 "
                       "playlist (HLS, segments beside it).")
    p.add_argument("input", help="source URL, device, or - (stdin)")
    p.add_argument("output", help="udp://…, rtmp://…, -, a file or a .m3u8 playlist")
    p.add_argument("--config", help="a TOML config, e.g. configs/stream-low-latency.toml; "
                   "flags override it")
    add_model_args(p)
    p.add_argument("--max-batch", type=int, help="frames per model call at most")
    p.add_argument("--max-wait-ms", type=float,
                   help="how long a partial batch waits for more frames")
    p.add_argument("--when-behind", choices=("drop", "block"),
                   help="drop: skip the oldest queued frames; block: back-pressure the source")
    p.add_argument("--reconnect", type=int,
                   help="reconnect attempts after the source stalls or drops")
    p.add_argument("--timeout", type=float,
                   help="seconds without data before the source counts as stalled")
    p.add_argument("--codec", help="encoder (default libx264, tuned for zero latency)")
    p.add_argument("--preset")
    p.add_argument("--crf", type=int)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true", help="print a JSON line of stats every second")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    import dataclasses

    from vidsr.config import Options, load
    from vidsr.live import stream

    opts = (load(args.config) if args.config else Options()).override(
        model=args.model, scale=args.scale, target=args.target, device=args.device,
        backend=args.backend, codec=args.codec, preset=args.preset, crf=args.crf)
    live = {"max_batch": args.max_batch, "max_wait_ms": args.max_wait_ms,
            "when_behind": args.when_behind, "reconnect": args.reconnect,
            "timeout": args.timeout}
    opts = dataclasses.replace(opts, stream=dataclasses.replace(
        opts.stream, **{k: v for k, v in live.items() if v is not None}))
    stop = threading.Event()
    # With `-` as OUTPUT stdout carries the video, so stats and the summary go to stderr.
    report = sys.stderr if args.output == "-" else sys.stdout

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()  # the loop flushes the encoder and closes the output, then we exit 0

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    status = ui.err.status("connecting…") if not (ui.quiet or ui.json) else None

    def on_stats(s: LiveStats) -> None:
        if ui.json:
            print(json.dumps({"event": "stats", **s.as_dict()}), file=report, flush=True)
        elif status is not None:
            status.update(_line(s))

    try:
        if status is not None:
            status.start()
        final = stream(args.input, args.output, opts, stop=stop, on_stats=on_stats)
    finally:
        if status is not None:
            status.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    summary = (f"streamed {final.frames_out} frames ({final.width}×{final.height}), "
               f"{final.dropped} dropped, added latency p50 {final.latency_ms['p50']:.0f} ms / "
               f"p95 {final.latency_ms['p95']:.0f} ms")
    if report is sys.stdout:
        ui.result(summary, {"event": "done", **final.as_dict()})
    elif ui.json:
        print(json.dumps({"event": "done", **final.as_dict()}), file=report, flush=True)
    else:
        ui.info(summary)
    return 0


def _line(s: LiveStats) -> str:
    if not s.frames_in and s.before_keyframe:
        return f"waiting for a keyframe ({s.before_keyframe} packets skipped)"
    return (f"{s.model or 'choosing a model'} · in {s.input_fps:5.1f} fps · "
            f"out {s.output_fps:5.1f} fps · dropped {s.dropped} · "
            f"queue {s.queue_depth} · added latency p50 {s.latency_ms['p50']:.0f} ms "
            f"p95 {s.latency_ms['p95']:.0f} ms")
