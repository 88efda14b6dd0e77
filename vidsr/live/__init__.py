"""Live enhancement: a network (or piped) stream in, the same stream upscaled out, little delay.

    reader thread: probe.open_input(live) (reconnect with back-off) → demux → probe.decode ─┐
                   audio packets pass through untouched ─────────────────────────────────────┤
                                                        LiveQueue (bounded; drop or block) ◀─┘
    caller's thread: small time-bounded batch → frames.batch_of → Upscaler → Sink (live encoder)

The file path's parts do the work (probe, frame conversion, backend choice, Upscaler, Sink); this
module adds only what live needs: a reader that reconnects, a bounded queue, time-bounded
batches, and one output timeline across every reconnect (each input session's timestamps are
shifted to start just after the last one written, `Timeline`), so the encoder never restarts.
Latency is measured per frame from the moment its packet was read to the moment its encoded
packet was muxed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction

from vidsr.backends import Backend
from vidsr.backends.select import resolve_device
from vidsr.backends.setup import Prepared, backend_for
from vidsr.config import Options, StreamOptions
from vidsr.errors import StreamError
from vidsr.frames import VideoInfo, batch_of
from vidsr.geometry import plan_stored
from vidsr.live.reader import Audio, Frame, LiveQueue, Reader
from vidsr.live.writer import OUT_TIME_BASE, Writer
from vidsr.pipeline import Upscaler
from vidsr.timing import percentiles

log = logging.getLogger("vidsr")


def queue_frames(stream: StreamOptions) -> int:
    """Video frames the reader may queue: one batch being filled while one is processed; more
    would only add delay."""
    return 2 * stream.max_batch


@dataclass(frozen=True)
class LiveStats:
    """A snapshot of a running (or finished) stream."""

    elapsed_s: float
    frames_in: int
    frames_out: int
    dropped: int
    queue_depth: int
    reconnects: int
    input_fps: float  # over the last reporting interval
    output_fps: float
    latency_ms: dict[str, float]  # p50 / p95 / p99 over the last LATENCY_WINDOW frames
    width: int = 0  # output size, once known
    height: int = 0
    model: str = ""  # the model running, once chosen, and why
    model_reason: str = ""
    before_keyframe: int = 0  # video packets skipped while waiting for the first keyframe
    corrupt: int = 0  # video packets the decoder rejected (lost datagrams, damage)

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}




@dataclass
class _Meter:
    """Rates over the interval since the last report."""

    started: float = field(default_factory=time.monotonic)
    last_t: float = field(default_factory=time.monotonic)
    last_in: int = 0
    last_out: int = 0

    def rates(self, frames_in: int, frames_out: int) -> tuple[float, float]:
        now = time.monotonic()
        dt = max(now - self.last_t, 1e-9)
        rates = ((frames_in - self.last_in) / dt, (frames_out - self.last_out) / dt)
        self.last_t, self.last_in, self.last_out = now, frames_in, frames_out
        return rates


@dataclass
class _Output:
    """What the first batch sets up: the writer, and the model pipeline for the source's size."""

    writer: Writer
    upscaler: Upscaler
    info: VideoInfo  # the source's video, on the output timeline
    prepared: Prepared | None  # None when the caller gave the backend


