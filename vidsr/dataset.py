"""Still images for training and evaluation, and the papers' degradation model.

`degrade` is the one definition of "low resolution" that `vidsr train` and `vidsr eval` share:
modcrop the HR image to the scale, shrink it in RGB with MATLAB's antialiased bicubic, round to
uint8, and take BT.601 luma of both. Images are read with PyAV, which decodes PNG/BMP/JPEG.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import av
import numpy as np
from numpy.typing import NDArray

from vidsr.color import rgb_to_y, to_u8
from vidsr.errors import InputError, InputNotFound
from vidsr.resize import imresize

IMAGE_SUFFIXES = {".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff"}
# FSRCNN's data augmentation: each training image is also used shrunk by these factors.
HR_SCALES = (1.0, 0.9, 0.8, 0.7, 0.6)


@dataclass(frozen=True)
class Image:
    name: str
    rgb: NDArray[np.uint8]  # H×W×3


@dataclass(frozen=True)
class Pair:
    """A low/high-resolution uint8 luma pair, the LR exactly `scale` times smaller."""

    name: str
    lr_y: NDArray[np.uint8]
    hr_y: NDArray[np.uint8]


def read_rgb(path: Path) -> NDArray[np.uint8]:
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            return cast(NDArray[np.uint8], frame.to_ndarray(format="rgb24"))
    except (av.FFmpegError, StopIteration) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from exc


def load_images(dirs: Iterable[Path]) -> list[Image]:
    """Every image file directly inside each folder, sorted by name for reproducibility."""
    images: list[Image] = []
    for folder in dirs:
        if not folder.is_dir():
            raise InputNotFound(f"{folder}: no such folder of images")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{folder}: holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        images += [Image(f"{folder.name}/{p.stem}", read_rgb(p)) for p in files]
    return images


def modcrop(rgb: NDArray[np.uint8], scale: int) -> NDArray[np.uint8]:
    h, w = rgb.shape[:2]
    return rgb[: h - h % scale, : w - w % scale]


def luma_u8(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    # MATLAB's rgb2ycbcr returns uint8 for uint8 input; a decoded video's Y plane is uint8 too.
    return to_u8(rgb_to_y(rgb))


def degrade(rgb: NDArray[np.uint8], scale: int) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """(LR luma, HR luma) of an RGB uint8 image under the papers' bicubic degradation."""
    hr = modcrop(rgb, scale)
    lr = imresize(hr, 1.0 / scale)
    return luma_u8(lr), luma_u8(hr)


def make_pairs(images: Iterable[Image], scale: int) -> list[Pair]:
    return [Pair(im.name, *degrade(im.rgb, scale)) for im in images]
