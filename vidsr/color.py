"""Colour conversion, as pure functions."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# ITU-R BT.601, limited ("studio") range, exactly as MATLAB's rgb2ycbcr: for R, G, B in [0, 1],
# Y = 16 + 65.481 R + 128.553 G + 24.966 B, in [16, 235]. The SR papers report PSNR on this Y;
# OpenCV's cvtColor uses full range and gives different numbers.
BT601_Y = np.array([65.481, 128.553, 24.966]) / 255.0


def rgb_to_y(rgb: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Luma of an H×W×3 uint8 RGB image, BT.601 limited range, as float64 in [16, 235]."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    return 16.0 + rgb.astype(np.float64) @ BT601_Y


def to_u8(a: NDArray[np.floating]) -> NDArray[np.uint8]:
    """MATLAB's uint8(): round half away from zero, then saturate to [0, 255].

    np.round rounds ties to even (14.5 -> 14); MATLAB gives 15. Ties are common when an integer
    upscale's dyadic cubic weights meet integer pixels, so the difference is not academic.
    """
    return np.clip(np.floor(np.asarray(a, dtype=np.float64) + 0.5), 0, 255).astype(np.uint8)
