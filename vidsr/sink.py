"""Encode + mux: `FrameBatch`es become encoded video beside packet-for-packet copies of the
input's other streams; `atomic_output` makes the file appear only when it is complete."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import av

from vidsr.errors import ConfigError, OutputError
from vidsr.frames import PIX_FMTS, FrameBatch, VideoInfo, fill_frame
from vidsr.probe import local_file

log = logging.getLogger("vidsr")


class Sink:
    """Writes one upscaled video stream and copies `copy` streams into an open output container.

    Each frame keeps its input pts and time base (variable frame rate survives), colour tags and
    rotation are carried, and `close()` flushes the encoder. Streams the output container cannot
    hold (e.g. ASS subtitles into MP4) are left out with a warning, listed in `dropped_streams`.
    """

    def __init__(self, container: av.container.OutputContainer, *, name: str, info: VideoInfo,
                 width: int, height: int, codec: str = "libx264", crf: int = 18,
                 preset: str = "veryfast", copy: Sequence[av.stream.Stream] = ()) -> None:
        self.container, self.name, self.info = container, name, info
        self.pix_fmt = PIX_FMTS[info.bits]
        self.video = self._video_stream(codec, width, height, crf, preset)
        self.streams, self.dropped_streams = copy_streams(container, copy, name)

    def _video_stream(self, codec: str, width: int, height: int, crf: int,
                      preset: str) -> av.VideoStream:
        try:
            encoder = av.Codec(codec, "w")
        except (av.error.FFmpegError, ValueError) as exc:
            raise ConfigError(f"unknown video encoder {codec!r}") from exc
        if encoder.type != "video":
            raise ConfigError(f"{codec!r} is not a video encoder")
        if encoder.video_formats and self.pix_fmt not in {f.name for f in encoder.video_formats}:
            raise ConfigError(f"encoder {codec} cannot encode {self.pix_fmt} "
                              f"({self.info.bits}-bit input); choose another --codec")
        info = self.info
        # crf/preset are x264/x265/VPx options; other encoders ignore options they lack.
        options = {"crf": str(crf), "preset": preset} if codec in ("libx264", "libx265") else {}
        try:
            stream = cast(av.VideoStream,
                          self.container.add_stream(codec, rate=info.rate, options=options))
        except (av.error.FFmpegError, ValueError) as exc:
            raise OutputError(f"{self.name}: cannot add a {codec} stream ({exc})") from exc
        stream.width, stream.height, stream.pix_fmt = width, height, self.pix_fmt
        stream.time_base = stream.codec_context.time_base = info.time_base
        cc = stream.codec_context
        c = info.colour
        cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = (
            c.primaries, c.transfer, c.matrix, c.range)
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        return stream

    def write(self, batch: FrameBatch) -> None:
        """Encode the batch's frames (host tensors) and mux its copied packets."""
        y, uv = batch.y.numpy(), batch.uv.numpy()
        c = self.info.colour
        try:
            for i, pts in enumerate(batch.pts):
                frame = av.VideoFrame(y.shape[3], y.shape[2], self.pix_fmt)
                fill_frame(frame, y[i, 0], uv[i])
                frame.pts, frame.time_base = pts, batch.time_base
                frame.color_primaries, frame.color_trc = c.primaries, c.transfer
                frame.colorspace, frame.color_range = c.matrix, c.range
                self.container.mux(self.video.encode(frame))
            for packet in batch.packets:
                out = self.streams.get(packet.stream.index)
                if out is not None:
                    packet.stream = out
                    self.container.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.name}: writing failed ({exc})") from exc

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        try:
            self.container.mux(self.video.encode(None))
            self.container.close()
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.name}: finishing the file failed ({exc})") from exc

    def abort(self) -> None:
        """Close after a failure; the file is about to be deleted, so its errors do not matter."""
        try:
            self.container.close()
        except (av.error.FFmpegError, OSError) as exc:
            log.debug("%s: closing after a failure: %s", self.name, exc)


def copy_streams(container: av.container.OutputContainer, streams: Sequence[av.stream.Stream],
                 name: str) -> tuple[dict[int, av.stream.Stream], list[str]]:
    """Output streams copying `streams` (by input index), and labels of those left out because
    the container cannot hold them (each warned about)."""
    copies: dict[int, av.stream.Stream] = {}
    dropped: list[str] = []
    for stream in streams:
        codec = stream.codec_context.name if stream.codec_context else None
        label = f"#{stream.index} {stream.type} ({codec})"
        if codec not in container.supported_codecs:
            log.warning("%s: %s cannot go into this container; left out", name, label)
            dropped.append(label)
            continue
        try:
            copies[stream.index] = container.add_stream_from_template(stream)
        except (av.error.FFmpegError, ValueError) as exc:
            log.warning("%s: %s cannot be copied (%s); left out", name, label, exc)
            dropped.append(label)
    return copies, dropped


def check_output(dst: Path, src: str, *, overwrite: bool) -> None:
    """Refuse outputs that would lose data or cannot be written, before any work starts."""
    if dst.is_dir():
        raise OutputError(f"{dst}: is a directory; give a file name like {dst / 'out.mp4'}")
    if not dst.parent.is_dir():
        raise OutputError(f"{dst}: the folder {dst.parent} does not exist")
    if (path := local_file(src)) is not None and dst.exists() and dst.resolve() == path.resolve():
        raise OutputError(f"{dst}: is the input file; choose another output name")
    if dst.exists() and not overwrite:
        raise OutputError(f"{dst}: already exists (use --overwrite to replace it)")
    if not os.access(dst.parent, os.W_OK):
        raise OutputError(f"{dst}: the folder {dst.parent} is not writable")


def part_path(dst: Path) -> Path:
    """Where a file is written before it is complete: hidden, beside it, same extension (so the
    container format still follows the name). A run killed outright leaves only this."""
    return dst.with_name(f".{dst.stem}.part{dst.suffix}")


@contextmanager
def atomic_output(dst: Path) -> Iterator[Path]:
    """Yield the temporary path to write; on success rename it to `dst`, on any error
    (KeyboardInterrupt included) delete it."""
    temp = part_path(dst)
    try:
        yield temp
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    try:
        os.replace(temp, dst)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise OutputError(f"{dst}: cannot be written ({exc.strerror or exc})") from exc


def open_output(temp: Path, dst: Path,
                options: dict[str, str] | None = None) -> av.container.OutputContainer:
    """Open the temporary file for muxing, in the container format `dst`'s extension names,
    with muxer `options`."""
    try:
        return av.open(str(temp), "w", options=options)
    except ValueError as exc:
        suffix = dst.suffix or "no extension"
        raise OutputError(f"{dst}: no container format is known for {suffix!r} "
                          "(use .mp4, .mkv, .mov, …)") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise OutputError(f"{dst}: cannot be created ({exc})") from exc
