"""Overlapping tiles for frames too big to run whole on the device (`--tile auto|N`).

A frame is cut into windows of one size (so fixed-shape backends, compiled or TensorRT, see one
shape); each window's output is kept only in its core, at least `overlap` pixels from any window
edge inside the frame. With `overlap` at least the model's receptive-field radius, every kept
output pixel sees exactly the input the whole-frame run gives it (frame edges stay frame edges, so
the zero padding there is the same): the stitched frame equals the whole-frame output, no seams.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch
from torch import nn

from vidsr.backends import Backend
from vidsr.errors import ConfigError

# Fraction of the free device memory one inference may plan to use: the rest is the pipeline's
# queued frames, the allocator's slack and everything else running on the machine.
BUDGET_FRACTION = 0.5
MIN_TILE = 32  # smaller cores spend more time on halo than on the frame


@dataclass(frozen=True)
class Tile:
    """A window [hy0, hy1) × [hx0, hx1) of the input that is run, and the core [y0, y1) × [x0, x1)
    inside it whose output is kept; in input pixels."""

    y0: int
    y1: int
    x0: int
    x1: int
    hy0: int
    hy1: int
    hx0: int
    hx1: int


def spans(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Along one axis: (window start, window end, core start, core end) with every window the
    same size, min(length, tile + 2·overlap), so fixed-shape backends see one shape. Cores tile
    [0, length) exactly; each core keeps `overlap` pixels from its window's inner edges (the
    last window is pulled back inside the frame, so its core starts later in it)."""
    size = min(length, tile + 2 * overlap)
    if size == length:
        return [(0, length, 0, length)]
    starts = [*range(0, length - size, tile), length - size]
    out, core = [], 0
    for i, start in enumerate(starts):
        end = length if i == len(starts) - 1 else start + size - overlap
        out.append((start, start + size, core, end))
        core = end
    return out


def plan(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """Windows of one size whose cores cover the frame exactly once."""
    if tile < 1 or overlap < 0:
        raise ConfigError(f"tile size must be >= 1 and overlap >= 0 (got {tile}, {overlap})")
    return [
        Tile(y0, y1, x0, x1, hy0, hy1, hx0, hx1)
        for hy0, hy1, y0, y1 in spans(height, tile, overlap)
        for hx0, hx1, x0, x1 in spans(width, tile, overlap)
    ]


def receptive_radius(model: nn.Module) -> int:
    """How far (in input pixels) an output pixel's inputs reach, for a chain of layers such as
    ESPCN and FSRCNN (and FSRCNN's sub-pixel rewrite): the sum of each layer's reach."""
    low = high = 0
    for layer in model.modules():
        if isinstance(layer, nn.ConvTranspose2d):
            # Output phase φ of input q reads inputs i with tap k = (q − i)·r + φ + p in [0, K).
            k, r, p = layer.kernel_size[0], layer.stride[0], _padding(layer)
            low -= math.ceil((k - 1 - p) / r)
            high += (r - 1 + p) // r
        elif isinstance(layer, nn.Conv2d):
            if layer.stride[0] != 1:
                raise ConfigError(f"cannot tile a model with a strided convolution ({layer})")
            k, d, p = layer.kernel_size[0], layer.dilation[0], _padding(layer)
            low -= p
            high += (k - 1) * d - p
        elif isinstance(layer, nn.ZeroPad2d):
            low -= layer.padding[0]  # left; the output index o is the input index o − left
            high -= layer.padding[0]
    return max(-low, high)


def _padding(layer: nn.Conv2d | nn.ConvTranspose2d) -> int:
    if isinstance(layer.padding, str):  # "same"/"valid": no model vidsr ships uses them
        raise ConfigError(f"cannot tile a model with {layer.padding!r} padding ({layer})")
    return layer.padding[0]


def bytes_per_pixel(model: nn.Module) -> int:
    """Peak activation bytes per input pixel of one frame: the widest layer's input and output
    live at the same time, counted at fp32 (an fp16 backend just gets more headroom)."""
    widest = max(
        (m.in_channels + m.out_channels for m in model.modules()
         if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)),
        default=1,
    )
    return widest * 4


def auto_tile(height: int, width: int, batch: int, overlap: int, per_pixel: int,
              budget: int) -> int | None:
    """The largest core side whose window, for the whole batch, fits `budget` bytes; None
    when the whole frame fits and no tiling is needed."""
    if batch * height * width * per_pixel <= budget:
        return None
    side = math.isqrt(budget // max(1, batch * per_pixel)) - 2 * overlap
    return max(MIN_TILE, side)


def device_budget(device: torch.device) -> int:
    """Bytes one inference may plan to use on `device`."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
    else:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(free * BUDGET_FRACTION)


@dataclass(frozen=True)
class Tiling:
    """How frames of one size are cut: the tiles, and the one window shape (height, width) that
    the inner backend must be built for."""

    tiles: tuple[Tile, ...]
    window: tuple[int, int]


def tiling_for(option: int | str, model: nn.Module, *, device: torch.device, batch: int,
               height: int, width: int) -> Tiling | None:
    """The tiling `--tile option` asks for on `height`×`width` frames of `model`, or None when
    the frames run whole ("auto" and they fit the device budget, or N and they fit N×N)."""
    if option != "auto" and not (isinstance(option, int) and option >= 1):
        raise ConfigError(f"tile must be 'auto' or a positive integer (got {option!r})")
    overlap = receptive_radius(model)
    if option == "auto":
        tile = auto_tile(height, width, batch, overlap, bytes_per_pixel(model),
                         device_budget(device))
    else:
        assert isinstance(option, int)
        tile = option if max(height, width) > option else None
    if tile is None:
        return None
    tiles = tuple(plan(height, width, tile, overlap))
    first = tiles[0]
    return Tiling(tiles, (first.hy1 - first.hy0, first.hx1 - first.hx0))


class TiledBackend:
    """Any `Backend` (built for `tiling.window`), run window by window; the kept cores are
    stitched into the whole frame's output."""

    def __init__(self, inner: Backend, tiling: Tiling) -> None:
        self.inner, self.tiling = inner, tiling
        self.name, self.device, self.dtype = inner.name, inner.device, inner.dtype

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        n, _, height, width = x.shape
        out: torch.Tensor | None = None
        scale = 0
        for t in self.tiling.tiles:
            part = self.inner.infer(x[..., t.hy0:t.hy1, t.hx0:t.hx1])
            if out is None:
                scale = part.shape[-1] // (t.hx1 - t.hx0)
                out = part.new_empty((n, part.shape[1], height * scale, width * scale))
            oy, ox = (t.y0 - t.hy0) * scale, (t.x0 - t.hx0) * scale
            out[..., t.y0 * scale:t.y1 * scale, t.x0 * scale:t.x1 * scale] = part[
                ..., oy:oy + (t.y1 - t.y0) * scale, ox:ox + (t.x1 - t.x0) * scale
            ]
        assert out is not None
        return out

    def close(self) -> None:
        self.inner.close()
