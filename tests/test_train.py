"""`vidsr train` on tiny data: the loss falls, runs are reproducible, and --resume continues."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from torch import nn

from vidsr.cli import train as cli
from vidsr.models import weights
from vidsr.models.collapsible import Collapsible
from vidsr.train import Progress, TrainConfig, _init_from, train


def _write_png(path: Path, rgb: np.ndarray) -> None:
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], "rgb24"
        for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 72×72 images of smooth blobs and edges: learnable structure, not noise."""
    folder = tmp_path_factory.mktemp("images")
    yy, xx = np.mgrid[0:72, 0:72] / 72.0
    for i in range(3):
        r = 127 + 120 * np.sin(2 * np.pi * (xx * (i + 1) + yy))
        g = 255 * (xx + yy > 0.8 + 0.1 * i)
        b = 127 + 120 * np.cos(2 * np.pi * yy * (i + 2))
        _write_png(folder / f"im{i}.png", np.stack([r, g, b], -1).astype(np.uint8))
    return folder


def _cfg(images: Path, out: Path, **kw: object) -> TrainConfig:
    base = dict(
        model="fsrcnn-s",
        scale=2,
        data=(images,),
        out_dir=out,
        iterations=40,
        batch=8,
        patch=8,
        lr=3e-3,
        val_every=10,
    )
    return TrainConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_loss_falls_and_weights_carry_their_recipe(images: Path, tmp_path: Path) -> None:
    seen: list[Progress] = []
    path = train(_cfg(images, tmp_path, val=images, command="vidsr train …"), seen.append)
    losses = [p.loss for p in seen]
    # Progress reports a smoothed loss, so a clear fall over 40 steps is what to expect.
    assert losses[-1] < 0.7 * losses[0]
    _, meta = weights.load(path)
    assert meta["arch"] == "fsrcnn-s" and meta["scale"] == 2 and meta["command"] == "vidsr train …"
    assert meta["config"]["iterations"] == 40 and meta["val"]["set"] == images.name
    assert path.name == f"fsrcnn-s_x2-{weights.sha256_file(path)[:8]}.pt"


def test_same_recipe_gives_the_same_file(images: Path, tmp_path: Path) -> None:
    a = train(_cfg(images, tmp_path / "a", iterations=15))
    b = train(_cfg(images, tmp_path / "b", iterations=15))
    assert a.name == b.name and a.read_bytes() == b.read_bytes()
    c = train(_cfg(images, tmp_path / "c", iterations=15, seed=1))
    assert c.name != a.name


def test_resume_continues_to_the_same_result(images: Path, tmp_path: Path) -> None:
    straight = train(_cfg(images, tmp_path / "straight", iterations=20))
    ckpt = tmp_path / "run.ckpt"

    def interrupt_after_15(p: Progress) -> None:
        if p.iteration == 15:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            _cfg(images, tmp_path / "resumed", iterations=20, checkpoint=ckpt), interrupt_after_15
        )
    resumed = train(_cfg(images, tmp_path / "resumed", iterations=20, checkpoint=ckpt, resume=True))
    assert resumed.read_bytes() == straight.read_bytes()


def test_video_degradation_trains_reproducibly_and_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    yy, xx = np.mgrid[0:160, 0:170]
    rings = 127 + 110 * np.sin(np.hypot(yy - 80, xx - 85) / 3)
    _write_png(folder / "rings.png", np.stack([rings, 255 - rings, rings], -1).astype(np.uint8))
    cfg = dict(model="tiny", scale=2, data=(folder,), val=folder, iterations=12, batch=4,
               patch=16, val_every=6, degrade="video", clips=3, loss="l1", crf_range=(24, 30))
    a = train(TrainConfig(out_dir=tmp_path / "a", **cfg))  # type: ignore[arg-type]
    b = train(TrainConfig(out_dir=tmp_path / "b", **cfg))  # type: ignore[arg-type]
    assert a.read_bytes() == b.read_bytes()
    _, meta = weights.load(a)
    assert meta["config"]["degrade"] == "video" and meta["config"]["loss"] == "l1"
    assert meta["config"]["crf_range"] == [24, 30]
    assert meta["val"]["degrade"] == "stream crf 23"


def test_fields_added_later_stay_out_of_old_recipes(images: Path, tmp_path: Path) -> None:
    # A paper-protocol run records no degrade/loss/clips, so the files made before those
    # options existed are still reproduced byte for byte by their recorded commands.
    _, meta = weights.load(train(_cfg(images, tmp_path, iterations=2)))
    assert not {"degrade", "loss", "clips", "soft_share", "crf_range", "scalers"} & set(
        meta["config"])


def test_a_crf_range_or_scaler_list_that_makes_no_sense_is_a_one_line_error(
        images: Path, capsys) -> None:
    from vidsr.cli import main

    base = ["train", "--model", "tiny", "--scale", "2", "--data", str(images),
            "--degrade", "video", "--iterations", "1"]
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--crf-range", "30"])
    assert exit_.value.code == 2 and "expected LOW-HIGH" in capsys.readouterr().err
    assert main([*base, "--crf-range", "38-20"]) == 2
    err = capsys.readouterr().err.strip()
    assert "crf_range" in err and "\n" not in err
    assert main([*base, "--scalers", "bicubic,sinc"]) == 2
    err = capsys.readouterr().err.strip()
    assert "scalers must name some of bicubic" in err and "\n" not in err


def test_a_deeper_model_grown_from_a_shallower_file_starts_as_its_function(tmp_path: Path) -> None:
    torch.manual_seed(0)
    shallow = Collapsible(2, features=8, blocks=2)
    for p in shallow.parameters():  # the zero-initialised tail too: a non-trivial function
        nn.init.normal_(p, std=0.1)
    path = weights.save(shallow.state_dict(), {}, tmp_path, "shallow")
    deep = Collapsible(2, features=8, blocks=4)
    _init_from(deep, path)
    x = torch.rand(1, 1, 12, 10)
    with torch.no_grad():
        assert torch.allclose(deep(x), shallow(x), atol=1e-6)
        assert not torch.allclose(deep(x), Collapsible(2, features=8, blocks=4)(x), atol=1e-3)
    # The new blocks can learn: their residual branch gets a gradient.
    deep(x).square().mean().backward()
    assert deep.body[3].narrow.weight.grad.abs().sum() > 0  # type: ignore[union-attr]


def test_the_command_line_defaults_are_the_library_defaults() -> None:
    # `vidsr train` repeats them as literals (its module imports no torch, so --help is instant);
    # a drift would silently train, and record, another recipe than the library documents.
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = vars(parser.parse_args(["train", "--model", "tiny", "--scale", "2", "--data", "d"]))
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)
                if f.name in args and f.default is not dataclasses.MISSING}
    assert {"soft_share", "crf_range", "scalers", "clips", "loss", "degrade",
            "iterations"} <= set(defaults)
    assert {name: args[name] for name in defaults} == defaults
