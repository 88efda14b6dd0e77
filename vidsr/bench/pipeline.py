"""Pipeline mode: a real clip end to end through `vidsr.upscale`, each stage of that pipeline
timed alone on the same clip, and the baselines timed in the same run so that ratios survive a
noisy machine."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from vidsr.bench.baselines import naive_loop, opencv_dnn_fps, opencv_loop_fps
from vidsr.bench.clips import SAMPLE, prepare
from vidsr.config import BackendName
from vidsr.errors import BackendUnavailable
from vidsr.frames import FrameBatch, VideoInfo
from vidsr.geometry import Geometry
from vidsr.pipeline import Upscaler
from vidsr.sink import Sink, open_output
from vidsr.timing import sync

log = logging.getLogger("vidsr")


@dataclass(frozen=True)
class Stage:
    name: str
    alone_s: float  # this stage alone over the whole clip
    alone_fps: float
    busy_s: float  # busy time inside the end-to-end run, as the pipeline reports it


@dataclass(frozen=True)
class Baseline:
    name: str
    fps: float
    vidsr_ratio: float  # vidsr's fps ÷ this baseline's fps, on the matching measure
    measure: str  # what was compared: "end-to-end" or "model stage alone"


@dataclass(frozen=True)
class PipelineResult:
    input: str
    frames: int
    source_fps: float
    width: int
    height: int
    out_width: int
    out_height: int
    model: str
    scale: int
    backend: str
    reason: str
    device: str
    batch: int
    end_to_end_fps: float
    realtime_factor: float  # end-to-end fps ÷ source fps
    efficiency: float  # end-to-end fps ÷ slowest stage alone (target ≥ 0.9)
    bottleneck: str  # the slowest stage alone
    stages: list[Stage]
    baselines: list[Baseline]


class _Bicubic:
    """Bicubic interpolation where the model would be: the baseline, through the same stage code."""

    name = "bicubic"

    def __init__(self, scale: int, device: torch.device, dtype: torch.dtype) -> None:
        self.scale, self.device, self.dtype = scale, device, dtype

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)

    def close(self) -> None:
        pass


def bench_pipeline(
    path: Path = SAMPLE,
    *,
    model: str = "espcn",
    scale: int = 2,
    backend: BackendName = "auto",
    batch: int = 8,
    device: torch.device,
    frames: int | None = None,
) -> PipelineResult:
    """End-to-end fps of `vidsr.upscale` on a real clip, each stage alone on the same clip, the
    efficiency (end-to-end ÷ slowest stage alone) and the baselines as ratios."""
    from vidsr.api import upscale

    with tempfile.TemporaryDirectory(prefix="vidsr-bench-") as tmp:
        clip = prepare(path, model, scale, backend, batch, device, frames)
        batches, info, geometry, selection = clip.batches, clip.info, clip.geometry, clip.selection
        decode_s = clip.decode_s
        n = sum(len(b) for b in batches)
        be = selection.backend
        try:
            alone, outputs = _stages_alone(batches, Upscaler(be, geometry), device)
            # The same warm backend end to end: engine builds and compilation are not throughput.
            run = upscale(
                path, Path(tmp) / "vidsr.mp4", model=model, scale=scale, backend=be,
                batch=batch, frames=frames, overwrite=True,
            )  # fmt: skip
        finally:
            be.close()
        encode_s = _timed(lambda: _encode(Path(tmp) / "alone.mp4", outputs, info, geometry), device)
        timings = {"decode": decode_s, **alone, "encode": encode_s}
        stages = [Stage(k, s, n / s, run.busy.get(k, 0.0)) for k, s in timings.items()]
        vidsr_infer = n / timings["infer"]
        baselines = [
            _bicubic_baseline(batches, geometry, device, be.dtype, vidsr_infer),
            _naive_baseline(path, Path(tmp) / "naive.mp4", model, scale, n, run.fps),
            *_opencv_baselines(path, Path(tmp), batches, model, scale, vidsr_infer, run.fps),
        ]
    slowest = min(stages, key=lambda s: s.alone_fps)
    rate = float(info.rate) if info.rate else float("nan")
    return PipelineResult(
        input=str(path),
        frames=run.frames,
        source_fps=rate,
        width=info.width,
        height=info.height,
        out_width=geometry.width,
        out_height=geometry.height,
        model=model,
        scale=scale,
        backend=be.name,
        reason=selection.reason,
        device=str(device),
        batch=batch,
        end_to_end_fps=run.fps,
        realtime_factor=run.fps / rate,
        efficiency=run.fps / slowest.alone_fps,
        bottleneck=slowest.name,
        stages=stages,
        baselines=baselines,
    )


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def _stages_alone(
    batches: list[FrameBatch], up: Upscaler, device: torch.device
) -> tuple[dict[str, float], list[FrameBatch]]:
    """h2d, infer and d2h, each over the whole clip on its own, with the pipeline's own code."""
    on_device: list[tuple[torch.Tensor, torch.Tensor]] = []
    results: list[tuple[torch.Tensor, torch.Tensor]] = []
    back: list[tuple[torch.Tensor, torch.Tensor]] = []
    cuda = device.type == "cuda"

    def h2d() -> None:
        on_device.extend(
            (b.y.to(device, non_blocking=cuda), b.uv.to(device, non_blocking=cuda)) for b in batches
        )

    def infer() -> None:
        results.extend(
            up.planes(y, uv, b.max_value) for (y, uv), b in zip(on_device, batches, strict=True)
        )

    def d2h() -> None:
        back.extend(up.to_host(y, uv)[:2] for y, uv in results)

    h2d_s = _timed(h2d, device)
    up.planes(*on_device[0], batches[0].max_value)  # warm-up: allocations, autotuning, graphs
    seconds = {"h2d": h2d_s, "infer": _timed(infer, device), "d2h": _timed(d2h, device)}
    outputs = [
        FrameBatch(y, uv, b.pts, b.time_base, b.bits)
        for (y, uv), b in zip(back, batches, strict=True)
    ]
    return seconds, outputs


