"""`--degrade video`: reproducible clips, aligned LR/HR pairs, and a CRF that really degrades."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SET5, needs
from vidsr.color import to_u8
from vidsr.dataset import Image, load_images
from vidsr.degrade import (
    CLIP_FRAMES,
    CRF_RANGE,
    LR_WINDOW,
    SCALERS,
    SOFT_SHARE,
    Recipe,
    degrade_clip,
    draw_recipe,
    pan,
    stream_pairs,
    video_pairs,
)
from vidsr.metrics import psnr
from vidsr.resize import imresize


def _images() -> list[Image]:
    """Two sharp synthetic photos: edges at every angle and fine texture."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:300, 0:340]
    out = []
    for i in range(2):
        rings = 127 + 110 * np.sin(np.hypot(yy - 150, xx - 170) / (3 + i))
        noise = rng.normal(0, 20, yy.shape)
        rgb = np.stack([rings, rings * 0.6 + noise, 255 - rings], -1)
        out.append(Image(f"im{i}", to_u8(rgb)))
    return out


def test_the_same_seed_gives_the_same_clips_and_another_seed_others() -> None:
    a = video_pairs(_images(), 2, 12, seed=3)
    b = video_pairs(_images(), 2, 12, seed=3)
    assert len(a) == 12 * CLIP_FRAMES
    assert all((x.lr_y == y.lr_y).all() and (x.hr_y == y.hr_y).all()
               for x, y in zip(a, b, strict=True))
    c = video_pairs(_images(), 2, 12, seed=4)
    assert any((x.lr_y != y.lr_y).any() for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_pairs_are_aligned_and_scale_times_smaller(scale: int) -> None:
    for p in video_pairs(_images(), scale, 3, seed=0):
        assert p.lr_y.shape == (LR_WINDOW, LR_WINDOW)
        assert p.hr_y.shape == (LR_WINDOW * scale, LR_WINDOW * scale)
        # Aligned: bicubic back up is far closer to its own HR than to a shifted one.
        up = to_u8(imresize(p.lr_y.astype(np.float64), scale))
        shifted = np.roll(p.hr_y, 2 * scale, axis=1)
        assert psnr(up, p.hr_y, shave=3 * scale) > psnr(up, shifted, shave=3 * scale) + 1


def test_a_lower_crf_keeps_more_of_the_picture() -> None:
    rng = np.random.default_rng(0)
    frames = pan(_images()[0].rgb, 2 * LR_WINDOW, rng)
    error = {}
    for crf in (16, 36):
        pairs = degrade_clip(frames, 2, Recipe("bicubic", crf, "medium", 0.0, 0.0), rng)
        clean = degrade_clip(frames, 2, Recipe("bicubic", None, "medium", 0.0, 0.0), rng)
        error[crf] = np.mean([psnr(lr, c) for (lr, _), (c, _) in zip(pairs, clean,
                                                                       strict=True)])
    assert error[16] > error[36] + 5  # CRF 36 is visibly blocky; CRF 16 nearly transparent


def test_the_validation_stream_is_fixed() -> None:
    images = load_images([needs(SET5)])
    a, b = stream_pairs(images, 3), stream_pairs(images, 3)
    assert [p.name for p in a] == [f"Set5/{n}" for n in ("baby", "bird", "butterfly", "head",
                                                          "woman")]
    for x, y in zip(a, b, strict=True):
        assert (x.lr_y == y.lr_y).all()
        assert x.hr_y.shape == (x.lr_y.shape[0] * 3, x.lr_y.shape[1] * 3)


def test_the_share_of_soft_sources_is_what_was_asked() -> None:
    rng = np.random.default_rng(0)
    assert not any(draw_recipe(rng, 0.0).soft for _ in range(200))
    assert all(draw_recipe(rng, 1.0).soft for _ in range(200))
    share = np.mean([draw_recipe(rng).soft > 0 for _ in range(2000)])
    assert abs(share - SOFT_SHARE) < 0.05


def test_crfs_are_drawn_from_the_range_asked_for() -> None:
    crfs = {draw_recipe(np.random.default_rng(i), crf_range=(28, 30)).crf for i in range(300)}
    assert crfs == {None, 28, 29, 30}
    assert {draw_recipe(np.random.default_rng(i)).crf for i in range(300)} <= {
        None, *range(CRF_RANGE[0], CRF_RANGE[1] + 1)}


def test_scalers_are_drawn_from_the_list_asked_for_repeats_weighing_more() -> None:
    assert {draw_recipe(np.random.default_rng(i), scalers=("area",)).scaler
            for i in range(50)} == {"area"}
    rng = np.random.default_rng(0)
    mix = ("bicubic", "bicubic", "bicubic", "lanczos")
    share = np.mean([draw_recipe(rng, scalers=mix).scaler == "bicubic" for _ in range(2000)])
    assert abs(share - 0.75) < 0.05
    assert {draw_recipe(np.random.default_rng(i)).scaler for i in range(300)} == set(SCALERS)
