"""Live enhancement: a network (or piped) stream in, the same stream upscaled out, little delay.

    reader thread: open (reconnect with back-off) → demux → decode video ─┐ LiveQueue (bounded;
                   audio packets pass through untouched ───────────────────┘ drop or block)
    caller's thread: small time-bounded batch → model → encode (x264 zerolatency) → mux

One output timeline spans every reconnect: each input session's timestamps are shifted to start
just after the last one written (`Timeline`), so the encoder and muxer never restart.
Latency is measured per frame from the moment its packet was read to the moment its encoded
packet was muxed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import av
import numpy as np
import torch

from vidsr.backends import Backend
from vidsr.backends.auto import Choice, choose
from vidsr.config import Options, StreamOptions
from vidsr.errors import OutputError, StreamError
from vidsr.frames import PIX_FMTS, FrameBatch, fill_frame, planes_of, to_420
from vidsr.geometry import plan
from vidsr.pipeline import Upscaler
from vidsr.timing import percentiles

log = logging.getLogger("vidsr")

NETWORK_SCHEMES = {"udp", "rtp", "tcp", "rtmp", "rtmps", "rtsp", "srt", "http", "https"}
OUT_TIME_BASE = Fraction(1, 90_000)  # MPEG-TS's clock; other muxers rescale from it
LATENCY_WINDOW = 1000  # frames the latency percentiles are taken over
BACKOFF_START_S = 0.25
GOP_SECONDS = 1  # keyframe interval: how soon a new viewer (or HLS segment) can start


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

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# ---------------------------------------------------------------------------------------------
# Endpoints


def is_network(url: str) -> bool:
    return urlsplit(url).scheme.lower() in NETWORK_SCHEMES


def output_format(url: str) -> tuple[str | None, dict[str, str]]:
    """The muxer and its options for an OUTPUT argument."""
    scheme = urlsplit(url).scheme.lower()
    if url == "-" or scheme in ("udp", "rtp", "tcp", "srt"):
        return "mpegts", {}
    if scheme in ("rtmp", "rtmps"):
        # A live FLV has no length to seek back and fill in.
        return "flv", {"flvflags": "no_duration_filesize"}
    suffix = Path(urlsplit(url).path).suffix.lower()
    if suffix == ".m3u8":
        return "hls", {"hls_time": "1", "hls_list_size": "6", "hls_flags": "delete_segments"}
    if suffix in (".mp4", ".mov", ".m4v"):
        # Fragmented, so a recording cut short by a crash still plays up to the last fragment.
        return None, {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    return None, {}


def open_input(url: str, timeout: float) -> av.container.InputContainer:
    """Open a live source; `-` is stdin."""
    # A short probe, and its packets kept (no `fflags=nobuffer`): they may hold the stream's
    # only keyframe for seconds, and at most half a second is replayed (then dropped if late).
    options = {"analyzeduration": "500000", "probesize": "500000"}
    try:
        src = av.open("pipe:0" if url == "-" else url, options=options, timeout=timeout)
    except (av.FFmpegError, OSError, RuntimeError) as exc:
        raise StreamError(f"cannot open live source {url}: {exc}") from exc
    if not src.streams.video:
        src.close()
        raise StreamError(f"live source {url} has no video stream")
    ctx = src.streams.video[0].codec_context
    ctx.flags |= av.codec.context.Flags.low_delay
    ctx.thread_type = "SLICE"  # frame threads would hold back one frame per thread
    return src


# ---------------------------------------------------------------------------------------------
# Data passed from the reader to the processing loop


@dataclass
class _Frame:
    frame: av.VideoFrame
    seconds: Fraction  # on the output timeline
    received: float  # time.monotonic() when its packet was read


@dataclass
class _Audio:
    packet: av.Packet
    seconds: Fraction
    dts_seconds: Fraction


class LiveQueue:
    """Reader → processor. Video frames are bounded; audio packets are small and never dropped.

    `drop` discards the oldest queued video frame to admit a new one (the viewer skips ahead);
    otherwise the reader waits (the source backs up instead).
    """

    def __init__(self, max_frames: int, drop: bool) -> None:
        self.max_frames = max_frames
        self.drop = drop
        self.items: deque[_Frame | _Audio | None] = deque()
        self.frames = 0
        self.dropped = 0
        self.cond = threading.Condition()

    def put(self, item: _Frame | _Audio | None, stop: threading.Event) -> None:
        with self.cond:
            if isinstance(item, _Frame):
                while self.frames >= self.max_frames and not self.drop:
                    if stop.is_set():
                        return
                    self.cond.wait(0.1)
                if self.frames >= self.max_frames:
                    oldest = next(i for i in self.items if isinstance(i, _Frame))
                    self.items.remove(oldest)
                    self.frames -= 1
                    self.dropped += 1
                self.frames += 1
            self.items.append(item)
            self.cond.notify_all()

    def get(self, timeout: float) -> _Frame | _Audio | None | Literal[False]:
        """The next item, or False when none arrived within `timeout` seconds."""
        with self.cond:
            if not self.items and not self.cond.wait_for(lambda: bool(self.items), timeout):
                return False
            item = self.items.popleft()
            if isinstance(item, _Frame):
                self.frames -= 1
                self.cond.notify_all()
            return item


class Timeline:
    """Maps each input session's timestamps onto one continuous output timeline (seconds)."""

    def __init__(self) -> None:
        self.base: Fraction | None = None  # the current session's first timestamp
        self.offset = Fraction(0)  # where the current session starts on the output timeline
        self.end = Fraction(0)  # latest output time handed out

    def new_session(self) -> None:
        if self.base is not None:
            self.offset = self.end + Fraction(1, 30)  # a frame's gap, so nothing collides
        self.base = None

    def place(self, ts: int, time_base: Fraction) -> Fraction:
        seconds = ts * time_base
        if self.base is None:
            self.base = seconds
        out = seconds - self.base + self.offset
        self.end = max(self.end, out)
        return out


