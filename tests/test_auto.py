"""`--model auto`: best quality for files; for live input the best model that keeps up, timed
once per device and size and cached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vidsr.backends import auto
from vidsr.backends.auto import CANDIDATES, FALLBACK, HEADROOM, choose, measured_fps, speed_key
from vidsr.models import SHIPPED

CPU = torch.device("cpu")
SHAPE = {"batch": 2, "height": 36, "width": 64}


def _candidates(scale: int) -> list[str]:
    return [m for m in CANDIDATES if (m, scale) in SHIPPED] or [FALLBACK]


def _cache(tmp_path: Path, fps: dict[str, float]) -> Path:
    data = {speed_key(m, 2, device=CPU, backend="eager", **SHAPE): v for m, v in fps.items()}
    (tmp_path / auto.CACHE_FILE).write_text(json.dumps(data))
    return tmp_path


def test_a_named_model_is_taken_as_it_is(tmp_path: Path) -> None:
    c = choose("fsrcnn", 2, need_fps=30, device=CPU, backend="eager", cache_dir=tmp_path, **SHAPE)
    assert (c.model, c.fps) == ("fsrcnn", {})


def test_a_file_gets_the_best_quality_without_timing(tmp_path: Path) -> None:
    c = choose("auto", 2, need_fps=None, device=CPU, backend="eager", cache_dir=tmp_path, **SHAPE)
    assert c.model == _candidates(2)[0] and "best quality" in c.reason
    assert not (tmp_path / auto.CACHE_FILE).exists()


def test_live_input_gets_the_best_model_that_keeps_up(tmp_path: Path) -> None:
    names = _candidates(2)
    # The best model is just too slow for 30 fps with headroom; the next one is fast enough.
    fps = {m: 30 * HEADROOM["cpu"] * (0.9 if i == 0 else 10) for i, m in enumerate(names)}
    cache = _cache(tmp_path, fps)
    c = choose("auto", 2, need_fps=30, device=CPU, backend="eager", cache_dir=cache, **SHAPE)
    expected = names[1] if len(names) > 1 else names[0]
    assert c.model == expected
    # Nothing keeps up with 10,000 fps: the fastest, and the reason says frames will drop.
    c = choose("auto", 2, need_fps=10_000, device=CPU, backend="eager", cache_dir=cache, **SHAPE)
    assert c.model == max(fps, key=fps.__getitem__) and "dropped" in c.reason


def test_speeds_are_measured_once_then_read_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, cache = _candidates(2)[0], tmp_path / auto.CACHE_FILE
    fps = measured_fps(model, 2, device=CPU, backend="eager", cache=cache, **SHAPE)
    assert fps > 0 and json.loads(cache.read_text()) == {
        speed_key(model, 2, device=CPU, backend="eager", **SHAPE): fps}

    def no_timing(*args: object, **kwargs: object) -> None:
        raise AssertionError("timed again instead of reading the cache")

    monkeypatch.setattr(auto, "select", no_timing)
    assert measured_fps(model, 2, device=CPU, backend="eager", cache=cache, **SHAPE) == fps
    # Another size is another measurement.
    with pytest.raises(AssertionError, match="timed again"):
        measured_fps(model, 2, device=CPU, backend="eager", cache=cache, batch=2, height=40,
                     width=64)
