"""Options, config files and output-size planning."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from vidsr.config import Options, StreamOptions, load
from vidsr.errors import ConfigError
from vidsr.geometry import Geometry, plan

CONFIGS = sorted((REPO / "configs").glob("*.toml"))


def test_the_promised_configs_exist() -> None:
    names = {p.name for p in CONFIGS}
    assert {"default.toml", "1080p-from-540p.toml", "1080p-from-360p.toml",
            "stream-low-latency.toml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_config_loads(path: Path) -> None:
    assert isinstance(load(path), Options)


def test_default_toml_is_the_defaults() -> None:
    assert load(REPO / "configs" / "default.toml") == Options()


def test_low_latency_config_sets_stream_keys() -> None:
    opts = load(REPO / "configs" / "stream-low-latency.toml")
    assert opts.stream == StreamOptions(max_batch=1, max_wait_ms=0.0, when_behind="drop",
                                        reconnect=5, timeout=5.0)


@pytest.mark.parametrize(("text", "named"), [
    ('modle = "espcn"\n', "'modle'"),
    ('[stream]\nmax_batches = 2\n', "'stream.max_batches'"),
])
def test_unknown_key_is_an_error_naming_it(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=named) as err:
        load(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text", ['batch = "8"\n', "scale = true\n", 'device = "tpu"\n',
                                  "batch = 0\n", 'target = "huge"\n', "scale = 5\n",
                                  "[stream]\nwhen_behind = \"panic\"\n", "crf = [1]\n"])
def test_bad_values_are_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load(path)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml")
    (tmp_path / "broken.toml").write_text("model = \n")
    with pytest.raises(ConfigError, match="TOML"):
        load(tmp_path / "broken.toml")


def test_flags_override_the_file_and_scale_target_exclude_each_other(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('target = "1080p"\nbatch = 2\n')
    opts = load(path)
    assert (opts.scale, opts.target, opts.batch) == (None, "1080p", 2)
    flagged = opts.override(scale=3, batch=None)
    assert (flagged.scale, flagged.target, flagged.batch) == (3, None, 2)
    assert Options().override(target="720p").scale is None
    with pytest.raises(ConfigError, match="exactly one"):
        Options(scale=2, target="1080p")
    with pytest.raises(ConfigError, match="unknown option"):
        Options().override(colour="red")


@pytest.mark.parametrize(("size", "kwargs", "expected"), [
    ((48, 64), {"scale": 2}, Geometry(2, 96, 128)),
    ((9, 17), {"scale": 2}, Geometry(2, 18, 34)),
    ((9, 17), {"scale": 3}, Geometry(3, 26, 50)),  # 27×51 made even
    ((540, 960), {"target": "1080p"}, Geometry(2, 1080, 1920)),
    ((360, 640), {"target": "1080p"}, Geometry(3, 1080, 1920)),
    ((360, 480), {"target": "1080p"}, Geometry(3, 1080, 1440)),
    ((240, 426), {"target": "1080p"}, Geometry(4, 1080, 1916)),  # 4.5x: x4 then resize
    ((480, 640), {"target": "720p"}, Geometry(2, 720, 960)),  # 1.5x: the smallest model
    ((48, 64), {"target": "200x100"}, Geometry(3, 100, 132)),  # fits the box, aspect kept
])
def test_plan(size: tuple[int, int], kwargs: dict[str, object], expected: Geometry) -> None:
    assert plan(*size, **kwargs) == expected


@pytest.mark.parametrize("kwargs", [{}, {"scale": 2, "target": "1080p"}, {"scale": 5},
                                    {"target": "720p"}, {"target": "axb"}])
def test_plan_rejects(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        plan(1080, 1920, **kwargs)
