"""The backend a run gets from its options, in one place for files, live streams and benchmarks:
the model (`auto` chooses it), the tiling (`tile`), then the backend itself."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidsr.backends import Backend
from vidsr.backends.auto import choose
from vidsr.backends.select import select
from vidsr.config import Options
from vidsr.models import load_model
from vidsr.models.graph import inference_graph
from vidsr.tiling import TiledBackend, tiling_for


@dataclass(frozen=True)
class Prepared:
    backend: Backend
    reason: str  # why this backend (and how the frames are tiled)
    model: str
    model_reason: str  # why this model (`auto` says what it measured)


def backend_for(opts: Options, device: torch.device, *, scale: int, height: int, width: int,
                batch: int, need_fps: float | None = None) -> Prepared:
    """The backend for `opts` on `device`, for batches of up to `batch` height×width frames.
    `need_fps`: the source is live (or `realtime`), and `auto` must pick a model that keeps up."""
    chosen = choose(opts.model, scale, need_fps=need_fps, device=device, backend=opts.backend,
                    batch=batch, height=height, width=width)
    graph = inference_graph(load_model(chosen.model, scale))
    tiling = None if opts.tile is None else tiling_for(
        opts.tile, graph, device=device, batch=batch, height=height, width=width)
    # A tiled run's backend is built for the tile windows, the one shape it will see.
    window_h, window_w = tiling.window if tiling else (height, width)
    selection = select(chosen.model, scale, backend=opts.backend, device=device, batch=batch,
                       height=window_h, width=window_w, graph=graph)
    if tiling is None:
        return Prepared(selection.backend, selection.reason, chosen.model, chosen.reason)
    return Prepared(TiledBackend(selection.backend, tiling),
                    f"{selection.reason}, {len(tiling.tiles)} tiles of {window_w}x{window_h}",
                    chosen.model, chosen.reason)