def stream(
    src: str,
    dst: str,
    opts: Options | None = None,
    *,
    backend: Backend | None = None,
    stop: threading.Event | None = None,
    on_stats: Callable[[LiveStats], None] | None = None,
    stats_every: float = 1.0,
) -> LiveStats:
    """Enhance the live stream `src` into `dst` until the source ends or `stop` is set.

    `opts` are the run options (`opts.stream` the live ones; a `[stream]` table in a config).
    `backend` overrides the one chosen from `opts` (e.g. a wrapped, slowed one in tests).
    Raises StreamError when a network source never comes up, the InputError that says why when
    a file or pipe cannot be read. Returns the final stats.
    """
    opts = opts or Options()
    stop = stop or threading.Event()
    live = opts.stream
    queue = LiveQueue(queue_frames(live), drop=live.when_behind == "drop")
    reader = Reader(src, live, queue, stop)
    reader.start()
    reader.ready.wait()
    if reader.error is not None:
        raise reader.error
    out: _Output | None = None
    meter = _Meter()
    next_report = time.monotonic() + stats_every
    max_wait = live.max_wait_ms / 1000

    def snapshot() -> LiveStats:
        writer = out.writer if out else None
        chosen = out.prepared if out else None
        rate_in, rate_out = meter.rates(reader.frames_in, writer.frames_out if writer else 0)
        return LiveStats(
            elapsed_s=time.monotonic() - meter.started, frames_in=reader.frames_in,
            frames_out=writer.frames_out if writer else 0, dropped=queue.dropped,
            queue_depth=queue.frames, reconnects=reader.reconnects, input_fps=rate_in,
            output_fps=rate_out,
            latency_ms=percentiles(writer.latency_ms if writer else []),
            width=writer.sink.video.codec_context.width if writer else 0,
            height=writer.sink.video.codec_context.height if writer else 0,
            model=chosen.model if chosen else "",
            model_reason=chosen.model_reason if chosen else "",
            before_keyframe=reader.before_keyframe, corrupt=reader.corrupt,
        )

    ended = False  # the source finished (rather than `stop` being set)
    try:
        while not ended and not stop.is_set():
            batch: list[Frame] = []
            deadline: float | None = None
            while len(batch) < live.max_batch:
                wait = 0.1 if deadline is None else max(0.0, deadline - time.monotonic())
                item = queue.get(wait)
                if item is None:
                    ended = not stop.is_set()
                    stop.set()
                    break
                if item is False:
                    if deadline is not None or stop.is_set():
                        break
                    continue
                if isinstance(item, Audio):
                    if out is not None:
                        out.writer.write_audio(item)
                    continue
                batch.append(item)
                deadline = deadline or time.monotonic() + max_wait
            if batch:
                if out is None:
                    out = _open_output(reader, dst, opts, backend)
                    # The first batch waited for the model to load: not a latency users see.
                    batch = [Frame(b.frame, b.seconds, time.monotonic()) for b in batch]
                _process(batch, out)
            if on_stats is not None and time.monotonic() >= next_report:
                next_report += stats_every
                on_stats(snapshot())
    finally:
        stop.set()  # tells the reader to finish; it is a daemon, so a blocked read cannot hang us
        if out is not None:
            try:
                out.writer.close()
            finally:
                if out.prepared is not None:
                    out.prepared.backend.close()
        reader.join(timeout=0.5)
    if out is None and ended:
        raise StreamError(f"live source {src} gave no video frames")
    return snapshot()


def _open_output(reader: Reader, dst: str, opts: Options, backend: Backend | None) -> _Output:
    """The model for the source's size and rate (`auto`: the best that keeps up here) and the
    output, once the first frames are in."""
    assert reader.info is not None, "the reader describes the video before queueing a frame"
    rate = reader.info.rate or Fraction(30)
    info = replace(reader.info, time_base=OUT_TIME_BASE, rate=rate)
    geometry = plan_stored(info.height, info.width, info.rotation, scale=opts.scale,
                           target=opts.target)
    prepared = None
    if backend is None:
        prepared = backend_for(opts, resolve_device(opts.device), scale=geometry.scale,
                               height=info.height, width=info.width, batch=opts.stream.max_batch,
                               need_fps=float(rate))
        backend = prepared.backend
        log.info("live backend: %s", prepared.reason)
    try:
        writer = Writer(dst, opts, info, geometry, reader.audio_template)
    except BaseException:
        if prepared is not None:
            prepared.backend.close()
        raise
    reader.template_taken.set()
    log.info("live: %dx%d → %dx%d at %s fps to %s", info.width, info.height, geometry.width,
             geometry.height, rate, dst)
    return _Output(writer, Upscaler(backend, geometry), info, prepared)


def _process(batch: list[Frame], out: _Output) -> None:
    """Upscale and write one batch of frames, the way the file pipeline does."""
    pts = [out.writer.pts(b.seconds) for b in batch]
    frames = batch_of([b.frame for b in batch], out.info, pts)
    upscaled, ready = out.upscaler(frames)
    if ready is not None:
        ready.synchronize()
    out.writer.write_video(upscaled, [b.received for b in batch])
