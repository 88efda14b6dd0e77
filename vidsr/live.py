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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal
from urllib.parse import urlsplit

import av

from vidsr.backends import Backend
from vidsr.backends.select import resolve_device
from vidsr.backends.setup import Prepared, backend_for
from vidsr.config import Options, StreamOptions
from vidsr.errors import InputError, StreamError
from vidsr.frames import FrameBatch, VideoInfo, batch_of
from vidsr.geometry import Geometry, plan_stored
from vidsr.pipeline import Upscaler
from vidsr.probe import decode, describe, open_input, video_stream
from vidsr.sink import Encoder, Sink, open_live_output
from vidsr.timing import percentiles

log = logging.getLogger("vidsr")

NETWORK_SCHEMES = {"udp", "rtp", "tcp", "rtmp", "rtmps", "rtsp", "srt", "http", "https"}
OUT_TIME_BASE = Fraction(1, 90_000)  # MPEG-TS's clock; other muxers rescale from it
LATENCY_WINDOW = 1000  # frames the latency percentiles are taken over
BACKOFF_START_S = 0.25


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


def is_network(url: str) -> bool:
    return urlsplit(url).scheme.lower() in NETWORK_SCHEMES


# ---------------------------------------------------------------------------------------------
# Data passed from the reader to the processing loop


@dataclass
class _Frame:
    frame: av.VideoFrame
    seconds: Fraction  # on the output timeline
    received: float  # time.monotonic() when its packet was read


@dataclass
class _Audio:
    packet: av.Packet[Any]
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
        self.error: InputError | StreamError | None = None
        self.info: VideoInfo | None = None  # the first session's video, once a frame decoded
        self.frames_in = 0
        self.reconnects = 0
        self.before_keyframe = 0  # video packets skipped while waiting for the first keyframe
        self.corrupt = 0

    def run(self) -> None:
        network = is_network(self.url)
        failures = 0
        try:
            while not self.stop.is_set():
                try:
                    src = open_input(self.url, live=True, timeout=self.opts.timeout)
                    video = video_stream(src, self.url, low_delay=True)
                except InputError as exc:
                    failures += 1
                    if not network or failures > self.opts.reconnect:
                        self._give_up(exc, failures, network)
                        return
                    self._back_off(failures, exc)
                    continue
                got = self._session(src, video)
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

    def _give_up(self, exc: InputError, attempts: int, network: bool) -> None:
        if self.ready.is_set():
            log.warning("%s; giving up after %d attempts", exc, attempts)
        elif network:
            self.error = StreamError(
                f"live source {self.url} did not come up ({attempts} attempts): {exc}")
        else:
            self.error = exc

    def _back_off(self, attempt: int, why: object) -> None:
        delay = min(BACKOFF_START_S * 2 ** (attempt - 1), self.opts.timeout)
        log.warning("live source %s: %s; reconnecting in %.2fs (attempt %d of %d)",
                    self.url, why, delay, attempt, self.opts.reconnect)
        self.stop.wait(delay)

    def _session(self, src: av.container.InputContainer, video: av.VideoStream) -> int:
        """Demux one connection until it ends or stalls; returns how many frames it gave."""
        audio = src.streams.audio[0] if src.streams.audio else None
        video_tb = video.time_base
        audio_tb = audio.time_base if audio is not None else None
        assert video_tb is not None, "a demuxed stream has a time base"
        if self.audio_template is None and audio is not None and not self.ready.is_set():
            self.audio_template = audio
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
                    frames = decode(packet, self.url)
                    if frames is None:
                        self.corrupt += 1
                        continue
                    for frame in frames:
                        ts = frame.pts if frame.pts is not None else packet.dts
                        if ts is None:
                            continue
                        if self.info is None:
                            self.info = describe(self.url, video, frame)
                        seconds = self.timeline.place(ts, video_tb)
                        self.queue.put(_Frame(frame, seconds, received), self.stop)
                        self.frames_in += 1
                        got += 1
                elif audio_tb is not None and packet.pts is not None and packet.size and (
                        self.audio_template):
                    seconds = self.timeline.place(packet.pts, audio_tb)
                    dts = packet.dts if packet.dts is not None else packet.pts
                    dts_seconds = seconds - (packet.pts - dts) * audio_tb
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


