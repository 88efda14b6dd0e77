"""MATLAB-compatible bicubic resizing (`imresize(img, scale, 'bicubic')`), as a pure function.

Super-resolution papers make their low-resolution images with MATLAB's imresize, and their
published PSNRs are only reproducible with the same kernel: Keys' cubic with a = −0.5, widened by
1/scale when shrinking (antialiasing), symmetric (mirror) padding at the borders. PyTorch's
`interpolate(mode="bicubic")` uses a = −0.75 and no antialiasing, which is why it is not used here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from vidsr.color import to_u8

KERNEL_WIDTH = 4.0  # Keys' cubic spans [−2, 2]


def cubic(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Keys' cubic convolution kernel with a = −0.5 (MATLAB's `cubic`)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


def resize_matrix(in_len: int, out_len: int, scale: float) -> NDArray[np.float64]:
    """The out_len × in_len matrix M with `resized = M @ signal` along one axis.

    Follows `contributions()` in MATLAB's imresize.m: output pixel x (1-based) samples the input at
    u = x/scale + (1 − 1/scale)/2; when shrinking, the kernel is stretched by 1/scale and scaled
    by `scale`; indices past either border are mirrored (…, 2, 1, 1, 2, …).
    """
    kernel: Callable[[NDArray[np.float64]], NDArray[np.float64]] = cubic
    width = KERNEL_WIDTH
    if scale < 1:
        width = KERNEL_WIDTH / scale

        def kernel(t: NDArray[np.float64]) -> NDArray[np.float64]:
            return scale * cubic(scale * t)

    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = math.ceil(width) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based input positions
    weights = kernel(u[:, None] - idx)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    matrix = np.zeros((out_len, in_len))
    np.add.at(matrix, (np.repeat(np.arange(out_len), taps), cols.ravel()), weights.ravel())
    return matrix


@overload
def imresize(image: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]: ...
@overload
def imresize(image: NDArray[np.floating[Any]], scale: float) -> NDArray[np.float64]: ...
def imresize(image: NDArray[Any], scale: float) -> NDArray[Any]:
    """Resize an H×W or H×W×C image by `scale` like MATLAB's imresize(image, scale, 'bicubic').

    The output size is ceil(H·scale) × ceil(W·scale). uint8 input gives uint8 output (rounded and
    saturated, as MATLAB does); float input gives float64 output, unclipped.
    """
    h, w = image.shape[:2]
    mh = resize_matrix(h, math.ceil(h * scale), scale)
    mw = resize_matrix(w, math.ceil(w * scale), scale)
    src = image.astype(np.float64)
    out = np.einsum("oh,hw...,pw->op...", mh, src, mw, optimize=True)
    return to_u8(out) if image.dtype == np.uint8 else out