# ---------------------------------------------------------------------------------------------
# Reader


class _Reader(threading.Thread):
    def __init__(self, url: str, opts: StreamOptions, queue: LiveQueue, stop: threading.Event):
        super().__init__(name="vidsr-live-reader", daemon=True)
        self.url, self.opts, self.queue, self.stop = url, opts, queue, stop
        self.timeline = Timeline()
        self.audio_template: av.AudioStream | None = None
        self.ready = threading.Event()  # set once the first session opened (or failed for good)
        self.template_taken = threading.Event()  # the writer has copied `audio_template`
        self.error: StreamError | None = None
        self.rate: Fraction | None = None  # the first session's nominal frame rate
        self.frames_in = 0
        self.reconnects = 0
        self.before_keyframe = 0  # video packets skipped while waiting for the first keyframe

    def run(self) -> None:
        network = is_network(self.url)
        failures = 0
        try:
            while not self.stop.is_set():
                try:
                    src = open_input(self.url, self.opts.timeout)
                except StreamError as exc:
                    failures += 1
                    if not network or failures > self.opts.reconnect:
                        if not self.ready.is_set():
                            self.error = exc
                        else:
                            log.warning("%s; giving up after %d attempts", exc, failures)
                        return
                    self._back_off(failures, exc)
                    continue
                got = self._session(src)
                if got:
                    failures = 0
                if not network or self.stop.is_set():
                    return
                failures += 1
                if failures > self.opts.reconnect:
                    log.warning("live source %s stalled; giving up after %d attempts",
                                self.url, failures)
                    return
                self.reconnects += 1
                self._back_off(failures, "source stalled or ended")
        finally:
            self.ready.set()
            self.queue.put(None, self.stop)

    def _back_off(self, attempt: int, why: object) -> None:
        delay = min(BACKOFF_START_S * 2 ** (attempt - 1), self.opts.timeout)
        log.warning("live source %s: %s; reconnecting in %.2fs (attempt %d of %d)",
                    self.url, why, delay, attempt, self.opts.reconnect)
        self.stop.wait(delay)

    def _session(self, src: av.container.InputContainer) -> int:
        """Demux one connection until it ends or stalls; returns how many frames it gave."""
        video = src.streams.video[0]
        audio = src.streams.audio[0] if src.streams.audio else None
        if self.audio_template is None and audio is not None and not self.ready.is_set():
            self.audio_template = audio
        if self.rate is None:
            rate = video.average_rate or video.guessed_rate
            self.rate = Fraction(rate) if rate else None
        self.ready.set()
        self.timeline.new_session()
        got = 0
        keyed = False  # joined mid-GOP, nothing decodes before a keyframe: skip, count, say so
        try:
            for packet in src.demux(*(s for s in (video, audio) if s is not None)):
                received = time.monotonic()
                if self.stop.is_set():
                    break
                if packet.stream is video:
                    keyed = keyed or packet.is_keyframe
                    if not keyed:
                        self.before_keyframe += 1
                        continue
                    for frame in _decode(packet):
                        ts = frame.pts if frame.pts is not None else packet.dts
                        if ts is None:
                            continue
                        seconds = self.timeline.place(ts, video.time_base)
                        self.queue.put(_Frame(frame, seconds, received), self.stop)
                        self.frames_in += 1
                        got += 1
                elif packet.pts is not None and packet.size and self.audio_template:
                    seconds = self.timeline.place(packet.pts, audio.time_base)
                    dts = packet.dts if packet.dts is not None else packet.pts
                    dts_seconds = seconds - (packet.pts - dts) * audio.time_base
                    self.queue.put(_Audio(packet, seconds, dts_seconds), self.stop)
        except (av.FFmpegError, OSError, RuntimeError) as exc:
            # A timeout (the interrupt callback) or a dropped connection: the caller reconnects.
            log.warning("live source %s: %s", self.url, exc)
        finally:
            if got and audio is not None and audio is self.audio_template:
                # The writer, made for the frames queued, copies its audio stream from this
                # one: keep it open until then.
                while not (self.template_taken.wait(0.1) or self.stop.is_set()):
                    pass
            src.close()
        return got