# ---------------------------------------------------------------------------------------------
# Output


def live_encoder(opts: Options) -> Encoder:
    """The encoder `vidsr stream` runs for these options (the latency benchmark times it too)."""
    return Encoder(opts.codec, opts.crf, opts.preset, live=True)


class _Writer:
    """A live `Sink` on one output timeline, with a latency sample per frame muxed."""

    def __init__(self, url: str, opts: Options, info: VideoInfo, geometry: Geometry,
                 audio: av.AudioStream | None) -> None:
        container = open_live_output(url)
        try:
            self.sink = Sink(container, name=url, info=info, width=geometry.width,
                             height=geometry.height,
                             encoder=live_encoder(opts),
                             copy=[audio] if audio is not None else [])
        except BaseException:
            container.close()
            raise
        self.audio_index = audio.index if audio is not None else -1
        self.last_pts = -1
        self.last_audio_dts: Fraction | None = None
        self.received: dict[int, float] = {}  # output pts -> when its input packet arrived
        self.latency_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self.frames_out = 0

    def pts(self, seconds: Fraction) -> int:
        """The output pts for a frame at `seconds`: strictly increasing, as encoders need."""
        self.last_pts = max(round(seconds / OUT_TIME_BASE), self.last_pts + 1)
        return self.last_pts

    def write_video(self, batch: FrameBatch, received: list[float]) -> None:
        self.received.update(zip(batch.pts, received, strict=True))
        self._muxed(self.sink.write(batch))

    def write_audio(self, item: _Audio) -> None:
        if self.last_audio_dts is not None and item.dts_seconds <= self.last_audio_dts:
            return  # overlaps what is already written (a reconnect replayed it)
        self.last_audio_dts = item.dts_seconds
        packet = item.packet
        tb = packet.time_base
        assert tb is not None, "demuxed packets carry their stream's time base"
        packet.pts, packet.dts = round(item.seconds / tb), round(item.dts_seconds / tb)
        # Every session's audio goes to the one output stream, copied from the first session's.
        self.sink.copy(packet, self.audio_index)

    def _muxed(self, pts: list[int]) -> None:
        now = time.monotonic()
        self.frames_out += len(pts)
        for p in pts:
            received = self.received.pop(p, None)
            if received is not None:
                self.latency_ms.append((now - received) * 1000)

    def close(self) -> None:
        self._muxed(self.sink.close())


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

    writer: _Writer
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
    reader = _Reader(src, live, queue, stop)
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
                    if out is not None:
                        out.writer.write_audio(item)
                    continue
                batch.append(item)
                deadline = deadline or time.monotonic() + max_wait
            if batch:
                if out is None:
                    out = _open_output(reader, dst, opts, backend)
                    # The first batch waited for the model to load: not a latency users see.
                    batch = [_Frame(b.frame, b.seconds, time.monotonic()) for b in batch]
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


def _open_output(reader: _Reader, dst: str, opts: Options, backend: Backend | None) -> _Output:
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
        writer = _Writer(dst, opts, info, geometry, reader.audio_template)
    except BaseException:
        if prepared is not None:
            prepared.backend.close()
        raise
    reader.template_taken.set()
    log.info("live: %dx%d → %dx%d at %s fps to %s", info.width, info.height, geometry.width,
             geometry.height, rate, dst)
    return _Output(writer, Upscaler(backend, geometry), info, prepared)


def _process(batch: list[_Frame], out: _Output) -> None:
    """Upscale and write one batch of frames, the way the file pipeline does."""
    pts = [out.writer.pts(b.seconds) for b in batch]
    frames = batch_of([b.frame for b in batch], out.info, pts)
    upscaled, ready = out.upscaler(frames)
    if ready is not None:
        ready.synchronize()
    out.writer.write_video(upscaled, [b.received for b in batch])
