"""The reader side of a live stream: its own thread opens the source (and reopens it with
back-off), demuxes, decodes video and hands frames and audio packets to the processing loop
through a bounded `LiveQueue`, every session's timestamps placed on one `Timeline`."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal
from urllib.parse import urlsplit

import av

from vidsr.config import StreamOptions
from vidsr.errors import InputError, StreamError
from vidsr.frames import VideoInfo
from vidsr.probe import decode, describe, open_input, video_stream

log = logging.getLogger("vidsr")

NETWORK_SCHEMES = {"udp", "rtp", "tcp", "rtmp", "rtmps", "rtsp", "srt", "http", "https"}
BACKOFF_START_S = 0.25


def is_network(url: str) -> bool:
    return urlsplit(url).scheme.lower() in NETWORK_SCHEMES


# ---------------------------------------------------------------------------------------------
# Data passed from the reader to the processing loop


@dataclass
class Frame:
    frame: av.VideoFrame
    seconds: Fraction  # on the output timeline
    received: float  # time.monotonic() when its packet was read


@dataclass
class Audio:
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
        self.items: deque[Frame | Audio | None] = deque()
        self.frames = 0
        self.dropped = 0
        self.cond = threading.Condition()

    def put(self, item: Frame | Audio | None, stop: threading.Event) -> None:
        with self.cond:
            if isinstance(item, Frame):
                while self.frames >= self.max_frames and not self.drop:
                    if stop.is_set():
                        return
                    self.cond.wait(0.1)
                if self.frames >= self.max_frames:
                    oldest = next(i for i in self.items if isinstance(i, Frame))
                    self.items.remove(oldest)
                    self.frames -= 1
                    self.dropped += 1
                self.frames += 1
            self.items.append(item)
            self.cond.notify_all()

    def get(self, timeout: float) -> Frame | Audio | None | Literal[False]:
        """The next item, or False when none arrived within `timeout` seconds."""
        with self.cond:
            if not self.items and not self.cond.wait_for(lambda: bool(self.items), timeout):
                return False
            item = self.items.popleft()
            if isinstance(item, Frame):
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



class Reader(threading.Thread):
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
                        self.queue.put(Frame(frame, seconds, received), self.stop)
                        self.frames_in += 1
                        got += 1
                elif audio_tb is not None and packet.pts is not None and packet.size and (
                        self.audio_template):
                    seconds = self.timeline.place(packet.pts, audio_tb)
                    dts = packet.dts if packet.dts is not None else packet.pts
                    dts_seconds = seconds - (packet.pts - dts) * audio_tb
                    self.queue.put(Audio(packet, seconds, dts_seconds), self.stop)
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
