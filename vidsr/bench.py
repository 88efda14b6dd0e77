"""Throughput and latency measurement: the numbers `vidsr bench` prints and `benchmarks/` records.

Three modes, each a function returning dataclasses (never printing):

- `bench_model`: one model stage on realistic frames (a real video frame tiled to the size asked
  for), per backend and batch, after the backend's output has been checked against eager fp32.
- `bench_pipeline`: a real clip end to end through `vidsr.upscale`, each stage of that pipeline
  timed alone on the same clip, and the baselines (bicubic, the naive tutorial loop, OpenCV DNN
  with the same weights) timed in the same run so that ratios survive a noisy machine.
- `bench_latency`: batch 1, from a decoded frame to its encoded packet.

Timings use CUDA events on a GPU and `perf_counter` on the CPU; warm-up runs are never counted.
Statistics follow `torch.utils.benchmark`: median and interquartile range over repeated runs.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from vidsr.backends import Backend, agreement_db
from vidsr.backends.select import BackendName, Selection, inference_graph, select
from vidsr.errors import BackendUnavailable, EngineError, NotAVideo
from vidsr.frames import FrameBatch, Geometry, fill_frame, plan
from vidsr.live import percentiles
from vidsr.models import load_model
from vidsr.models.collapsible import Collapsible, macs_per_pixel
from vidsr.pipeline import Upscaler
from vidsr.probe import VideoInfo
from vidsr.sink import Sink, open_output
from vidsr.source import Source
from vidsr.timing import cpu_model, sync, time_runs

log = logging.getLogger("vidsr")

SAMPLE = Path(__file__).resolve().parent / "samples" / "stream-of-water.mp4"
STAGES = ("decode", "h2d", "infer", "d2h", "encode")
# Agreement with eager fp32 a backend must reach before it is timed (the backends' parity bar).
MIN_AGREEMENT_DB = {torch.float32: 50.0, torch.float16: 45.0}
Plane = NDArray[np.uint8]


# ---------------------------------------------------------------------------------------------
# Machine and statistics


@dataclass(frozen=True)
class Machine:
    cpu: str
    cpu_count: int  # cores this process may use
    gpu: str | None
    gpu_driver: str | None
    python: str
    torch: str
    av: str
    ffmpeg: str
    torch_tensorrt: str | None
    opencv: str | None

    @property
    def slug(self) -> str:
        """A short file-name-safe name: `nvidia-h100-80gb-hbm3` or `cpu-2core-amd-epyc`."""
        name = self.gpu or f"cpu-{self.cpu_count}core-{self.cpu}"
        keep = "".join(c if c.isalnum() else "-" for c in name.lower())
        return "-".join(filter(None, keep.split("-")))[:48]


def machine() -> Machine:
    """What the numbers were measured on."""
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return Machine(
        cpu=cpu_model(),
        cpu_count=len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count() or 1,
        gpu=gpu,
        gpu_driver=_gpu_driver() if gpu else None,
        python=platform.python_version(),
        torch=torch.__version__,
        av=av.__version__,
        ffmpeg=str(av.ffmpeg_version_info),
        torch_tensorrt=_version("torch-tensorrt"),
        opencv=_version("opencv-contrib-python-headless"),
    )


def _gpu_driver() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return (
        out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    )


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class Stats:
    """Repeated timings of `frames` frames each, as throughput and per-frame time."""

    runs: int
    frames: int  # frames per run
    fps_median: float
    fps_iqr: float
    ms_p50: float  # per frame
    ms_p95: float


def stats(seconds: Sequence[float], frames: int) -> Stats:
    """Statistics over runs that each processed `frames` frames in `seconds[i]` seconds."""
    if not seconds or frames < 1:
        raise ValueError("stats needs at least one run of at least one frame")
    fps = [frames / max(s, 1e-12) for s in seconds]
    ms = [1000.0 * s / frames for s in seconds]
    return Stats(
        runs=len(seconds),
        frames=frames,
        fps_median=statistics.median(fps),
        fps_iqr=_quantile(fps, 0.75) - _quantile(fps, 0.25),
        ms_p50=_quantile(ms, 0.50),
        ms_p95=_quantile(ms, 0.95),
    )


def _quantile(values: Sequence[float], q: float) -> float:
    return float(np.quantile(np.asarray(values, dtype=np.float64), q))


# ---------------------------------------------------------------------------------------------
# Frames


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


# ---------------------------------------------------------------------------------------------
# Model mode


@dataclass(frozen=True)
class ModelResult:
    model: str
    scale: int
    backend: str
    reason: str
    device: str
    dtype: str
    batch: int
    width: int
    height: int
    agreement_db: float  # PSNR of this backend's output against eager fp32 of the shipped model
    stats: Stats
    peak_memory_mb: float | None  # GPU only
    gmac_per_frame: float  # multiply-adds of the graph the backends run, per input frame
    floor_ms: float | None  # 2 · MACs at the device's best matmul rate: no direct conv is faster
    of_floor: float | None  # floor_ms ÷ measured ms p50 (1.0: at the arithmetic peak)


def bench_model(
    model: str,
    scale: int,
    *,
    backend: BackendName,
    batch: int,
    width: int,
    height: int,
    device: torch.device,
    warmup: int = 3,
    min_runs: int = 5,
    min_time: float = 1.0,
    peak_gflops: float | None = None,
) -> ModelResult:
    """Frames/s of one model stage on `batch` tiled real frames, after an output check; with
    `peak_gflops` (`timing.matmul_gflops`), also how close that is to the arithmetic floor."""
    selection = select(
        model, scale, backend=backend, device=device, batch=batch, height=height, width=width
    )
    be = selection.backend
    try:
        luma = torch.from_numpy(tiled_luma(width, height)).float().div_(255.0)
        x = luma.expand(batch, 1, height, width).contiguous().to(device=device, dtype=be.dtype)
        agreement = _agreement(be, x, model, scale, luma)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        seconds = time_runs(
            lambda: be.infer(x), device, warmup=warmup, min_runs=min_runs, min_time=min_time
        )
        peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    finally:
        be.close()
    return ModelResult(
        model=model,
        scale=scale,
        backend=be.name,
        reason=selection.reason,
        device=str(device),
        dtype=str(be.dtype).removeprefix("torch."),
        batch=batch,
        width=width,
        height=height,
        agreement_db=agreement,
        stats=stats(seconds, batch),
        peak_memory_mb=peak,
        **_floor(model, scale, width, height, peak_gflops, stats(seconds, batch).ms_p50),
    )


def _floor(model: str, scale: int, width: int, height: int, peak_gflops: float | None,
           ms: float) -> dict[str, float | None]:
    macs = macs_per_pixel(inference_graph(load_model(model, scale))) * width * height
    floor = 2 * macs / peak_gflops / 1e6 if peak_gflops else None
    return {"gmac_per_frame": round(macs / 1e9, 3), "floor_ms": floor and round(floor, 2),
            "of_floor": floor and round(floor / ms, 3)}


def _agreement(be: Backend, x: torch.Tensor, model: str, scale: int, luma: torch.Tensor) -> float:
    """PSNR (dB) of the backend's first output frame against the shipped model in eager fp32 on
    the CPU; raises EngineError below the parity bar, so a wrong backend is never timed."""
    with torch.inference_mode():
        reference = load_model(model, scale)(luma[None, None]).clamp(0, 1)[0, 0]
        got = be.infer(x)[0, 0].float().clamp(0, 1).cpu()
    db = min(agreement_db(got, reference), 100.0)  # identical -> 100, not inf (JSON)
    bar = MIN_AGREEMENT_DB.get(be.dtype, 45.0)
    if db < bar:
        raise EngineError(
            f"backend {be.name} disagrees with eager fp32 on {model} x{scale}: "
            f"{db:.1f} dB < {bar:.0f} dB; not timing it"
        )
    return db


# ---------------------------------------------------------------------------------------------
# Pipeline mode: end to end, then each stage alone on the same clip


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


@dataclass(frozen=True)
class _Clip:
    """A clip decoded into memory, its output geometry, and the backend chosen for it."""

    batches: list[FrameBatch]
    info: VideoInfo
    geometry: Geometry
    selection: Selection
    decode_s: float  # how long decoding it took: the decode stage alone


def _prepare(
    path: Path,
    model: str,
    scale: int,
    backend: BackendName,
    batch: int,
    device: torch.device,
    frames: int | None,
) -> _Clip:
    t0 = time.perf_counter()
    batches, info = read_batches(path, batch, frames, pin=device.type == "cuda")
    decode_s = time.perf_counter() - t0
    geometry = plan(info.height, info.width, scale=scale)
    selection = select(
        model, scale, backend=backend, device=device, batch=batch,
        height=info.height, width=info.width,
    )  # fmt: skip
    return _Clip(batches, info, geometry, selection, decode_s)


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
        clip = _prepare(path, model, scale, backend, batch, device, frames)
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


def naive_loop(src: Path, dst: Path, model: str, scale: int, *, frames: int | None = None) -> float:
    """The loop the tutorials teach, for comparison: decode → RGB → the model on the Y of YCbCr →
    RGB → encode, one thread, one frame at a time. Returns its frames/s."""
    net = load_model(model, scale)
    t0 = time.perf_counter()
    count = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = None
        for frame in inp.decode(vin):
            ycc = (
                frame.to_ndarray(format="rgb24") / np.float32(255.0)
            ) @ _RGB_TO_YCC.T + _YCC_OFFSET
            planes = torch.from_numpy(np.ascontiguousarray(ycc.transpose(2, 0, 1), np.float32))
            with torch.inference_mode():
                y = net(planes[None, :1])
                cc = F.interpolate(
                    planes[None, 1:], size=y.shape[-2:], mode="bicubic", align_corners=False
                )
            up = torch.cat([y, cc], 1)[0].permute(1, 2, 0).numpy()
            rgb = (
                np.clip((up - _YCC_OFFSET) @ _YCC_TO_RGB.T * 255.0, 0, 255).round().astype(np.uint8)
            )
            if vout is None:
                vout = out.add_stream("libx264", rate=vin.average_rate or 30)
                vout.width, vout.height, vout.pix_fmt = rgb.shape[1], rgb.shape[0], "yuv420p"
            out.mux(vout.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            count += 1
            if frames is not None and count >= frames:
                break
        if vout is not None:
            out.mux(vout.encode(None))
    return count / (time.perf_counter() - t0)


# BT.601 full-range RGB <-> YCbCr on [0, 1] values, as the tutorials' cv2.cvtColor does.
_RGB_TO_YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
    dtype=np.float32,
)
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC).astype(np.float32)
_YCC_OFFSET = np.array([0.0, 0.5, 0.5], dtype=np.float32)


def opencv_net(model: str, scale: int, height: int, width: int, onnx_path: Path) -> Any:
    """OpenCV's DNN module loaded with the shipped weights, exported to ONNX for h×w frames."""
    try:
        import cv2
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError as exc:
        raise BackendUnavailable(
            f"{exc.name} is not installed: pip install 'vidsr[bench]'"
        ) from exc
    net = load_model(model, scale)
    if isinstance(net, Collapsible):  # its plain convolutions, as every vidsr backend runs it
        net = net.collapse()
    # The TorchScript exporter: the dynamo one would also need onnxscript, for the same graph.
    # Its deprecation and constant-folding warnings are torch's business, not the user's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(net, (torch.zeros(1, 1, height, width),), str(onnx_path),
                          dynamo=False, input_names=["y"], output_names=["out"])
    return cv2.dnn.readNetFromONNX(str(onnx_path))


