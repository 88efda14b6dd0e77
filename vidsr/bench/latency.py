"""Latency mode: batch 1, from a decoded frame to its encoded packet; and the live harness (a
paced test-pattern sender and the added-latency measurement of `vidsr stream`)."""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from vidsr.backends import Backend
from vidsr.bench.clips import SAMPLE, prepare
from vidsr.config import BackendName, Options
from vidsr.errors import NotAVideo
from vidsr.live import LiveStats, stream
from vidsr.live.writer import live_encoder
from vidsr.pipeline import Upscaler
from vidsr.sink import Sink, open_output, output_format
from vidsr.timing import percentiles


@dataclass(frozen=True)
class LatencyResult:
    input: str
    frames: int  # measured (after warm-up)
    model: str
    scale: int
    backend: str
    reason: str
    device: str
    ms: dict[str, float]  # p50 / p95 / p99, decoded frame in -> encoded packet out


def bench_latency(
    path: Path = SAMPLE,
    *,
    model: str = "espcn",
    scale: int = 2,
    backend: BackendName = "auto",
    device: torch.device,
    frames: int | None = None,
    warmup: int = 3,
) -> LatencyResult:
    """Per-frame latency at batch 1 from a decoded frame to its muxed packet, through the
    pipeline's Upscaler and the Sink with the encoder `vidsr stream` runs (`live_encoder`)."""
    clip = prepare(path, model, scale, backend, 1, device, frames)
    batches, info, geometry, selection = clip.batches, clip.info, clip.geometry, clip.selection
    up = Upscaler(selection.backend, geometry)
    seconds: list[float] = []
    started: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="vidsr-bench-") as tmp:
        path_out = Path(tmp) / "latency.ts"
        sink = Sink(open_output(path_out, path_out), name=str(path_out), info=info,
                    width=geometry.width, height=geometry.height,
                    encoder=live_encoder(Options()))
        try:
            for i, b in enumerate(batches):
                started[b.pts[0]] = time.perf_counter()
                done, ready = up(b)
                if ready is not None:
                    ready.synchronize()
                muxed = sink.write(done)
                seconds += [time.perf_counter() - started[p] for p in muxed if i >= warmup]
            sink.close()
        finally:
            selection.backend.close()
    if not seconds:
        raise NotAVideo(f"{path}: too few frames for a latency measurement (warm-up is {warmup})")
    return LatencyResult(
        input=str(path),
        frames=len(seconds),
        model=model,
        scale=scale,
        backend=selection.backend.name,
        reason=selection.reason,
        device=str(device),
        ms=percentiles([1000.0 * s for s in seconds]),
    )


def send_pattern(url: str, *, width: int, height: int, fps: int, seconds: float,
                 stop: threading.Event | None = None, audio: bool = True,
                 format: str | None = None, keyframe_every: int | None = None) -> int:
    """Send a moving gradient (and a 440 Hz tone) to `url` in real time; returns frames sent.

    MPEG-TS unless `format` says otherwise (`flv` for RTMP). A keyframe every `keyframe_every`
    frames, by default every second so that a receiver that joins late starts within one.
    """
    fmt = format or output_format(url)[0] or "mpegts"
    rate = 48_000
    with av.open(url, "w", format=fmt) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = keyframe_every or fps
        video.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency"}
        sound = out.add_stream("aac", rate=rate, layout="mono") if audio else None
        yy, xx = np.mgrid[0:height, 0:width]
        started = time.monotonic()
        frames = round(seconds * fps)
        sent_samples = 0
        for i in range(frames):
            if stop is not None and stop.is_set():
                return i
            delay = started + i / fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            luma = ((xx + yy + 3 * i) * 2 % 220 + 16).astype(np.uint8)
            chroma = np.full((height // 2, width), 128, np.uint8)
            frame = av.VideoFrame.from_ndarray(np.concatenate([luma, chroma]), format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
            while sound is not None and sent_samples < (i + 1) * rate // fps:
                t = np.arange(sent_samples, sent_samples + 1024) / rate
                tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
                chunk = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                chunk.sample_rate, chunk.time_base = rate, Fraction(1, rate)
                chunk.pts = sent_samples
                out.mux(sound.encode(chunk))
                sent_samples += 1024
        out.mux(video.encode(None))
        if sound is not None:
            out.mux(sound.encode(None))
    return frames


def free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure_latency(*, width: int = 320, height: int = 180, fps: int = 30, seconds: float = 10.0,
                    opts: Options | None = None,
                    backend: Backend | None = None) -> dict[str, float | str]:
    """Added latency (ms, packet read → packet muxed) and sustained output fps of a live run.

    A paced test pattern goes over loopback UDP into `stream`, which writes MPEG-TS to a
    temporary file. Set `fps` above what the model sustains to find its ceiling (with `drop`,
    the excess is dropped and counted).
    """
    import tempfile

    port = free_udp_port()
    stop = threading.Event()
    rates: list[float] = []

    def on_stats(s: LiveStats) -> None:
        if s.frames_out:
            rates.append(s.output_fps)

    def send() -> None:
        time.sleep(0.5)  # let the receiver bind first
        send_pattern(f"udp://127.0.0.1:{port}?pkt_size=1316", width=width, height=height,
                     fps=fps, seconds=seconds, stop=stop)
        time.sleep(0.5)
        stop.set()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    with tempfile.TemporaryDirectory() as tmp:
        final = stream(f"udp://127.0.0.1:{port}", str(Path(tmp) / "out.ts"), opts,
                       backend=backend, stop=stop, on_stats=on_stats)
    sender.join()
    steady = rates[1:-1] or rates  # the first and last intervals are partial
    return {**{f"{k}_ms": v for k, v in final.latency_ms.items()},
            "fps": float(np.median(steady)) if steady else 0.0,
            "frames_in": final.frames_in, "frames_out": final.frames_out,
            "dropped": final.dropped, "model": final.model, "model_reason": final.model_reason}
