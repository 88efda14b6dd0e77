"""`vidsr compare`: pictures a person can judge — the same crop from the original, the player's
bicubic and each model, side by side; or a split-screen clip, bicubic left and vidsr right.

The crop sits where the reference frame has the most detail (the window with the largest sum of
gradient magnitudes on a fixed grid, so the choice is deterministic). Panels are enlarged with
nearest-neighbour so that pixels stay pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from vidsr.backends import Backend
from vidsr.models.collapsible import bicubic_channels, bicubic_phases

Crop = tuple[int, int, int, int]  # x, y, width, height
LABEL_HEIGHT = 22
GAP = 6
DIVIDER = 2  # pixels of the split-screen line


@dataclass(frozen=True)
class Panel:
    label: str
    rgb: NDArray[np.uint8]  # the whole frame, H×W×3


def detail_crop(y: NDArray[np.uint8], size: int, step: int = 8) -> Crop:
    """The size×size window (on a `step` grid) of luma plane `y` with the most detail."""
    h, w = y.shape
    size = min(size, h, w)
    f = y.astype(np.float64)
    grad = np.zeros_like(f)
    grad[:, 1:] += np.abs(np.diff(f, axis=1))
    grad[1:] += np.abs(np.diff(f, axis=0))
    integral = np.pad(grad.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    ys, xs = np.arange(0, h - size + 1, step), np.arange(0, w - size + 1, step)
    sums = (integral[ys[:, None] + size, xs[None] + size] - integral[ys[:, None], xs[None] + size]
            - integral[ys[:, None] + size, xs[None]] + integral[ys[:, None], xs[None]])
    iy, ix = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(xs[ix]), int(ys[iy]), size, size


def sheet(panels: Sequence[Panel], crop: Crop, zoom: int) -> NDArray[np.uint8]:
    """The crop of every panel, enlarged `zoom`× (nearest), in a row under its label."""
    from PIL import Image, ImageDraw, ImageFont

    x, y, w, h = crop
    tiles = [p.rgb[y : y + h, x : x + w].repeat(zoom, 0).repeat(zoom, 1) for p in panels]
    tw, th = w * zoom, h * zoom
    canvas = Image.new("RGB", (len(tiles) * (tw + GAP) - GAP, th + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    for i, (panel, tile) in enumerate(zip(panels, tiles, strict=True)):
        left = i * (tw + GAP)
        canvas.paste(Image.fromarray(tile), (left, LABEL_HEIGHT))
        draw.text((left + 2, 3), panel.label, fill="black", font=font)
    return np.asarray(canvas)


class SplitScreen:
    """A backend that shows bicubic left and `inner` right, with a thin white line between: the
    upscale pipeline then carries audio, subtitles and timing as for any run."""

    def __init__(self, inner: Backend, scale: int) -> None:
        self.inner, self.scale = inner, scale
        self.name, self.device, self.dtype = f"split:{inner.name}", inner.device, inner.dtype
        self.base = bicubic_phases(scale).to(inner.device, inner.dtype)

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner.infer(x)
        bicubic = F.pixel_shuffle(bicubic_channels(x, self.base), self.scale)
        half = out.shape[-1] // 2
        out = out.clone()
        out[..., :half] = bicubic[..., :half]
        out[..., half - DIVIDER // 2 : half + DIVIDER // 2] = 235 / 255  # limited-range white
        return out

    def close(self) -> None:
        self.inner.close()
