"""Frames as tensors: `FrameBatch` (planar 4:2:0 YUV), and `VideoInfo`, what the planes came from.

A batch holds N frames of one size as integer planes: Y is N×1×H×W and UV is N×2×⌈H/2⌉×⌈W/2⌉,
uint8 for 8-bit video and uint16 (values up to 1023) for 10-bit. Odd sizes are allowed: that is
what FFmpeg's 4:2:0 gives for them (chroma rounds up), and the output size is made even later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np
import torch

from vidsr.errors import UnsupportedInput

# Pixel format of the planes, by bit depth; the encoder gets the same format back.
PIX_FMTS = {8: "yuv420p", 10: "yuv420p10le"}
DTYPES = {8: torch.uint8, 10: torch.uint16}


@dataclass(frozen=True)
class Colour:
    """FFmpeg's colour tags (AVColorPrimaries, AVColorTransferCharacteristic, AVColorSpace,
    AVColorRange), carried from input to output untouched."""

    primaries: int
    transfer: int
    matrix: int
    range: int

    @classmethod
    def of(cls, frame: av.VideoFrame) -> Colour:
        return cls(frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range)


@dataclass(frozen=True)
class VideoInfo:
    name: str  # the input as the user named it, for messages
    width: int  # stored (not rotated) size
    height: int
    pix_fmt: str  # as decoded
    bits: int  # 8 or 10: the depth vidsr processes and encodes at
    time_base: Fraction
    rate: Fraction | None  # average frame rate where the container knows it
    frames: int | None  # the container's frame count where known (an estimate)
    colour: Colour
    rotation: int  # degrees counter-clockwise a player turns the picture (display matrix)



@dataclass
class FrameBatch:
    y: torch.Tensor  # N×1×H×W
    uv: torch.Tensor  # N×2×⌈H/2⌉×⌈W/2⌉
    pts: list[int]  # one per frame, in time_base
    time_base: Fraction
    bits: int = 8
    # Packets of copied streams (audio, subtitles, data) to mux along with these frames.
    packets: list[av.Packet[Any]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        n, c, h, w = self.y.shape
        if c != 1 or self.uv.shape != (n, 2, (h + 1) // 2, (w + 1) // 2):
            raise ValueError(f"planes do not make 4:2:0 frames: Y {tuple(self.y.shape)}, "
                             f"UV {tuple(self.uv.shape)}")
        if len(self.pts) != n:
            raise ValueError(f"{n} frames but {len(self.pts)} timestamps")
        if self.bits not in DTYPES or not self.y.dtype == self.uv.dtype == DTYPES[self.bits]:
            raise ValueError(f"{self.bits}-bit batch with planes of {self.y.dtype}/{self.uv.dtype}")

    def __len__(self) -> int:
        return self.y.shape[0]

    def __repr__(self) -> str:
        return (f"FrameBatch(y={tuple(self.y.shape)}, uv={tuple(self.uv.shape)}, {self.bits}-bit, "
                f"device={self.y.device}, pts={self.pts[:1]}…, time_base={self.time_base}, "
                f"packets={len(self.packets)})")

    @property
    def max_value(self) -> int:
        return (1 << self.bits) - 1


def batch_of(frames: Sequence[av.VideoFrame], info: VideoInfo, pts: list[int], *,
             packets: list[av.Packet[Any]] | None = None, pin: bool = False) -> FrameBatch:
    """Decoded frames, of any pixel format and size, as one batch at `info`'s depth and size: the
    one way frames become tensors, for files and live streams alike."""
    h, w, dtype = info.height, info.width, DTYPES[info.bits]
    y = torch.empty((len(frames), 1, h, w), dtype=dtype, pin_memory=pin)
    uv = torch.empty((len(frames), 2, (h + 1) // 2, (w + 1) // 2), dtype=dtype, pin_memory=pin)
    for i, frame in enumerate(frames):
        y_plane, uv_planes = planes_of(conform(frame, info), info.bits)
        y[i, 0].numpy()[...] = y_plane
        uv[i].numpy()[...] = uv_planes
    return FrameBatch(y, uv, pts, info.time_base, info.bits, packets or [])


def conform(frame: av.VideoFrame, info: VideoInfo) -> av.VideoFrame:
    """The frame as PIX_FMTS[info.bits] at the first frame's size (a frame that changes size
    mid-stream is scaled back to it)."""
    try:
        return to_420(frame, info.bits, info.width, info.height)
    except (av.error.FFmpegError, ValueError) as exc:
        raise UnsupportedInput(f"{info.name}: pixel format {frame.format.name} cannot be "
                               f"converted to {PIX_FMTS[info.bits]}") from exc


def planes_of(frame: av.VideoFrame, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The Y (H×W) and stacked UV (2×⌈H/2⌉×⌈W/2⌉) planes of a yuv420p / yuv420p10le frame."""
    dtype = np.dtype(np.uint8) if bits == 8 else np.dtype("<u2")
    planes = [_view(plane, dtype) for plane in frame.planes]
    return planes[0], np.stack(planes[1:3])


def to_420(frame: av.VideoFrame, bits: int, width: int | None = None,
           height: int | None = None) -> av.VideoFrame:
    """`frame` as PIX_FMTS[bits] at width×height (default: its own size). yuvj420p passes as it
    is: the same planes, its full range carried by the colour tags."""
    width, height = width or frame.width, height or frame.height
    name = frame.format.name
    if (frame.width, frame.height) == (width, height) and (
            name == PIX_FMTS[bits] or (bits == 8 and name == "yuvj420p")):
        return frame
    return frame.reformat(width=width, height=height, format=PIX_FMTS[bits])


def fill_frame(frame: av.VideoFrame, y: np.ndarray, uv: np.ndarray) -> av.VideoFrame:
    """Copy Y (H×W) and UV (2×H/2×W/2) into a freshly allocated frame's planes."""
    dtype = y.dtype.newbyteorder("<") if y.dtype.itemsize > 1 else y.dtype
    for plane, data in zip(frame.planes, (y, uv[0], uv[1]), strict=True):
        _view(plane, dtype)[...] = data
    return frame


def _view(plane: av.video.plane.VideoPlane, dtype: np.dtype) -> np.ndarray:
    # A plane's rows are padded to `line_size` bytes: view the buffer, then cut the padding off.
    itemsize = np.dtype(dtype).itemsize
    rows = np.frombuffer(memoryview(plane), dtype=dtype).reshape(-1, plane.line_size // itemsize)
    return rows[: plane.height, : plane.width]
