"""Image quality metrics with the SR papers' protocol, as pure functions on 2-D luma arrays
in [0, 255]: `shave` pixels are cropped from every border before measuring."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Plane = NDArray[np.floating]


def _crop(a: Plane, shave: int) -> NDArray[np.float64]:
    a = np.asarray(a, dtype=np.float64)
    return a[shave : a.shape[0] - shave, shave : a.shape[1] - shave] if shave else a


def _check(a: Plane, b: Plane) -> None:
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two 2-D planes of one shape, got {a.shape} and {b.shape}")


def psnr(a: Plane, b: Plane, *, shave: int = 0, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB; inf for identical planes."""
    _check(a, b)
    mse = float(np.mean((_crop(a, shave) - _crop(b, shave)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> NDArray[np.float64]:
    g = np.exp(-((np.arange(size) - size // 2) ** 2) / (2.0 * sigma * sigma))
    g /= g.sum()
    return np.outer(g, g)


def _filter_valid(a: NDArray[np.float64], window: NDArray[np.float64]) -> NDArray[np.float64]:
    """MATLAB's filter2(window, a, 'valid') for a symmetric window."""
    views = np.lib.stride_tricks.sliding_window_view(a, window.shape)
    return np.einsum("ijkl,kl->ij", views, window)


def ssim(a: Plane, b: Plane, *, shave: int = 0, peak: float = 255.0) -> float:
    """Structural similarity of Wang et al. (2004): 11×11 Gaussian window, σ = 1.5,
    K1 = 0.01, K2 = 0.03, 'valid' filtering, mean of the SSIM map (as their ssim_index.m)."""
    _check(a, b)
    x, y = _crop(a, shave), _crop(b, shave)
    w = _gaussian_window()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mx, my = _filter_valid(x, w), _filter_valid(y, w)
    sxx = _filter_valid(x * x, w) - mx * mx
    syy = _filter_valid(y * y, w) - my * my
    sxy = _filter_valid(x * y, w) - mx * my
    ssim_map = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(ssim_map.mean())
