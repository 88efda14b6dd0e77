"""What one run will do, decided the same way wherever it runs (this process, or a cluster's
workers): the output geometry, the model, the backend, the encoder, and the key a resumable job's
journal is made for. `vidsr.api` (one machine) and `vidsr.cluster` (many) both build on this."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import astuple
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import torch

from vidsr.backends import Backend
from vidsr.backends.auto import Choice, choose
from vidsr.backends.select import inference_graph, select
from vidsr.config import Options
from vidsr.errors import ConfigError, CorruptInput
from vidsr.frames import Geometry, plan
from vidsr.models import SHIPPED, load_model
from vidsr.probe import VideoInfo, local_file
from vidsr.resume import Journal, assemble
from vidsr.sink import Sink
from vidsr.source import Source
from vidsr.tiling import TiledBackend, tiling_for

MakeSink = Callable[[av.container.OutputContainer, str, list[av.stream.Stream]], Sink]


def geometry_for(info: VideoInfo, opts: Options) -> Geometry:
    """Plan on the picture as displayed (a 1080p target means 1080 rows on screen), then turn
    the size back to the stored orientation."""
    height, width = info.display_size
    g = plan(height, width, scale=opts.scale, target=opts.target)
    if info.rotation % 180:
        return Geometry(g.scale, g.width, g.height)
    return g


def model_for(info: VideoInfo, opts: Options, geometry: Geometry, device: torch.device) -> Choice:
    """`--model` resolved on `device` (`auto` with `--realtime` times the models there)."""
    return choose(opts.model, geometry.scale, device=device, backend=opts.backend,
                  need_fps=float(info.rate) if opts.realtime and info.rate else None,
                  batch=opts.batch, height=info.height, width=info.width)


def backend_for(info: VideoInfo, opts: Options, geometry: Geometry,
                device: torch.device) -> tuple[Backend, str]:
    """The backend for `opts.model` (already resolved), tiled when `opts.tile` says so, and why."""
    tiling = None if opts.tile is None else tiling_for(
        opts.tile, inference_graph(load_model(opts.model, geometry.scale)),
        device=device, batch=opts.batch, height=info.height, width=info.width)
    # A tiled run's backend is built for the tile windows, the one shape it will see.
    height, width = tiling.window if tiling else (info.height, info.width)
    chosen = select(opts.model, geometry.scale, backend=opts.backend, device=device,
                    batch=opts.batch, height=height, width=width)
    if tiling is None:
        return chosen.backend, chosen.reason
    return (TiledBackend(chosen.backend, tiling),
            chosen.reason + f", {len(tiling.tiles)} tiles of {width}x{height}")


def sink_factory(info: VideoInfo, geometry: Geometry, opts: Options) -> MakeSink:
    def make_sink(container: av.container.OutputContainer, name: str,
                  copy: list[av.stream.Stream]) -> Sink:
        return Sink(container, name=name, info=info, width=geometry.width,
                    height=geometry.height, codec=opts.codec, crf=opts.crf,
                    preset=opts.preset, copy=copy)
    return make_sink


def input_file(src: str | Path, why: str) -> Path:
    path = local_file(src)
    if path is None:
        raise ConfigError(f"{src}: {why} needs an input file (it seeks back into it)")
    return path


def journal_key(path: Path, opts: Options, geometry: Geometry, backend: str,
                device: str) -> dict[str, Any]:
    """Everything that changes the output's frames: a journal made with other values is stale.
    `opts.model` is the resolved model, `backend` the name of the backend that runs."""
    stat = path.stat()
    return {"input": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "model": opts.model, "geometry": list(astuple(geometry)), "backend": backend,
            "device": device, "batch": opts.batch, "frames": opts.frames,
            "weights": SHIPPED[opts.model, geometry.scale].sha256, "codec": opts.codec,
            "crf": opts.crf, "preset": opts.preset}


def check_strict(source: Source, strict: bool) -> None:
    if strict and source.corrupt:
        raise CorruptInput(f"{source.name}: {source.corrupt} corrupt video packet(s) did not "
                           "decode (--strict)")


def finish_segments(journal: Journal, dst: Path, src: str, info: VideoInfo,
                    opts: Options) -> list[str]:
    """Every frame is journaled: remux the segments with `src`'s other streams into `dst`, then
    drop the work folder. Returns the copied streams the output cannot hold."""
    last = journal.last_pts
    # A --frames preview ends the copied streams where its last frame ends, as a plain run does.
    until: Fraction | None = None
    if opts.frames is not None and journal.frames == opts.frames and last is not None:
        until = last * info.time_base + (1 / info.rate if info.rate else 0)
    dropped = assemble(journal, dst, src, until=until)
    shutil.rmtree(journal.folder, ignore_errors=True)
    return dropped
