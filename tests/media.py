"""Tiny real media for tests: `make_clip` writes one with PyAV, `read_back` describes one.

Every clip is a moving diagonal gradient (so encoders see motion and frames differ) with, by
default, a 440 Hz sine on AAC audio of the same length, tagged BT.709 limited range. Recipes:

    make_clip(p)                                  64×48, 12 frames, 24 fps, yuv420p H.264 + AAC
    make_clip(p, pix_fmt="yuv420p10le")           10-bit H.264
    make_clip(p, width=17, height=9, pix_fmt="yuv444p")   odd size (4:2:0 needs even sizes)
    make_clip(p.with_suffix(".mkv"), pix_fmt="gray", codec="ffv1")   an exotic pixel format
    make_clip(p, pts=[0, 40, 120, 130], time_base=Fraction(1, 1000))   variable frame rate
    make_clip(p, rotation=90)                     display matrix: rotate 90° counter-clockwise
    make_clip(p, audio=False)                     video only
    make_clip(p.with_suffix(".mkv"), subtitles=True)   plus an ASS subtitle stream, a cue per frame
    make_clip(p, frames=0)                        audio-only file (no video stream)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

AUDIO_RATE = 48_000
BT709 = 1  # AVCOL_PRI_BT709 == AVCOL_TRC_BT709 == AVCOL_SPC_BT709
LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """An H×W×3 uint8 RGB frame: a gradient that moves 3 pixels per frame."""
    y, x = np.mgrid[0:height, 0:width]
    base = (x + y + 3 * index) * 4
    return np.stack([base % 256, (base // 2 + 85) % 256, (255 - base) % 256], axis=-1).astype(
        np.uint8
    )


def make_clip(
    path: Path,
    *,
    width: int = 64,
    height: int = 48,
    frames: int = 12,
    fps: Fraction = Fraction(24),
    pix_fmt: str = "yuv420p",
    codec: str = "libx264",
    audio: bool = True,
    rotation: int = 0,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    container: str | None = None,
    subtitles: bool = False,
) -> Path:
    """Write a small clip and return its path.

    `pts` (with `time_base`, default 1/1000) gives each frame an explicit timestamp, for VFR;
    otherwise frames are 1/fps apart. `frames=0` writes no video stream at all.
    """
    path = Path(path)
    if pts is not None:
        frames = len(pts)
        time_base = time_base or Fraction(1, 1000)
    else:
        time_base = time_base or 1 / Fraction(fps)
        pts = [round(i / fps / time_base) for i in range(frames)]
    duration = float((pts[-1] * time_base + 1 / fps) if frames else Fraction(frames or 12) / fps)
    with av.open(str(path), "w", format=container) as out:
        video = None
        if frames:
            video = out.add_stream(codec, rate=fps)
            video.width, video.height, video.pix_fmt = width, height, pix_fmt
            video.time_base = time_base
            video.codec_context.time_base = time_base
            video.codec_context.color_primaries = BT709
            video.codec_context.color_trc = BT709
            video.codec_context.colorspace = BT709
            video.codec_context.color_range = LIMITED_RANGE
            if rotation:
                video.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        subs = _subtitle_stream(out, path, time_base) if subtitles else None
        for i, t in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24")
            frame = frame.reformat(format=pix_fmt, dst_colorspace="itu709", dst_color_range=1)
            frame.pts, frame.time_base = t, time_base
            out.mux(video.encode(frame))
            if subs is not None:
                cue = av.Packet(_cue(i))
                cue.stream, cue.time_base = subs, time_base
                cue.pts = cue.dts = t
                cue.duration = max(1, round(1 / fps / time_base))
                out.mux(cue)
        if video is not None:
            out.mux(video.encode(None))
        if sound is not None:
            _write_sine(out, sound, duration)
    return path


def _subtitle_stream(out: av.container.OutputContainer, path: Path,
                     time_base: Fraction) -> av.stream.Stream:
    # ASS is the one text subtitle encoder that opens without a header here (subrip, webvtt and
    # mov_text refuse), so subtitled clips are Matroska; packets are muxed as-is.
    if path.suffix.lower() not in {".mkv", ".mka", ".webm"}:
        raise ValueError(f"subtitled clips must be Matroska, not {path.suffix}")
    stream = out.add_stream("ass")
    stream.time_base = stream.codec_context.time_base = time_base
    return stream


def _cue(index: int) -> bytes:
    # An ASS event line as Matroska stores it: ReadOrder,Layer,Style,Name,Margins…,Effect,Text
    return f"{index},0,Default,,0,0,0,,frame {index}".encode()


def _write_sine(out: av.container.OutputContainer, sound: av.AudioStream, seconds: float) -> None:
    chunk = 1024
    total = int(seconds * AUDIO_RATE)
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        t = (np.arange(start, start + n) / AUDIO_RATE).astype(np.float32)
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
        out.mux(sound.encode(frame))
    out.mux(sound.encode(None))


@dataclass
class ClipInfo:
    width: int = 0
    height: int = 0
    pix_fmt: str = ""
    codec: str = ""
    frames: int = 0
    pts: list[int] = field(default_factory=list)  # every decoded video frame, in decode order
    time_base: Fraction | None = None
    audio: list[tuple[int | None, bytes]] = field(default_factory=list)  # (pts, payload)
    subtitles: list[tuple[int | None, bytes]] = field(default_factory=list)
    colour: tuple[int, int, int, int] | None = None  # primaries, transfer, matrix, range
    rotation: int = 0

    @property
    def seconds(self) -> list[float]:
        """Video frame times in seconds (compare across time bases)."""
        return [float(p * self.time_base) for p in self.pts] if self.time_base else []


def read_back(path: Path) -> ClipInfo:
    """Describe a file: its first video stream's frames, and every audio/subtitle packet."""
    info = ClipInfo()
    with av.open(str(path)) as src:
        video = src.streams.video[0] if src.streams.video else None
        if video is not None:
            info.codec, info.time_base = video.codec_context.name, video.time_base
        for packet in src.demux():
            kind = packet.stream.type
            if kind == "audio" and packet.size:
                info.audio.append((packet.pts, bytes(packet)))
            elif kind == "subtitle" and packet.size:
                info.subtitles.append((packet.pts, bytes(packet)))
            elif packet.stream is video:
                for frame in packet.decode():
                    if not info.frames:
                        info.width, info.height = frame.width, frame.height
                        info.pix_fmt = frame.format.name
                        info.colour = (frame.color_primaries, frame.color_trc,
                                       frame.colorspace, frame.color_range)
                        info.rotation = frame.rotation
                    info.frames += 1
                    info.pts.append(frame.pts)
    return info
