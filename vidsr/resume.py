"""Resumable output (`--resume`): the video is encoded in segments kept beside the output, each
recorded in a journal once it is complete on disk; a run that finds the journal continues after
the last complete segment. When every frame is done, the segments and the input's other streams
are remuxed into the output, which appears only then.

    .NAME.resume/            beside the output NAME
        journal.json         the job's settings and the segments done, rewritten atomically
        00000.mov …          one segment each: video only, starting on a keyframe

A segment is a whole number of batches and has an encoder of its own, so an interrupted and
resumed job encodes the same frames into the same packets as an uninterrupted one. Segments are
QuickTime files because that container gives back exactly the timestamps it was given.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vidsr.errors import OutputError
from vidsr.frames import FrameBatch
from vidsr.sink import Sink, atomic_output, copy_streams, open_output
from vidsr.source import COPIED_TYPES, packet_time

log = logging.getLogger("vidsr")

SEGMENT_BATCHES = 32  # batches per segment: 256 frames at the default batch of 8
JOURNAL_VERSION = 1


@dataclass(frozen=True)
class Segment:
    file: str
    frames: int
    last_pts: int  # of its last frame, in the input's video time base


def work_dir(dst: Path) -> Path:
    """Where a resumable job keeps its segments: hidden, beside the output."""
    return dst.with_name(f".{dst.name}.resume")


class Journal:
    """The segments a job has finished, for one set of settings (`key`)."""

    def __init__(self, folder: Path, key: dict[str, Any]) -> None:
        self.folder, self.key = folder, key
        self.segments: list[Segment] = []

    @classmethod
    def open(cls, folder: Path, key: dict[str, Any]) -> Journal:
        """The journal in `folder` if it was written for `key` and its segments are all there;
        otherwise a fresh one in an emptied folder."""
        journal = cls(folder, key)
        try:
            data = json.loads((folder / "journal.json").read_text(encoding="utf-8"))
            if data.get("version") == JOURNAL_VERSION and data.get("key") == key:
                segments = [Segment(**s) for s in data["segments"]]
                if all((folder / s.file).is_file() for s in segments):
                    journal.segments = segments
                    return journal
            log.warning("%s: an unfinished job with other settings or input was there; "
                        "starting over", folder)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("%s: unreadable journal (%s); starting over", folder, exc)
        shutil.rmtree(folder, ignore_errors=True)
        try:
            folder.mkdir()
        except OSError as exc:
            raise OutputError(f"{folder}: cannot be created ({exc.strerror or exc})") from exc
        return journal

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.segments)

    @property
    def last_pts(self) -> int | None:
        return self.segments[-1].last_pts if self.segments else None

    def next_file(self) -> Path:
        return self.file(len(self.segments))

    def file(self, index: int) -> Path:
        """Segment `index`'s file (the same name whichever machine writes it)."""
        return self.folder / f"{index:05d}.mov"

    def add(self, segment: Segment) -> None:
        self.segments.append(segment)
        data = {"version": JOURNAL_VERSION, "key": self.key,
                "segments": [asdict(s) for s in self.segments]}
        temp = self.folder / "journal.json.tmp"
        with open(temp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, self.folder / "journal.json")


