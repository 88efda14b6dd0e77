"""`--model auto`: the best-quality model that keeps up with the source on this machine.

Live input must be processed as fast as it arrives, so for a stream (or `upscale --realtime`) each
candidate, best quality first, is timed for a moment on this device at this frame size through the
backend that would run it; the first that sustains the source's frame rate with HEADROOM wins. A
file has no deadline: it gets the best-quality model without timing. Measurements are cached per
device, model weights, size, backend and batch, so a second start is instant.
"""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass
from pathlib import Path

import torch

from vidsr.backends.cache import default_dir, write_atomic
from vidsr.backends.select import select
from vidsr.config import BackendName
from vidsr.models import SHIPPED
from vidsr.timing import device_name, time_runs

log = logging.getLogger("vidsr")

# Best quality first, as measured on real streams (`vidsr eval --video`, MODEL_CARD.md): a file
# gets `medium` (seven times `small`'s arithmetic), a live source the first that keeps up.
# The paper-protocol models (espcn, fsrcnn) are slower than `small` and no better on streams.
CANDIDATES = ("medium", "small", "tiny")
FALLBACK = "espcn"  # shipped at every scale
# How much faster than the source the model alone must be: decode, encode and jitter need the
# rest of the frame time, and on a CPU they need the same cores. Measured on 2 cores, 640x360 at
# 30 fps: `small` at 40 fps alone dropped frames in steady state, `tiny` at 2.4x did not.
HEADROOM = {"cuda": 1.3, "cpu": 2.0}
CACHE_FILE = "speeds.json"


@dataclass(frozen=True)
class Choice:
    model: str
    reason: str  # one line for the status line and --json
    fps: dict[str, float]  # model -> measured frames per second (what was timed)


def choose(name: str, scale: int, *, need_fps: float | None, device: torch.device,
           backend: BackendName, batch: int, height: int, width: int,
           cache_dir: Path | None = None) -> Choice:
    """The model to run for `--model name`: `name` itself unless it is `auto`. For `auto`,
    `need_fps` None means best quality without timing (a file)."""
    if name != "auto":
        return Choice(name, f"{name}: asked for", {})
    shipped = _candidates(scale)
    if need_fps is None:
        return Choice(shipped[0], f"{shipped[0]}: best quality (a file has no deadline)", {})
    cache = (cache_dir or default_dir()) / CACHE_FILE
    fps: dict[str, float] = {}
    headroom = HEADROOM.get(device.type, HEADROOM["cpu"])
    for model in shipped:
        fps[model] = measured_fps(model, scale, device=device, backend=backend, batch=batch,
                                  height=height, width=width, cache=cache)
        if fps[model] >= headroom * need_fps:
            reason = (f"{model}: {fps[model]:.0f} fps on {width}x{height} ≥ {headroom}× the "
                      f"source's {need_fps:.0f} fps")
            break
    else:
        model = max(fps, key=fps.__getitem__)
        reason = (f"{model}: the fastest, but {fps[model]:.0f} fps on {width}x{height} is under "
                  f"{headroom}× the source's {need_fps:.0f} fps; frames will be dropped")
    log.info("model: %s", reason)
    return Choice(model, reason, fps)


def best_quality(name: str, scale: int) -> str:
    """`name`, or for `auto` the model a file gets: the best quality shipped at `scale`."""
    return _candidates(scale)[0] if name == "auto" else name


def _candidates(scale: int) -> list[str]:
    return [m for m in CANDIDATES if (m, scale) in SHIPPED] or [FALLBACK]


def measured_fps(model: str, scale: int, *, device: torch.device, backend: BackendName,
                 batch: int, height: int, width: int, cache: Path) -> float:
    """Frames per second of `model`'s backend on batches of H×W frames, from `cache` or timed
    now (about a second) and added to it."""
    key = speed_key(model, scale, device=device, backend=backend, batch=batch, height=height,
                    width=width)
    known = _read(cache)
    if key in known:
        return known[key]
    selection = select(model, scale, backend=backend, device=device, batch=batch, height=height,
                       width=width)
    engine = selection.backend
    try:
        x = torch.rand(batch, 1, height, width, device=device).to(engine.dtype)
        seconds = time_runs(lambda: engine.infer(x), device, warmup=1, min_runs=2, min_time=0.5)
    finally:
        engine.close()
    fps = round(batch / statistics.median(seconds), 2)
    _write(cache, {**_read(cache), key: fps})
    return fps


def speed_key(model: str, scale: int, *, device: torch.device, backend: BackendName,
              batch: int, height: int, width: int) -> str:
    """Everything a measured speed depends on, the weights included."""
    return "|".join(map(str, (device_name(device), model, scale,
                              SHIPPED[model, scale].sha256[:12], f"{width}x{height}", backend,
                              batch)))


def _read(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, float]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=1, sort_keys=True)))
    except OSError as exc:  # a read-only cache costs a re-measurement next time, nothing more
        log.warning("could not cache model speeds in %s: %s", path, exc)
