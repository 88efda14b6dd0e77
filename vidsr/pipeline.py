"""The orchestrator: a decode thread, inference on the calling thread, an encode thread, joined
by bounded queues (memory stays flat whatever the length). The only place vidsr starts threads.

    Source ─q_in─▶ to device ─ normalise ─ backend.infer ─ resize ─ quantise ─ to host ─q_out─▶ Sink
    (decode thread)                  (calling thread: `Upscaler`)                  (encode thread)

`Upscaler` is the per-batch step on its own, for callers with their own loop (live streams).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F

from vidsr.backends import Backend
from vidsr.frames import FrameBatch
from vidsr.geometry import Geometry

QUEUE_DEPTH = 2  # batches waiting between stages: enough to overlap, little memory
_DONE = object()


@dataclass
class StageTimes:
    """Seconds each stage was busy. On CUDA, h2d/infer/d2h are host-side times of asynchronous
    work; the wait for results lands in `encode`."""

    decode: float = 0.0
    h2d: float = 0.0
    infer: float = 0.0
    d2h: float = 0.0
    encode: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {f.name: round(getattr(self, f.name), 4) for f in fields(self)}


def upscale_plane(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize N×C×h×w float planes to exactly height×width (bicubic; antialiased when shrinking)."""
    if x.shape[-2:] == (height, width):
        return x
    shrink = height < x.shape[-2] or width < x.shape[-1]
    return F.interpolate(x, size=(height, width), mode="bicubic", align_corners=False,
                         antialias=shrink)


def quantise(x: torch.Tensor, max_value: int, dtype: torch.dtype) -> torch.Tensor:
    """Float planes in [0, 1] (clamped) to integers in [0, max_value]."""
    return (x.clamp(0, 1) * max_value).round_().to(dtype)


class Upscaler:
    """One batch in, one upscaled batch out (same pts, same packets), on `backend.device`."""

    def __init__(self, backend: Backend, geometry: Geometry,
                 times: StageTimes | None = None) -> None:
        self.backend, self.geometry = backend, geometry
        self.times = times or StageTimes()
        self.device = backend.device
        self.cuda = backend.device.type == "cuda"

    def __call__(self, batch: FrameBatch) -> tuple[FrameBatch, torch.cuda.Event | None]:
        """The upscaled batch on the host, and (on CUDA) the event to wait on before reading it."""
        t0 = time.perf_counter()
        y = batch.y.to(self.device, non_blocking=self.cuda)
        uv = batch.uv.to(self.device, non_blocking=self.cuda)
        t1 = time.perf_counter()
        y_out, uv_out = self.planes(y, uv, batch.max_value)
        t2 = time.perf_counter()
        y_host, uv_host, event = self.to_host(y_out, uv_out)
        t3 = time.perf_counter()
        self.times.h2d += t1 - t0
        self.times.infer += t2 - t1
        self.times.d2h += t3 - t2
        out = FrameBatch(y_host, uv_host, batch.pts, batch.time_base, batch.bits, batch.packets)
        return out, event

    def to_host(self, y: torch.Tensor, uv: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.cuda.Event | None]:
        """Output planes on the host: on CUDA, async copies into pinned memory and the event to
        wait on before reading them; on the CPU, the planes themselves (no copy)."""
        if not self.cuda:
            return y, uv, None
        y_host = torch.empty(y.shape, dtype=y.dtype, pin_memory=True)
        uv_host = torch.empty(uv.shape, dtype=uv.dtype, pin_memory=True)
        y_host.copy_(y, non_blocking=True)
        uv_host.copy_(uv, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        return y_host, uv_host, event

    def planes(self, y: torch.Tensor, uv: torch.Tensor,
               max_value: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Integer Y and UV planes on the device -> integer planes at the output size."""
        g, dtype = self.geometry, self.backend.dtype
        with torch.inference_mode():
            luma = self.backend.infer(y.to(dtype) / max_value)
            luma = upscale_plane(luma, g.height, g.width)
            chroma = upscale_plane(uv.to(dtype) / max_value, g.height // 2, g.width // 2)
            return quantise(luma, max_value, y.dtype), quantise(chroma, max_value, uv.dtype)


def run(batches: Iterable[FrameBatch], upscaler: Upscaler, write: Callable[[FrameBatch], object],
        *, on_batch: Callable[[int], None] | None = None) -> StageTimes:
    """Decode, upscale and encode every batch; returns the stage times.

    `write` and `on_batch(frames_in_batch)` run on the encode thread. The first error in any
    stage stops all three and is raised here (as is KeyboardInterrupt in the calling thread).
    """
    times = upscaler.times
    stop = threading.Event()
    errors: list[BaseException] = []
    q_in: queue.Queue[Any] = queue.Queue(QUEUE_DEPTH)
    q_out: queue.Queue[Any] = queue.Queue(QUEUE_DEPTH)

    def decode() -> None:
        it: Iterator[FrameBatch] = iter(batches)
        while not stop.is_set():
            t0 = time.perf_counter()
            batch = next(it, _DONE)
            times.decode += time.perf_counter() - t0
            _put(q_in, batch, stop)
            if batch is _DONE:
                return

    def encode() -> None:
        while (item := _get(q_out, stop)) is not _DONE and item is not None:
            batch, ready = item
            t0 = time.perf_counter()
            if ready is not None:
                ready.synchronize()
            write(batch)
            times.encode += time.perf_counter() - t0
            if on_batch is not None:
                on_batch(len(batch))

    threads = [threading.Thread(target=_guard(fn, errors, stop), name=f"vidsr-{fn.__name__}",
                                daemon=True) for fn in (decode, encode)]
    for thread in threads:
        thread.start()
    try:
        while (batch := _get(q_in, stop)) is not _DONE and batch is not None:
            _put(q_out, upscaler(batch), stop)
        _put(q_out, _DONE, stop)
        threads[1].join()
    except BaseException:
        stop.set()
        raise
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return times


def _guard(fn: Callable[[], None], errors: list[BaseException],
           stop: threading.Event) -> Callable[[], None]:
    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the calling thread, which re-raises it
            errors.append(exc)
            stop.set()
    target.__name__ = fn.__name__
    return target


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _get(q: queue.Queue[Any], stop: threading.Event) -> Any:
    """The next item, or None once `stop` is set."""
    while not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return None