class SegmentWriter:
    """The pipeline's `write` for a resumable job: batches go into segment files of `length`
    frames, each handed to `done` once closed and synced (a local job journals it; a cluster
    task returns it). `finish()` closes the last, short one. `next_file()` names each file."""

    def __init__(self, next_file: Callable[[], Path], done: Callable[[Segment], None],
                 length: int, time_base: Fraction,
                 make_sink: Callable[[av.container.OutputContainer, str], Sink]) -> None:
        self.next_file, self.done = next_file, done
        self.length, self.make_sink = length, make_sink
        # QuickTime stores where a track starts in the movie's timescale (1/1000 s by default);
        # the stream's own denominator keeps a later segment's start exact.
        self.options = {"movie_timescale": str(time_base.denominator)}
        self.sink: Sink | None = None
        self.path: Path | None = None  # the segment's file, and where it is written until closed
        self.temp: Path | None = None
        self.frames = 0
        self.last_pts = 0

    def write(self, batch: FrameBatch) -> None:
        if self.sink is None:
            self.path = self.next_file()
            self.temp = _unique_part(self.path)
            container = open_output(self.temp, self.path, self.options)
            try:
                self.sink = self.make_sink(container, str(self.path))
            except BaseException:
                container.close()
                raise
            self.frames = 0
        self.sink.write(batch)
        self.frames += len(batch)
        self.last_pts = batch.pts[-1]
        if self.frames >= self.length:
            self.finish()

    def finish(self) -> None:
        if self.sink is None or self.path is None or self.temp is None:
            return
        self.sink.close()
        with open(self.temp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(self.temp, self.path)
        self.done(Segment(self.path.name, self.frames, self.last_pts))
        self.sink = None

    def abort(self) -> None:
        """After a failure: drop the unfinished segment; the journaled ones stay for a resume."""
        if self.sink is not None and self.temp is not None:
            self.sink.abort()
            self.temp.unlink(missing_ok=True)
            self.sink = None


def _unique_part(path: Path) -> Path:
    """A temporary name for `path` no other writer uses. A cancelled cluster task may still be
    writing the same segment when the job continues elsewhere: each writes its own file and
    renames it into place whole (segments are reproducible, so either complete one will do)."""
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.part{path.suffix}")


def assemble(journal: Journal, dst: Path, src: str, *, until: Fraction | None) -> list[str]:
    """Remux the journal's segments and the input's copied streams into `dst` (atomically);
    copied packets from `until` on (seconds; None: all) are left out, as a `--frames` preview
    trims them. Returns the labels of copied streams the container cannot hold."""
    paths = [journal.folder / s.file for s in journal.segments]
    with atomic_output(dst) as temp, av.open(src) as source:
        out = open_output(temp, dst)
        try:
            with av.open(str(paths[0])) as first:
                video = out.add_stream_from_template(first.streams.video[0])
            copied = [s for s in source.streams if s.type in COPIED_TYPES]
            copies, dropped = copy_streams(out, copied, str(dst))
            for packet in _merge(_video_packets(paths), _copied_packets(source, copies)):
                if packet.stream.type == "video":
                    packet.stream = video
                else:
                    if until is not None and (packet_time(packet) or 0) >= until:
                        continue
                    packet.stream = copies[packet.stream.index]
                out.mux(packet)
            out.close()
        except (av.error.FFmpegError, OSError) as exc:
            out.close()
            raise OutputError(f"{dst}: joining the segments in {journal.folder} failed ({exc}); "
                              "delete that folder to start over") from exc
    return dropped


def _video_packets(paths: list[Path]) -> Iterator[av.Packet[Any]]:
    """The segments' packets, in order, one segment open at a time. Each segment's encoder
    starts afresh and derives its first decoding timestamps from its own first frames, so at a
    variable frame rate they can fall before the previous segment's last; those move to just
    after it (presentation timestamps, which are what the frames show, never change)."""
    last: int | None = None
    for path in paths:
        with av.open(str(path)) as container:
            for packet in container.demux(video=0):
                if not packet.size:
                    continue
                if last is not None and packet.dts is not None and packet.dts <= last:
                    packet.dts = last + 1
                last = packet.dts
                yield packet


def _copied_packets(source: av.container.InputContainer,
                    copies: dict[int, av.stream.Stream]) -> Iterator[av.Packet[Any]]:
    if not copies:
        return
    streams = [s for s in source.streams if s.index in copies]
    yield from (p for p in source.demux(*streams) if p.size)


def _merge(*packets: Iterator[av.Packet[Any]]) -> Iterator[av.Packet[Any]]:
    """Packets of several sequences, each in decoding order, merged in decoding order, so the
    muxer never has to buffer one stream while waiting for another."""
    return heapq.merge(*packets, key=_decode_time)


def _decode_time(packet: av.Packet[Any]) -> Fraction:
    t = packet.dts if packet.dts is not None else packet.pts
    return Fraction(0) if t is None or packet.time_base is None else t * packet.time_base

