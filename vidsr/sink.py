"""Encode + mux: `FrameBatch`es become encoded video beside packet-for-packet copies of the
input's other streams; `atomic_output` makes the file appear only when it is complete."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import av

from vidsr.errors import ConfigError, OutputError
from vidsr.frames import PIX_FMTS, FrameBatch, VideoInfo, fill_frame
from vidsr.probe import local_file

log = logging.getLogger("vidsr")

# The MPEG-TS muxer has no codec table: it takes any codec (unknown ones as private data), but
# asked what it supports, FFmpeg (and so PyAV) lists only its defaults (MPEG-2 video and audio).
TAKES_ANY_CODEC = {"mpegts"}
KEYFRAME_SECONDS = 1  # live: how soon a new viewer (or HLS segment) can start


@dataclass(frozen=True)
class Encoder:
    """How the video is encoded. `live`: x264/x265 `zerolatency` (one frame in, one packet out),
    no B-frames, and a keyframe every KEYFRAME_SECONDS of output time, forced by time rather
    than by frame count so that new viewers (and HLS segments) start soon even when frames are
    dropped."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "veryfast"
    live: bool = False
    # The same frames always give the same packets. libx264's macroblock-tree rate control does
    # not: the same 128 frames encoded five times in one process gave five different streams
    # (heap contents change them), with `mbtree=0` five equal ones, at some cost in bitrate.
    reproducible: bool = False

    def options(self) -> dict[str, str]:
        # crf/preset/tune are x264/x265 options; other encoders would reject them.
        if self.codec not in ("libx264", "libx265"):
            return {}
        options = {"crf": str(self.crf), "preset": self.preset}
        if self.live:
            options["tune"] = "zerolatency"
        if self.reproducible and self.codec == "libx264":
            options["x264-params"] = "mbtree=0"
        return options


class Sink:
    """Writes one upscaled video stream and copies `copy` streams into an open output container.

    Each frame keeps its input pts and time base (variable frame rate survives), colour tags and
    rotation are carried, and `close()` flushes the encoder. Streams the output container cannot
    hold (e.g. ASS subtitles into MP4) are left out with a warning, listed in `dropped_streams`.
    """

    def __init__(self, container: av.container.OutputContainer, *, name: str, info: VideoInfo,
                 width: int, height: int, encoder: Encoder = Encoder(),
                 copy: Sequence[av.stream.Stream] = ()) -> None:
        self.container, self.name, self.info, self.encoder = container, name, info, encoder
        self.pix_fmt = PIX_FMTS[info.bits]
        self.video = self._video_stream(width, height)
        self.streams, self.dropped_streams = copy_streams(container, copy, name)
        self.next_key = Fraction(0)  # live: output time of the next forced keyframe

    def _video_stream(self, width: int, height: int) -> av.VideoStream:
        codec, info = self.encoder.codec, self.info
        try:
            encoder = av.Codec(codec, "w")
        except (av.error.FFmpegError, ValueError) as exc:
            raise ConfigError(f"unknown video encoder {codec!r}", option="codec") from exc
        if encoder.type != "video":
            raise ConfigError(f"{codec!r} is not a video encoder", option="codec")
        if encoder.video_formats and self.pix_fmt not in {f.name for f in encoder.video_formats}:
            raise ConfigError(f"encoder {codec} cannot encode {self.pix_fmt} "
                              f"({info.bits}-bit input)", option="codec")
        try:
            stream = cast(av.VideoStream, self.container.add_stream(
                codec, rate=info.rate, options=self.encoder.options()))
        except (av.error.FFmpegError, ValueError) as exc:
            raise OutputError(f"{self.name}: cannot add a {codec} stream ({exc})") from exc
        stream.width, stream.height, stream.pix_fmt = width, height, self.pix_fmt
        stream.time_base = stream.codec_context.time_base = info.time_base
        cc = stream.codec_context
        c = info.colour
        cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = (
            c.primaries, c.transfer, c.matrix, c.range)
        if self.encoder.live:
            cc.gop_size = max(1, round((info.rate or 30) * KEYFRAME_SECONDS))
            cc.max_b_frames = 0
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        return stream

    def write(self, batch: FrameBatch) -> list[int]:
        """Encode the batch's frames (host tensors) and mux its copied packets. Returns the pts
        (in the batch's time base) of the video packets muxed meanwhile: with a live encoder,
        the frames just given."""
        y, uv = batch.y.numpy(), batch.uv.numpy()
        c = self.info.colour
        muxed: list[int] = []
        try:
            for i, pts in enumerate(batch.pts):
                frame = av.VideoFrame(y.shape[3], y.shape[2], self.pix_fmt)
                fill_frame(frame, y[i, 0], uv[i])
                frame.pts, frame.time_base = pts, batch.time_base
                frame.color_primaries, frame.color_trc = c.primaries, c.transfer
                frame.colorspace, frame.color_range = c.matrix, c.range
                if self.encoder.live and pts * batch.time_base >= self.next_key:
                    frame.pict_type = av.video.frame.PictureType.I
                    self.next_key = pts * batch.time_base + KEYFRAME_SECONDS
                muxed += self._mux_video(self.video.encode(frame))
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.name}: writing failed ({exc})") from exc
        self.write_packets(batch.packets)
        return muxed

    def write_packets(self, packets: Sequence[av.Packet[Any]]) -> None:
        """Mux packets of the copied streams (matched by their input stream's index)."""
        for packet in packets:
            # The index the demuxer gave, not `packet.stream.index`: a batch can outlive its
            # input container, and PyAV 18.1.1 refuses a closed container's stream.
            self.copy(packet, packet.stream_index)

    def copy(self, packet: av.Packet[Any], index: int) -> None:
        """Mux a packet of the copied input stream `index` (given apart from the packet, whose
        stream may be gone: a live session's input is closed on reconnect)."""
        out = self.streams.get(index)
        if out is None:
            return
        packet.stream = out
        try:
            self.container.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.name}: writing failed ({exc})") from exc

    def _mux_video(self, packets: list[av.Packet[Any]]) -> list[int]:
        # Read before muxing: the muxer rescales timestamps in place to its own time base.
        pts = [p.pts for p in packets if p.pts is not None]
        self.container.mux(packets)
        return pts

    def close(self) -> list[int]:
        """Flush the encoder and finish the output; returns the pts of the last video packets."""
        try:
            pts = self._mux_video(self.video.encode(None))
            self.container.close()
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.name}: finishing the output failed ({exc})") from exc
        return pts

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
        if container.format.name not in TAKES_ANY_CODEC and codec not in container.supported_codecs:
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
        raise OutputError(f"{dst}: already exists", option="overwrite")
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


def output_format(url: str) -> tuple[str | None, dict[str, str]]:
    """The muxer and its options for a live OUTPUT: a URL, `-` (stdout) or a file."""
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


def open_live_output(url: str) -> av.container.OutputContainer:
    """Open a live OUTPUT for muxing, each packet sent as soon as it is muxed."""
    fmt, options = output_format(url)
    try:
        return av.open("pipe:1" if url == "-" else url, "w", format=fmt, options=options,
                       container_options={"flush_packets": "1"})
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise OutputError(f"cannot open live output {url}: {exc}") from exc