def _decode(packet: av.Packet) -> list[av.VideoFrame]:
    try:
        return packet.decode()
    except av.InvalidDataError as exc:
        # Joining a live stream mid-GOP, or a lost UDP datagram: skip until the next keyframe.
        log.debug("live: undecodable packet skipped: %s", exc)
        return []


# ---------------------------------------------------------------------------------------------
# Processing and output


def upscale_frames(
    frames: list[av.VideoFrame], upscaler: Upscaler, bits: int
) -> list[av.VideoFrame]:
    """Upscale same-size frames with the file pipeline's `Upscaler`; 4:2:0 frames out."""
    fmt = PIX_FMTS[bits]
    planes = [planes_of(to_420(f, bits), bits) for f in frames]
    batch = FrameBatch(torch.from_numpy(np.stack([y for y, _ in planes])[:, None]),
                       torch.from_numpy(np.stack([uv for _, uv in planes])),
                       [0] * len(frames), Fraction(1), bits)
    out, ready = upscaler(batch)
    if ready is not None:
        ready.synchronize()
    y, uv = out.y.numpy(), out.uv.numpy()
    g = upscaler.geometry
    result = []
    for i, src in enumerate(frames):
        frame = fill_frame(av.VideoFrame(g.width, g.height, fmt), y[i, 0], uv[i])
        frame.color_primaries, frame.color_trc = src.color_primaries, src.color_trc
        frame.colorspace, frame.color_range = src.colorspace, src.color_range
        result.append(frame)
    return result