def opencv_dnn_fps(lumas: Sequence[Plane], model: str, scale: int, onnx_path: Path) -> float:
    """Frames/s of OpenCV's DNN module running the shipped weights (exported to ONNX) on each
    uint8 Y plane, one frame at a time, as `dnn_superres` does."""
    h, w = lumas[0].shape
    dnn = opencv_net(model, scale, h, w, onnx_path)
    blobs = [y.astype(np.float32)[None, None] / 255.0 for y in lumas]
    dnn.setInput(blobs[0])
    dnn.forward()  # warm-up
    t0 = time.perf_counter()
    for blob in blobs:
        dnn.setInput(blob)
        dnn.forward()
    return len(blobs) / (time.perf_counter() - t0)


def opencv_loop_fps(src: Path, dst: Path, model: str, scale: int, onnx_path: Path, *,
                    frames: int | None = None) -> float:
    """The frame loop `dnn_superres` users write, end to end: cv2.VideoCapture → BGR → YCrCb →
    the net on Y, bicubic on CrCb (what `DnnSuperResImpl.upsample` does for these models) →
    BGR → cv2.VideoWriter. The same weights as vidsr; returns its frames/s."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    dnn = opencv_net(model, scale, h, w, onnx_path)
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"),
                          cap.get(cv2.CAP_PROP_FPS) or 30, (w * scale, h * scale))
    t0, count = time.perf_counter(), 0
    try:
        while frames is None or count < frames:
            ok, bgr = cap.read()
            if not ok:
                break
            ycc = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
            dnn.setInput(ycc[None, None, :, :, 0].astype(np.float32) / 255.0)
            y = np.clip(dnn.forward()[0, 0] * 255.0, 0, 255).astype(np.uint8)
            cc = cv2.resize(ycc[..., 1:], (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)
            out.write(cv2.cvtColor(np.dstack([y, cc]), cv2.COLOR_YCrCb2BGR))
            count += 1
    finally:
        cap.release()
        out.release()
    return count / (time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# Latency mode


@dataclass(frozen=True)
class LatencyResult:
    input: str
    frames: int  # measured (after warm-up)
    model: str
    scale: int
    backend: str
    reason: str
    device: str
    ms: dict[str, float]  # p50 / p95 / p99, decoded frame in -> encoded packet out


def bench_latency(
    path: Path = SAMPLE,
    *,
    model: str = "espcn",
    scale: int = 2,
    backend: BackendName = "auto",
    device: torch.device,
    frames: int | None = None,
    warmup: int = 3,
) -> LatencyResult:
    """Per-frame latency at batch 1 from a decoded frame to its encoded packet, through the
    pipeline's Upscaler and libx264 tuned for zero latency (one frame in, one packet out)."""
    clip = _prepare(path, model, scale, backend, 1, device, frames)
    batches, info, geometry, selection = clip.batches, clip.info, clip.geometry, clip.selection
    up = Upscaler(selection.backend, geometry)
    seconds: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="vidsr-bench-") as tmp,
        av.open(str(Path(tmp) / "latency.mp4"), "w") as out,
    ):
        stream = out.add_stream("libx264", rate=info.rate or 30)
        stream.width, stream.height, stream.pix_fmt = geometry.width, geometry.height, "yuv420p"
        stream.options = {"tune": "zerolatency", "preset": "veryfast"}
        started: dict[int, float] = {}
        try:
            for i, b in enumerate(batches):
                started[i] = time.perf_counter()
                done, ready = up(b)
                if ready is not None:
                    ready.synchronize()
                frame = fill_frame(
                    av.VideoFrame(geometry.width, geometry.height, "yuv420p"),
                    done.y[0, 0].numpy(),
                    done.uv[0].numpy(),
                )
                frame.pts = i
                for packet in stream.encode(frame):
                    if packet.pts is not None and packet.pts >= warmup:
                        seconds.append(time.perf_counter() - started[packet.pts])
                    out.mux(packet)
            out.mux(stream.encode(None))
        finally:
            selection.backend.close()
    if not seconds:
        raise NotAVideo(f"{path}: too few frames for a latency measurement (warm-up is {warmup})")
    return LatencyResult(
        input=str(path),
        frames=len(seconds),
        model=model,
        scale=scale,
        backend=selection.backend.name,
        reason=selection.reason,
        device=str(device),
        ms=percentiles([1000.0 * s for s in seconds]),
    )
