"""`vidsr compare`: the crop lands on the detail, the sheet has every panel, the split-screen
clip keeps every frame and the audio."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import SAMPLE
from tests.media import make_clip, read_back
from vidsr.cli import main
from vidsr.compare import detail_crop


def test_the_crop_is_where_the_detail_is_and_always_the_same() -> None:
    y = np.full((120, 160), 100, np.uint8)
    rng = np.random.default_rng(0)
    y[64:96, 104:136] = rng.integers(0, 255, (32, 32))  # the only textured patch
    crop = detail_crop(y, 32)
    assert crop == detail_crop(y.copy(), 32) == (104, 64, 32, 32)
    assert detail_crop(y, 500)[2:] == (120, 120)  # never larger than the frame


def test_the_picture_has_a_labelled_panel_per_row(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp.png"
    code = main(["compare", str(SAMPLE), str(out), "--model", "espcn,fsrcnn", "--frames", "4",
                 "--size", "40", "--zoom", "3", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and set(report["psnr"]) == {"bicubic (player)", "espcn", "fsrcnn"}
    with av.open(str(out)) as c:
        picture = next(c.decode(video=0)).to_ndarray(format="rgb24")
    # original + bicubic + two models, 40×3 pixels each, 6-pixel gaps, 22 rows of labels
    assert picture.shape == (40 * 3 + 22, 4 * 120 + 3 * 6, 3)
    assert main(["compare", str(SAMPLE), str(out)]) != 0  # exists: refused without --overwrite


def test_the_split_screen_clip_keeps_frames_size_and_audio(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", width=96, height=64, frames=20, audio=True)
    out = tmp_path / "split.mp4"
    assert main(["compare", str(src), "--video", str(out), "--model", "espcn", "--quiet"]) == 0
    before, after = read_back(src), read_back(out)
    assert after.frames == before.frames == 20
    assert (after.width, after.height) == (192, 128)
    assert after.audio == before.audio and before.audio  # the same packets, untouched
    with av.open(str(out)) as c:
        y = next(c.decode(video=0)).to_ndarray(format="gray").astype(int)
    assert (y[:, 95:97] > 180).all()  # the divider, down the middle (x264 softens it a little)