class _Writer:
    """Owns the output container: the encoder's timeline, audio passthrough and latency samples."""

    def __init__(self, url: str, opts: Options, width: int, height: int, pix_fmt: str,
                 fps: Fraction, audio: av.AudioStream | None) -> None:
        fmt, options = output_format(url)
        target = "pipe:1" if url == "-" else url
        try:
            self.out = av.open(target, "w", format=fmt, options=options,
                               container_options={"flush_packets": "1"})
            self.video = self.out.add_stream(opts.codec, rate=fps)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise OutputError(f"cannot open live output {url}: {exc}") from exc
        ctx = self.video.codec_context
        ctx.width, ctx.height, ctx.pix_fmt = width, height, pix_fmt
        ctx.time_base = OUT_TIME_BASE
        self.video.time_base = OUT_TIME_BASE
        ctx.gop_size = max(1, round(fps * GOP_SECONDS))
        ctx.max_b_frames = 0
        if opts.codec == "libx264":
            ctx.options = {"preset": opts.preset, "tune": "zerolatency", "crf": str(opts.crf)}
        self.audio = self.out.add_stream_from_template(audio) if audio is not None else None
        self.last_pts = -1
        self.next_key = Fraction(0)  # output time of the next forced keyframe
        self.last_audio_dts: int | None = None
        self.received: dict[int, float] = {}  # output pts -> when its input packet arrived
        self.latency_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self.frames_out = 0
        self.url = url

    def write_video(self, frame: av.VideoFrame, seconds: Fraction, received: float) -> None:
        pts = max(round(seconds / OUT_TIME_BASE), self.last_pts + 1)  # strictly increasing
        self.last_pts = pts
        frame.pts, frame.time_base = pts, OUT_TIME_BASE
        if seconds >= self.next_key:
            # Keyframes by time, not frame count: when frames are dropped a count-based GOP
            # would leave new viewers (and HLS segments) waiting far longer than GOP_SECONDS.
            frame.pict_type = av.video.frame.PictureType.I
            self.next_key = seconds + GOP_SECONDS
        self.received[pts] = received
        self._mux(self.video.encode(frame))

    def write_audio(self, item: _Audio) -> None:
        if self.audio is None:
            return
        packet, tb = item.packet, self.audio.time_base
        dts = round(item.dts_seconds / tb)
        if self.last_audio_dts is not None and dts <= self.last_audio_dts:
            return  # overlaps what is already written (a reconnect replayed it)
        self.last_audio_dts = dts
        packet.stream = self.audio
        packet.pts, packet.dts, packet.time_base = round(item.seconds / tb), dts, tb
        self._mux([packet])

    def _mux(self, packets: list[av.Packet]) -> None:
        # Read before muxing: the muxer rescales timestamps in place to its own time base.
        video_pts = [p.pts for p in packets if p.stream is self.video]
        try:
            self.out.mux(packets)
        except (av.FFmpegError, OSError) as exc:
            raise StreamError(f"live output {self.url} failed: {exc}") from exc
        now = time.monotonic()
        self.frames_out += len(video_pts)
        for pts in video_pts:
            received = self.received.pop(pts, None)
            if received is not None:
                self.latency_ms.append((now - received) * 1000)

    def close(self) -> None:
        try:
            self._mux(self.video.encode(None))
        finally:
            self.out.close()


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
    Raises StreamError when the source never comes up. Returns the final stats.
    """
    opts = opts or Options()
    stop = stop or threading.Event()
    live = opts.stream
    queue = LiveQueue(queue_frames(live), drop=live.when_behind == "drop")
    reader = _Reader(src, live, queue, stop)
    reader.start()
    reader.ready.wait()
    if reader.error is not None:
        raise reader.error
    writer: _Writer | None = None
    chosen: Choice | None = None
    meter = _Meter()
    next_report = time.monotonic() + stats_every
    max_wait = live.max_wait_ms / 1000

    def snapshot() -> LiveStats:
        rate_in, rate_out = meter.rates(reader.frames_in, writer.frames_out if writer else 0)
        return LiveStats(
            elapsed_s=time.monotonic() - meter.started, frames_in=reader.frames_in,
            frames_out=writer.frames_out if writer else 0, dropped=queue.dropped,
            queue_depth=queue.frames, reconnects=reader.reconnects, input_fps=rate_in,
            output_fps=rate_out,
            latency_ms=percentiles(writer.latency_ms if writer else []),
            width=writer.video.codec_context.width if writer else 0,
            height=writer.video.codec_context.height if writer else 0,
            model=chosen.model if chosen else "", model_reason=chosen.reason if chosen else "",
            before_keyframe=reader.before_keyframe,
        )

    ended = False  # the source finished (rather than `stop` being set)
    try:
        while not ended and not stop.is_set():
            batch: list[_Frame] = []
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
                if isinstance(item, _Audio):
                    if writer is not None:
                        writer.write_audio(item)
                    continue
                if batch and (item.frame.width, item.frame.height) != (
                    batch[0].frame.width, batch[0].frame.height):
                    log.warning("live source changed size mid-stream; frame skipped")
                    continue
                batch.append(item)
                deadline = deadline or time.monotonic() + max_wait
            if batch:
                first = batch[0].frame
                if writer is None:
                    geometry = plan(first.height, first.width, scale=opts.scale,
                                    target=opts.target)
                    fps = reader.rate or Fraction(30)
                    if backend is None:
                        chosen, backend = _select_backend(opts, geometry.scale, first.height,
                                                          first.width, float(fps))
                    upscaler = Upscaler(backend, geometry)
                    bits = 10 if first.format.name.startswith("yuv420p10") else 8
                    writer = _Writer(dst, opts, geometry.width, geometry.height, PIX_FMTS[bits],
                                     fps, reader.audio_template)
                    reader.template_taken.set()
                    log.info("live: %dx%d → %dx%d at %s fps to %s", first.width, first.height,
                             geometry.width, geometry.height, fps, dst)
                    # The first batch waited for the model to load: not a latency users see.
                    batch = [_Frame(b.frame, b.seconds, time.monotonic()) for b in batch]
                upscaled = upscale_frames([b.frame for b in batch], upscaler, bits)
                for item_, frame in zip(batch, upscaled, strict=True):
                    writer.write_video(frame, item_.seconds, item_.received)
            if on_stats is not None and time.monotonic() >= next_report:
                next_report += stats_every
                on_stats(snapshot())
    finally:
        stop.set()  # tells the reader to finish; it is a daemon, so a blocked read cannot hang us
        if writer is not None:
            writer.close()
        reader.join(timeout=0.5)
    if writer is None and ended:
        raise StreamError(f"live source {src} gave no video frames")
    return snapshot()


def _select_backend(opts: Options, scale: int, height: int, width: int,
                    fps: float) -> tuple[Choice, Backend]:
    """The model (`auto`: the best that keeps up with `fps` here) and its backend."""
    from vidsr.backends.select import resolve_device, select

    device = resolve_device(opts.device)
    shape = {"batch": opts.stream.max_batch, "height": height, "width": width}
    chosen = choose(opts.model, scale, need_fps=fps, device=device, backend=opts.backend, **shape)
    selection = select(chosen.model, scale, backend=opts.backend, device=device, **shape)
    log.info("live backend: %s", selection.reason)
    return chosen, selection.backend


