"""Model mode: one model stage on realistic frames, per backend and batch, after the backend's
output has been checked against eager fp32."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidsr.backends import Backend, agreement_db
from vidsr.backends.select import select
from vidsr.bench.clips import tiled_luma
from vidsr.bench.machine import Stats, stats
from vidsr.config import BackendName
from vidsr.errors import EngineError
from vidsr.models import load_model
from vidsr.models.collapsible import macs_per_pixel
from vidsr.models.graph import inference_graph
from vidsr.timing import time_runs

# Agreement with eager fp32 a backend must reach before it is timed (the backends' parity bar).
MIN_AGREEMENT_DB = {torch.float32: 50.0, torch.float16: 45.0}


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
        # _floor's keys are ModelResult's three arithmetic fields.
        **_floor(model, scale, width, height, peak_gflops,  # type: ignore[arg-type]
                 stats(seconds, batch).ms_p50),
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
