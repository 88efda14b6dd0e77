"""Frames as tensors: `FrameBatch` (planar 4:2:0 YUV) and the pure geometry of output sizes.

A batch holds N frames of one size as integer planes: Y is N×1×H×W and UV is N×2×⌈H/2⌉×⌈W/2⌉,
uint8 for 8-bit video and uint16 (values up to 1023) for 10-bit. Odd sizes are allowed: that is
what FFmpeg's 4:2:0 gives for them (chroma rounds up), and the output size is made even later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
import torch

from vidsr.errors import ConfigError

# Pixel format of the planes, by bit depth; the encoder gets the same format back.
PIX_FMTS = {8: "yuv420p", 10: "yuv420p10le"}
DTYPES = {8: torch.uint8, 10: torch.uint16}


@dataclass
class FrameBatch:
    y: torch.Tensor  # N×1×H×W
    uv: torch.Tensor  # N×2×⌈H/2⌉×⌈W/2⌉
    pts: list[int]  # one per frame, in time_base
    time_base: Fraction
    bits: int = 8
    # Packets of copied streams (audio, subtitles, data) to mux along with these frames.
    packets: list[av.Packet] = field(default_factory=list, repr=False)

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


@dataclass(frozen=True)
class Geometry:
    """How a frame grows: the model's scale, then an exact resize to `height`×`width`."""

    scale: int
    height: int
    width: int


def parse_target(target: str) -> tuple[int | None, int]:
    """'1080p' -> (None, 1080); '1920x1080' -> (1920, 1080). Width None means 'from aspect'."""
    text = target.strip().lower()
    try:
        if text.endswith("p"):
            width, height = None, int(text[:-1])
        else:
            w, h = text.split("x")
            width, height = int(w), int(h)
    except ValueError:
        raise ConfigError(f"target {target!r} is not like 1080p or 1920x1080") from None
    if height < 2 or (width is not None and width < 2):
        raise ConfigError(f"target {target!r} is too small")
    return width, height


def plan(height: int, width: int, *, scale: int | None = None, target: str | None = None,
         scales: tuple[int, ...] = (2, 3, 4)) -> Geometry:
    """The model scale and exact output size for an input of `height`×`width` (as displayed).

    With `scale`, the output is the input times `scale`. With `target`, it is the largest size
    with the input's aspect ratio that fits the target (a bare height like 1080p fixes the
    height), and the model scale is the smallest one that reaches it (the largest if none does).
    Either way both sides are then rounded down to even numbers, which 4:2:0 encoders require.
    """
    if (scale is None) == (target is None):
        raise ConfigError("give exactly one of scale and target")
    if scale is not None:
        if scale not in scales:
            raise ConfigError(f"scale {scale} is not one of {', '.join(map(str, scales))}")
        return Geometry(scale, _even(height * scale), _even(width * scale))
    assert target is not None
    box_w, box_h = parse_target(target)
    factor = box_h / height if box_w is None else min(box_w / width, box_h / height)
    if factor <= 1:
        raise ConfigError(f"target {target} is not larger than the input ({width}x{height})")
    model_scale = next((s for s in sorted(scales) if s >= factor - 1e-9), max(scales))
    return Geometry(model_scale, _even(round(height * factor)), _even(round(width * factor)))


def _even(n: int) -> int:
    return max(2, n - n % 2)