def _encode(path: Path, batches: list[FrameBatch], info: VideoInfo, geometry: Geometry) -> None:
    """The encode stage alone: the pipeline's Sink with its default codec settings."""
    sink = Sink(
        open_output(path, path),
        name=str(path),
        info=info,
        width=geometry.width,
        height=geometry.height,
    )
    for b in batches:
        sink.write(b)
    sink.close()


def _bicubic_baseline(
    batches: list[FrameBatch],
    geometry: Geometry,
    device: torch.device,
    dtype: torch.dtype,
    vidsr_infer: float,
) -> Baseline:
    up = Upscaler(_Bicubic(geometry.scale, device, dtype), geometry)
    on_device = [(b.y.to(device), b.uv.to(device), b.max_value) for b in batches]
    up.planes(*on_device[0])
    s = _timed(lambda: [up.planes(*x) for x in on_device], device)
    fps = sum(len(b) for b in batches) / s
    return Baseline(f"bicubic ({device.type})", fps, vidsr_infer / fps, "model stage alone")


def _naive_baseline(
    src: Path, dst: Path, model: str, scale: int, frames: int, vidsr_fps: float
) -> Baseline:
    fps = naive_loop(src, dst, model, scale, frames=frames)
    return Baseline("naive loop (RGB, 1 thread, batch 1)", fps, vidsr_fps / fps, "end-to-end")


def _opencv_baselines(src: Path, tmp: Path, batches: list[FrameBatch], model: str, scale: int,
                      vidsr_infer: float, vidsr_fps: float) -> list[Baseline]:
    lumas = [b.y[i, 0].numpy() for b in batches for i in range(len(b))]
    try:
        stage = opencv_dnn_fps(lumas, model, scale, tmp / "model.onnx")
    except BackendUnavailable as exc:
        log.info("no OpenCV baseline: %s", exc)
        return []
    loop = opencv_loop_fps(src, tmp / "opencv.mp4", model, scale, tmp / "loop.onnx",
                           frames=len(lumas))
    return [
        Baseline("OpenCV DNN (same weights, ONNX)", stage, vidsr_infer / stage,
                 "model stage alone"),
        Baseline("OpenCV dnn_superres-style loop (same weights)", loop, vidsr_fps / loop,
                 "end-to-end"),
    ]
