"""Real frames to measure on: the bundled sample clip, decoded as the pipeline decodes it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from vidsr.backends.setup import Prepared, backend_for
from vidsr.config import BackendName, Options
from vidsr.frames import FrameBatch, VideoInfo
from vidsr.geometry import Geometry, plan
from vidsr.source import Source

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "stream-of-water.mp4"
Plane = NDArray[np.uint8]


def read_batches(
    path: Path, batch: int, frames: int | None = None, *, pin: bool = False
) -> tuple[list[FrameBatch], VideoInfo]:
    """The decode stage alone: the first `frames` frames of `path`, as the pipeline's Source
    batches them."""
    with Source.open(path, batch=batch, max_frames=frames, pin=pin) as source:
        return list(source), source.info


def tiled_luma(width: int, height: int, source: Path = SAMPLE) -> Plane:
    """A realistic H×W luma frame: the first frame of a real clip, tiled (mirrored so that the
    seams are smooth) and cropped. Zeros or noise would flatter or punish the model unfairly."""
    y = read_batches(source, 1, 1)[0][0].y[0, 0].numpy()
    tile = np.block([[y, y[:, ::-1]], [y[::-1], y[::-1, ::-1]]])
    reps = (math.ceil(height / tile.shape[0]), math.ceil(width / tile.shape[1]))
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


@dataclass(frozen=True)
class Clip:
    """A clip decoded into memory, its output geometry, and the backend chosen for it."""

    batches: list[FrameBatch]
    info: VideoInfo
    geometry: Geometry
    selection: Prepared
    decode_s: float  # how long decoding it took: the decode stage alone


def prepare(
    path: Path,
    model: str,
    scale: int,
    backend: BackendName,
    batch: int,
    device: torch.device,
    frames: int | None,
) -> Clip:
    t0 = time.perf_counter()
    batches, info = read_batches(path, batch, frames, pin=device.type == "cuda")
    decode_s = time.perf_counter() - t0
    geometry = plan(info.height, info.width, scale=scale)
    # The backend a run of these options gets, as `vidsr upscale` would choose it.
    selection = backend_for(Options(model=model, scale=scale, backend=backend), device,
                            scale=scale, height=info.height, width=info.width, batch=batch)
    return Clip(batches, info, geometry, selection, decode_s)
