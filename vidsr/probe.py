"""Opening an input and describing its video stream, with every failure mapped to a vidsr error."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vidsr.errors import CorruptInput, InputError, InputNotFound, NotAVideo
from vidsr.frames import Colour, VideoInfo


def open_input(src: str | Path, *, format: str | None = None,
               options: dict[str, str] | None = None) -> av.container.InputContainer:
    """Open a path, a URL or '-' (stdin) for demuxing."""
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
    try:
        return av.open(target, "r", format=format, options=options)
    except FileNotFoundError as exc:
        raise InputNotFound(f"{name}: no such file") from exc
    except PermissionError as exc:
        raise InputError(f"{name}: not readable (permission denied)") from exc
    except av.error.InvalidDataError as exc:
        raise NotAVideo(f"{name}: not a video FFmpeg can read (unknown format or damaged)") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise CorruptInput(f"{name}: cannot be opened ({_reason(exc)})") from exc


def local_file(src: str | Path) -> Path | None:
    """`src` as a path when it names a local file, None for '-' (stdin), a URL or anything else."""
    name = str(src)
    if name == "-" or "://" in name:
        return None
    path = Path(name)
    return path if path.is_file() else None


def video_stream(container: av.container.InputContainer, name: str) -> av.VideoStream:
    """The first real video stream (cover art and other attached pictures do not count)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    kinds = sorted({s.type for s in container.streams})
    found = f"only {', '.join(kinds)}" if kinds else "no streams"
    raise NotAVideo(f"{name}: has no video stream ({found})")


def describe(name: str, stream: av.VideoStream, first: av.VideoFrame) -> VideoInfo:
    """The video's description, from its stream and its first decoded frame."""
    depth = max(c.bits for c in first.format.components) if first.format.components else 8
    return VideoInfo(
        name=name, width=first.width, height=first.height, pix_fmt=first.format.name,
        bits=8 if depth <= 8 else 10, time_base=stream.time_base or Fraction(1, 90_000),
        rate=stream.average_rate or stream.guessed_rate, frames=stream.frames or None,
        colour=Colour.of(first), rotation=int(first.rotation or 0),
    )


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
