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
    SOFT_SHARE,
    Recipe,
    degrade_clip,
    draw_recipe,
    pan,
    stream_pairs,
    video_pairs,
    windows,
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


def test_windows_hold_each_frame_after_the_ones_before_it() -> None:
    lr = [np.full((2, 2), i, np.uint8) for i in range(4)]
    cut = [np.full((2, 2), 9, np.uint8)] * 2
    firsts = [w[:, 0, 0].tolist() for w in windows(lr, [], 3)]
    assert firsts == [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3]]  # a stream's start
    assert [w[:, 0, 0].tolist() for w in windows(lr, cut, 3)][:2] == [[9, 9, 0], [9, 0, 1]]
    assert [w[:, 0, 0].tolist() for w in windows(lr, [], 1)] == [[0], [1], [2], [3]]


def test_multi_frame_pairs_follow_their_clip_and_sometimes_a_cut() -> None:
    single = video_pairs(_images(), 2, 3, seed=5)
    multi = video_pairs(_images(), 2, 30, seed=5, frames=3)
    assert all(p.lr_y.shape == (3, LR_WINDOW, LR_WINDOW) for p in multi)
    # The first clip is the single-frame pool's (the cut draw comes after it), current frame last.
    assert all((m.current == s.lr_y).all() and (m.hr_y == s.hr_y).all()
               for m, s in zip(multi[:CLIP_FRAMES], single, strict=False))
    starts, cuts = 0, 0
    for c in range(1, 30):
        clip = multi[c * CLIP_FRAMES : (c + 1) * CLIP_FRAMES]
        for i in range(1, CLIP_FRAMES):  # inside a clip: the frame before is the one before
            assert (clip[i].lr_y[1] == clip[i - 1].current).all()
        before = multi[c * CLIP_FRAMES - 1].current
        if (clip[0].lr_y[:2] == clip[0].current).all():
            starts += 1
        elif (clip[0].lr_y[1] == before).all():
            cuts += 1
    assert starts + cuts == 29 and 1 <= cuts <= 14  # CUT_SHARE 0.2 of 29 clips: 5.8 expected


def test_the_multi_frame_validation_stream_is_a_still_coded_frame_by_frame() -> None:
    images = load_images([needs(SET5)])[:2]
    one, three = stream_pairs(images, 2), stream_pairs(images, 2, frames=3)
    for a, b in zip(one, three, strict=True):
        assert b.lr_y.shape == (3, *a.lr_y.shape) and (b.hr_y == a.hr_y).all()
        # The same picture in each, but each frame quantised its own way.
        assert all(psnr(f, a.lr_y) > 35 for f in b.lr_y)
        assert (b.lr_y[0] != b.lr_y[2]).any()
