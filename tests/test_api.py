"""The public Python API: `vidsr.upscale`, `vidsr.load_model`, `RunStats`, the errors."""

from __future__ import annotations

import inspect
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import torch

import vidsr
from tests.media import make_clip
from vidsr.frames import FrameBatch


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert vidsr.__all__ == sorted(vidsr.__all__)
    for name in vidsr.__all__:
        assert getattr(vidsr, name) is not None
    assert issubclass(vidsr.InputNotFound, vidsr.VidsrError)
    with pytest.raises(AttributeError):
        vidsr.no_such_thing  # noqa: B018


def test_importing_vidsr_does_not_import_torch() -> None:
    # `vidsr --help` imports the package: it must stay instant.
    code = "import sys, vidsr; print('torch' in sys.modules, 'av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_load_model_contract() -> None:
    assert list(inspect.signature(vidsr.load_model).parameters) == ["name", "scale"]
    model = vidsr.load_model("espcn", 3)
    assert not model.training
    assert next(model.parameters()).device.type == "cpu"
    with torch.inference_mode():
        out = model(torch.rand(2, 1, 10, 12))
    assert out.shape == (2, 1, 30, 36)


def test_upscale_returns_stats_and_reports_progress(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=7)
    seen: list[tuple[int, int | None]] = []
    stats = vidsr.upscale(src, tmp_path / "out.mp4", scale=2, batch=3,
                          on_progress=lambda done, total: seen.append((done, total)))
    assert isinstance(stats, vidsr.RunStats)
    assert [done for done, _ in seen] == [3, 6, 7]
    assert seen[-1][1] == 7
    assert (stats.frames, stats.width, stats.height, stats.scale) == (7, 128, 96, 2)
    assert stats.output_bytes == (tmp_path / "out.mp4").stat().st_size
    assert stats.input_bytes == src.stat().st_size
    assert stats.backend in {"tensorrt", "compile", "eager"} and stats.reason
    assert stats.corrupt == 0  # and the default, auto, gave a file the best-quality model:
    assert stats.model == "medium" and "best quality" in stats.model_reason
    assert set(stats.busy) == {"decode", "h2d", "infer", "d2h", "encode"}
    assert stats.busy["infer"] > 0


def test_upscale_reads_a_config_and_options_override_it(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=2, audio=False)
    config = tmp_path / "c.toml"
    config.write_text('model = "fsrcnn"\nscale = 3\n')
    stats = vidsr.upscale(src, tmp_path / "a.mp4", config=config, backend="eager")
    assert (stats.model, stats.scale, stats.width) == ("fsrcnn", 3, 192)
    stats = vidsr.upscale(src, tmp_path / "b.mp4", config=config, scale=2, backend="eager")
    assert (stats.model, stats.scale, stats.width) == ("fsrcnn", 2, 128)


def test_frame_batch_validates_and_shows_shapes() -> None:
    y = torch.zeros(2, 1, 9, 17, dtype=torch.uint8)
    uv = torch.zeros(2, 2, 5, 9, dtype=torch.uint8)
    batch = FrameBatch(y, uv, [0, 1], Fraction(1, 24))
    assert "(2, 1, 9, 17)" in repr(batch) and "(2, 2, 5, 9)" in repr(batch)
    with pytest.raises(ValueError, match="4:2:0"):
        FrameBatch(y, uv[:, :, :4], [0, 1], Fraction(1, 24))
    with pytest.raises(ValueError, match="timestamps"):
        FrameBatch(y, uv, [0], Fraction(1, 24))
    with pytest.raises(ValueError, match="10-bit"):
        FrameBatch(y, uv, [0, 1], Fraction(1, 24), bits=10)


def test_realtime_auto_times_the_models_and_says_which_kept_up(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=4)
    stats = vidsr.upscale(src, tmp_path / "out.mp4", scale=2, batch=2, realtime=True,
                          device="cpu", backend="eager")
    assert stats.model in {"medium", "small", "tiny"} and "fps" in stats.model_reason
    assert "source's 24 fps" in stats.model_reason  # make_clip's rate, not a default
