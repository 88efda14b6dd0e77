"""The pure maths: MATLAB-compatible bicubic, BT.601 luma, PSNR/SSIM, and the papers' baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.conftest import SET5, needs
from vidsr.color import rgb_to_y, to_u8
from vidsr.dataset import degrade, load_images, make_pairs
from vidsr.evaluate import evaluate
from vidsr.metrics import psnr, ssim
from vidsr.resize import cubic, imresize, resize_matrix


def test_cubic_kernel_matches_keys_a_minus_half() -> None:
    # Keys (1981) with a = -0.5: 1.5|x|³ - 2.5|x|² + 1 on [0, 1];
    # -0.5|x|³ + 2.5|x|² - 4|x| + 2 on (1, 2].
    x = np.array([0.0, 0.25, 0.75, 1.0, 1.25, 1.75, 2.0, 2.5])
    expected = [1.0, 0.8671875, 0.2265625, 0.0, -0.0703125, -0.0234375, 0.0, 0.0]
    np.testing.assert_allclose(cubic(x), expected)
    np.testing.assert_allclose(cubic(-x), expected)


def test_upscale_by_two_matches_hand_computed_matlab_values() -> None:
    # imresize([0 0 64 0], 2): output x samples input u = x/2 + 0.25 with taps at distances
    # 0.25/0.75/1.25/1.75, weights 0.8671875, 0.2265625, -0.0703125, -0.0234375, and positions
    # past the ends mirrored (…, a2, a1 | a1 … a4 | a4, a3, …). E.g. x = 8 (u = 4.25):
    # -0.0703125·a3 + 0.8671875·a4 + 0.2265625·a4 - 0.0234375·a3 = -0.09375·64 = -6.
    out = imresize(np.array([[0.0, 0.0, 64.0, 0.0]]), 2)
    np.testing.assert_allclose(out[0], [0, -1.5, -4.5, 14.5, 55.5, 55.5, 14.5, -6.0])
    # uint8 in, uint8 out: MATLAB rounds half away from zero (14.5 -> 15) and saturates (-6 -> 0).
    out8 = imresize(np.array([[0, 0, 64, 0]], dtype=np.uint8), 2)
    assert out8.dtype == np.uint8
    assert out8[0].tolist() == [0, 0, 0, 15, 56, 56, 15, 0]


def test_downscale_is_antialiased_and_preserves_constants() -> None:
    m = resize_matrix(12, 4, 1 / 3)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    # Stretched by 1/scale, the kernel reaches 6 input pixels either side, not 2.
    assert (np.abs(m[1]) > 1e-12).sum() > 4
    flat = np.full((9, 12, 3), 77, dtype=np.uint8)
    assert (imresize(flat, 1 / 3) == 77).all()
    assert imresize(flat, 1 / 3).shape == (3, 4, 3)


def test_rgb_to_y_is_matlab_bt601_limited_range() -> None:
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_allclose(rgb_to_y(rgb)[0], [16.0, 235.0, 81.481, 144.553, 40.966])
    with pytest.raises(ValueError, match="uint8 RGB"):
        rgb_to_y(rgb.astype(np.float32))


def test_to_u8_rounds_half_away_from_zero_and_saturates() -> None:
    assert to_u8(np.array([0.5, 1.5, 2.5, 254.6, 300.0, -3.0])).tolist() == [1, 2, 3, 255, 255, 0]


def test_psnr_on_known_pairs() -> None:
    a = np.zeros((8, 8))
    assert psnr(a, a) == math.inf
    # MSE 1 -> 10·log10(255²) = 48.1308 dB
    assert psnr(a, a + 1) == pytest.approx(48.130803608679, abs=1e-9)
    b = a.copy()
    b[0, :] = 100  # only the border differs: shaving it makes the planes identical
    assert psnr(a, b, shave=1) == math.inf
    with pytest.raises(ValueError, match="2-D planes"):
        psnr(a, np.zeros((8, 9)))


def test_ssim_on_known_pairs() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 255, (32, 32))
    assert ssim(a, a) == pytest.approx(1.0)
    # A constant offset leaves structure and contrast intact: only the luminance term drops.
    assert 0.9 < ssim(a, a + 20) < 1.0
    assert ssim(a, rng.uniform(0, 255, (32, 32))) < 0.1


@pytest.mark.parametrize(
    ("scale", "bicubic_psnr", "bicubic_ssim"),
    [(2, 33.66, 0.9299), (3, 30.39, 0.8682), (4, 28.42, 0.8104)],
)
def test_set5_bicubic_baseline_matches_the_literature(
    scale: int, bicubic_psnr: float, bicubic_ssim: float
) -> None:
    pairs = make_pairs(load_images([needs(SET5)]), scale)
    report = evaluate(torch.nn.Upsample(scale_factor=scale), pairs, scale)
    assert report.mean("bicubic_psnr") == pytest.approx(bicubic_psnr, abs=0.03)
    assert report.mean("bicubic_ssim") == pytest.approx(bicubic_ssim, abs=0.002)


def test_degrade_shapes_and_types() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (50, 61, 3), dtype=np.uint8)
    lr, hr = degrade(rgb, 3)
    assert hr.shape == (48, 60) and lr.shape == (16, 20)
    assert lr.dtype == hr.dtype == np.uint8
