"""Demux + decode: an input becomes `FrameBatch`es of 4:2:0 planes, carrying the packets of
every stream that is copied (audio, subtitles, data) along with the frames they play beside.

Frames in other pixel formats are converted by `frames.batch_of`: 4:2:2 / 4:4:4 / NV12 / gray
lose nothing in luma (chroma is subsampled, gray gets neutral chroma); RGB and palette frames go
through swscale's BT.601 limited-range matrix and are tagged so (`probe.describe`). Anything
deeper than 8 bits is processed and encoded at 10 bits. A frame that changes size mid-stream is
scaled back to the first frame's size. Packets the decoder rejects are skipped and counted in
`corrupt`.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vidsr.errors import CorruptInput, NotAVideo, UnsupportedInput
from vidsr.frames import FrameBatch, VideoInfo, batch_of
from vidsr.probe import decode, describe, open_input, video_stream

COPIED_TYPES = ("audio", "subtitle", "data")
# How far past the last kept frame `max_frames` keeps reading for audio that plays before it:
# muxers interleave streams far closer than this.
TRIM_LOOKAHEAD = Fraction(5)


class Source:
    """Batches of frames from an open input container (a file, a URL, a pipe).

    Construction decodes the first frame, so a file with no decodable video fails here, before
    any output exists. Iterate once; `close()` closes the container.
    """

    def __init__(self, container: av.container.InputContainer, *, name: str, batch: int,
                 max_frames: int | None = None, pin: bool = False) -> None:
        self.container, self.name, self.batch, self.max_frames, self.pin = (
            container, name, batch, max_frames, pin)
        self.stream = video_stream(container, name)
        self.copied = [s for s in container.streams if s.type in COPIED_TYPES]
        self.corrupt = 0  # packets the decoder rejected
        self._demux = container.demux(self.stream, *self.copied)
        self._held: list[av.Packet[Any]] = []  # copied packets that play after the frames so far
        self._last_pts: int | None = None
        self._decoded = self._decode()
        first = next(self._decoded, None)
        if first is None:
            if self.corrupt:
                raise CorruptInput(
                    f"{name}: none of its video frames decode ({self.corrupt} bad packets)")
            raise NotAVideo(f"{name}: its video stream has no frames")
        self._first: av.VideoFrame | None = first
        self._iterated = False
        self.info: VideoInfo = describe(name, self.stream, first)

    @classmethod
    def open(cls, src: str | Path, *, batch: int, max_frames: int | None = None,
             pin: bool = False, format: str | None = None,
             options: dict[str, str] | None = None) -> Source:
        container = open_input(src, format=format, options=options)
        try:
            return cls(container, name=str(src), batch=batch, max_frames=max_frames, pin=pin)
        except BaseException:
            container.close()
            raise

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[FrameBatch]:
        """Batches of up to `batch` frames; the last one also carries the remaining packets."""
        frames: list[av.VideoFrame] = []
        covered: Fraction | None = None  # end time of the last frame taken
        taken = 0
        assert not self._iterated, "a Source is iterated once"
        self._iterated = True
        if self._first is None:  # resumed past the last frame: nothing is left
            return
        pending, self._first = self._first, None
        stream = _chain(pending, self._decoded)
        for frame in stream:
            if self.max_frames is not None and taken == self.max_frames:
                break
            if len(frames) == self.batch:  # full: send it now that more frames follow
                yield self._batch(frames, self._release(covered))
                frames = []
            frames.append(frame)
            taken += 1
            covered = self._end_of(frame)
        trimmed = self.max_frames is not None and taken == self.max_frames
        if trimmed:
            self._read_copied_until(covered)
        yield self._batch(frames, self._release(covered if trimmed else None))

    def seek_past(self, pts: int) -> None:
        """Start after the frame at `pts` (a resumed job): seek to the keyframe at or before it,
        then decode and drop frames up to it, so the next frame comes out exactly as it would
        from an uninterrupted decode."""
        try:
            self.container.seek(pts, stream=self.stream)
        except av.error.FFmpegError as exc:
            raise UnsupportedInput(
                f"{self.name}: cannot be resumed, seeking failed ({exc})") from exc
        self._demux = self.container.demux(self.stream, *self.copied)
        self._held.clear()
        self._decoded = self._decode()
        reached = False
        self._first = None
        for frame in self._decoded:
            if frame.pts is None:
                raise UnsupportedInput(f"{self.name}: cannot be resumed, its frames have no "
                                       "timestamps")
            if frame.pts > pts:
                if not reached:  # the seek landed past the frame: frames would go missing
                    raise UnsupportedInput(f"{self.name}: cannot be resumed, seeking to the "
                                           "last finished frame is not exact")
                self._first = frame
                return
            reached = True

    def _decode(self) -> Iterator[av.VideoFrame]:
        for packet in self._demux:
            if packet.stream is not self.stream:
                if packet.size:  # size 0: the demuxer's end-of-stream marker
                    self._held.append(packet)
                continue
            frames = decode(packet, self.name)
            if frames is None:
                self.corrupt += 1
                continue
            yield from frames

    def _read_copied_until(self, end: Fraction | None) -> None:
        """After the last wanted frame: read on for copied packets that still play before `end`."""
        if end is None or not self.copied:
            return
        behind = {s.index for s in self.copied}
        for packet in self._demux:
            when = packet_time(packet)
            if packet.stream is self.stream or not packet.size:
                continue
            self._held.append(packet)
            if when is None or when >= end:
                behind.discard(packet.stream.index)
            if not behind or (when is not None and when >= end + TRIM_LOOKAHEAD):
                return

    def _release(self, until: Fraction | None) -> list[av.Packet[Any]]:
        """Held packets that start before `until` (all of them when None), in demux order."""
        out: list[av.Packet[Any]] = []
        keep: list[av.Packet[Any]] = []
        if until is None:
            out, self._held = self._held, keep
            return out
        for packet in self._held:
            when = packet_time(packet)
            (out if when is None or when < until else keep).append(packet)
        self._held = keep
        return out

    def _end_of(self, frame: av.VideoFrame) -> Fraction | None:
        if frame.pts is None:
            return None
        start = frame.pts * self.info.time_base
        if frame.duration:
            return start + frame.duration * self.info.time_base
        return start + (1 / self.info.rate if self.info.rate else 0)

    def _batch(self, frames: list[av.VideoFrame], packets: list[av.Packet[Any]]) -> FrameBatch:
        return batch_of(frames, self.info, [self._pts(f) for f in frames], packets=packets,
                        pin=self.pin)

    def _pts(self, frame: av.VideoFrame) -> int:
        if frame.pts is not None:
            self._last_pts = int(frame.pts)
        elif self._last_pts is None:
            self._last_pts = 0
        else:  # no timestamp (e.g. raw H.264 from a pipe): one frame interval after the last
            rate = self.info.rate or Fraction(25)
            self._last_pts += max(1, round(1 / (rate * self.info.time_base)))
        return self._last_pts


def _chain(first: av.VideoFrame, rest: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
    yield first
    yield from rest


def frame_pts(src: str | Path) -> list[int]:
    """Every video frame's pts in presentation order, from the demuxer alone (no decoding): the
    frames a job will decode, found in a fraction of the time. Packets the decoder would reject
    are still counted here; callers compare these with what decoding gives."""
    with open_input(src) as container:
        stream = video_stream(container, str(src))
        pts = [p.pts for p in container.demux(stream) if p.size]
    known = sorted(t for t in pts if t is not None)
    if len(known) < len(pts):
        raise UnsupportedInput(f"{src}: some video packets have no timestamps, so it cannot be "
                               "cut into segments")
    return known


def packet_time(packet: av.Packet[Any]) -> Fraction | None:
    """When a packet plays (its pts, else dts) in seconds, or None when it has no timestamp."""
    t = packet.pts if packet.pts is not None else packet.dts
    return None if t is None or packet.time_base is None else t * packet.time_base
