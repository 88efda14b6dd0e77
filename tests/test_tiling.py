"""Tiled inference: the tiling math, and stitched output equal to the whole-frame output."""

from __future__ import annotations

import pytest
import torch

from vidsr.backends.eager import EagerBackend
from vidsr.errors import ConfigError
from vidsr.models import build
from vidsr.models.collapsible import Collapsible
from vidsr.models.fsrcnn import to_subpixel
from vidsr.models.graph import inference_graph
from vidsr.tiling import TiledBackend, Tiling, auto_tile, plan, receptive_radius, tiling_for

CPU = torch.device("cpu")


def _model(name: str, scale: int) -> torch.nn.Module:
    """A randomly initialised model ("fsrcnn-sub": FSRCNN's sub-pixel rewrite): random weights
    reach as far as trained ones, and no shipped file is needed."""
    torch.manual_seed(0)
    model = build(name.removesuffix("-sub"), scale).eval()
    if isinstance(model, Collapsible):  # its residual branch starts at zero: wake it up
        torch.nn.init.normal_(model.tail.narrow.weight, std=0.1)
        return inference_graph(model)
    return to_subpixel(model) if name.endswith("-sub") else model


@pytest.mark.parametrize(("height", "width", "tile", "overlap"),
                         [(17, 9, 4, 2), (64, 64, 64, 5), (1, 1, 8, 3), (100, 37, 30, 0),
                          (50, 41, 10, 4), (23, 23, 7, 3)])
def test_plan_covers_every_pixel_once_with_windows_of_one_size(height: int, width: int,
                                                                tile: int, overlap: int) -> None:
    cover = torch.zeros(height, width, dtype=torch.int32)
    tiles = plan(height, width, tile, overlap)
    sizes = {(t.hy1 - t.hy0, t.hx1 - t.hx0) for t in tiles}
    assert sizes == {(min(height, tile + 2 * overlap), min(width, tile + 2 * overlap))}
    for t in tiles:
        cover[t.y0:t.y1, t.x0:t.x1] += 1
        assert 0 <= t.hy0 <= t.y0 < t.y1 <= t.hy1 <= height
        assert 0 <= t.hx0 <= t.x0 < t.x1 <= t.hx1 <= width
        # A core keeps `overlap` pixels of real context from every window edge inside the frame.
        for inner, edge in ((t.y0 - t.hy0, t.hy0), (t.x0 - t.hx0, t.hx0)):
            assert inner >= overlap or edge == 0
        for inner, edge, end in ((t.hy1 - t.y1, t.hy1, height), (t.hx1 - t.x1, t.hx1, width)):
            assert inner >= overlap or edge == end
    assert bool((cover == 1).all())


def test_plan_rejects_bad_sizes() -> None:
    with pytest.raises(ConfigError):
        plan(10, 10, 0, 2)


@pytest.mark.parametrize(("name", "scale", "radius"),
                         [("espcn", 3, 4), ("fsrcnn", 2, 8), ("fsrcnn-sub", 2, 8),
                          ("fsrcnn", 4, 7), ("fsrcnn-s", 3, 5), ("small", 2, 5),
                          ("tiny", 4, 6)])
def test_receptive_radius_matches_the_reach_of_an_impulse(name: str, scale: int,
                                                          radius: int) -> None:
    model = _model(name, scale)
    assert receptive_radius(model) == radius
    size, centre = 41, 20
    x = torch.rand(1, 1, size, size)
    poked = x.clone()
    poked[..., centre, centre] += 0.5
    with torch.no_grad():
        changed = (model(poked) - model(x)).abs()[0, 0] > 0
    rows, cols = changed.any(1).nonzero()[:, 0], changed.any(0).nonzero()[:, 0]
    # The low-resolution pixels whose output blocks changed lie within `radius` of the poke,
    # and the reach is attained (the radius is not an overestimate).
    reach = max(abs(int(v) // scale - centre) for v in (*rows[[0, -1]], *cols[[0, -1]]))
    assert reach == radius


def _tiled(model: torch.nn.Module, tile: int, height: int, width: int) -> TiledBackend:
    tiling = tiling_for(tile, model, device=CPU, batch=2, height=height, width=width)
    assert tiling is not None
    return TiledBackend(EagerBackend(model, CPU), tiling)


@pytest.mark.parametrize(("name", "scale", "tile"),
                         [("espcn", 2, 16), ("espcn", 3, 9), ("fsrcnn", 2, 13),
                          ("fsrcnn-sub", 4, 11), ("small", 2, 9), ("tiny", 3, 10)])
def test_tiled_output_equals_whole_frame_output(name: str, scale: int, tile: int) -> None:
    model = _model(name, scale)
    x = torch.rand(2, 1, 31, 26)
    tiled = _tiled(model, tile, 31, 26)
    assert len(tiled.tiling.tiles) > 1
    whole = EagerBackend(model, CPU).infer(x)
    # Every output pixel saw exactly the inputs (and frame-edge padding) of the whole-frame run.
    assert torch.equal(tiled.infer(x), whole)


def test_too_little_overlap_shows_seams() -> None:
    # The test above can fail: with the overlap below the receptive radius, seams appear.
    model = _model("espcn", 2)
    short = Tiling(tuple(plan(40, 40, 16, receptive_radius(model) - 1)), (0, 0))
    x = torch.rand(1, 1, 40, 40)
    inner = EagerBackend(model, CPU)
    assert (TiledBackend(inner, short).infer(x) - inner.infer(x)).abs().max() > 1e-3


def test_frames_within_the_tile_size_run_whole() -> None:
    model = _model("espcn", 2)
    assert tiling_for(64, model, device=CPU, batch=1, height=64, width=64) is None
    tiling = tiling_for(64, model, device=CPU, batch=1, height=65, width=10)
    assert tiling is not None and tiling.window == (65, 10)  # 64 + 2·4 > 65: one window high


def test_auto_tile_fits_the_budget() -> None:
    assert auto_tile(1080, 1920, 4, 8, 512, budget=10**10) is None
    side = auto_tile(4320, 7680, 1, 8, 512, budget=256 * 2**20)
    assert side is not None and 1 * (side + 16) ** 2 * 512 <= 256 * 2**20


def test_bad_tile_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="tile must be"):
        tiling_for(0, _model("espcn", 2), device=CPU, batch=1, height=99, width=99)
