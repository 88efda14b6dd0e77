"""Opening an input (a file, a pipe or a live URL) and describing its video stream, with every
PyAV failure mapped to a vidsr error in one place (`av_errors`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vidsr.errors import CorruptInput, InputError, InputNotFound, NotAVideo
from vidsr.frames import Colour, VideoInfo

log = logging.getLogger("vidsr")

# A live source is probed briefly: a long probe is delay every viewer sees. Its packets are kept
# (no `fflags=nobuffer`): they may hold the stream's only keyframe for seconds.
LIVE_PROBE = {"analyzeduration": "500000", "probesize": "500000"}
BT601, LIMITED = 6, 1  # AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG: what swscale gives for RGB -> YUV


@contextmanager
def av_errors(name: str) -> Iterator[None]:
    """Turn what PyAV raises while opening `name` into the vidsr error a user can act on."""
    try:
        yield
    except FileNotFoundError as exc:
        raise InputNotFound(f"{name}: no such file") from exc
    except PermissionError as exc:
        raise InputError(f"{name}: not readable (permission denied)") from exc
    except av.error.InvalidDataError as exc:
        raise NotAVideo(f"{name}: not a video FFmpeg can read (unknown format or damaged)") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise CorruptInput(f"{name}: cannot be opened ({_reason(exc)})") from exc


def open_input(src: str | Path, *, format: str | None = None,
               options: dict[str, str] | None = None, live: bool = False,
               timeout: float | None = None) -> av.container.InputContainer:
    """Open a path, a URL or '-' (stdin) for demuxing. `live`: a short probe (see LIVE_PROBE),
    and `timeout` seconds without data end a read."""
    name = str(src)
    target: Any = name
    if name == "-":
        target = sys.stdin.buffer
    elif "://" not in name:
        path = Path(name)
        if not path.exists():
            raise InputNotFound(f"{name}: no such file")
        if path.is_dir():
            raise NotAVideo(f"{name}: is a directory, not a video file")
        if path.stat().st_size == 0:
            raise NotAVideo(f"{name}: is empty (0 bytes)")
    if live:
        options = {**LIVE_PROBE, **(options or {})}
    with av_errors(name):
        return av.open(target, "r", format=format, options=options, timeout=timeout)


def local_file(src: str | Path) -> Path | None:
    """`src` as a path when it names a local file, None for '-' (stdin), a URL or anything else."""
    name = str(src)
    if name == "-" or "://" in name:
        return None
    path = Path(name)
    return path if path.is_file() else None


def video_stream(container: av.container.InputContainer, name: str, *,
                 low_delay: bool = False) -> av.VideoStream:
    """The first real video stream (cover art and other attached pictures do not count).
    `low_delay`: its decoder gives each frame as soon as it can (live sources)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            if low_delay:
                stream.codec_context.flags |= av.codec.context.Flags.low_delay
                stream.thread_type = "SLICE"  # frame threads would hold back a frame per thread
            else:
                stream.thread_type = "AUTO"
            return stream
    kinds = sorted({s.type for s in container.streams})
    found = f"only {', '.join(kinds)}" if kinds else "no streams"
    raise NotAVideo(f"{name}: has no video stream ({found})")


def decode(packet: av.Packet[Any], name: str) -> list[av.VideoFrame] | None:
    """The frames a video packet gives, or None when the decoder rejects it (a damaged file, a
    lost datagram, a stream joined mid-GOP): the caller counts it and decoding goes on."""
    try:
        return packet.decode()
    except av.error.FFmpegError as exc:
        # Counted and reported once by the caller: a line per packet would bury the result (a
        # damaged stream can reject thousands).
        log.debug("%s: skipped a video packet the decoder rejected (%s)", name, exc)
        return None


def describe(name: str, stream: av.VideoStream, first: av.VideoFrame) -> VideoInfo:
    """The video's description, from its stream and its first decoded frame. Anything deeper than
    8 bits is processed at 10; RGB and palette frames are converted with swscale's BT.601
    limited-range matrix, and tagged so."""
    depth = max(c.bits for c in first.format.components) if first.format.components else 8
    colour = Colour.of(first)
    if first.format.is_rgb or first.format.has_palette:
        colour = replace(colour, matrix=BT601, range=LIMITED)
    return VideoInfo(
        name=name, width=first.width, height=first.height, pix_fmt=first.format.name,
        bits=8 if depth <= 8 else 10, time_base=stream.time_base or Fraction(1, 90_000),
        rate=stream.average_rate or stream.guessed_rate, frames=stream.frames or None,
        colour=colour, rotation=int(first.rotation or 0),
    )


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
