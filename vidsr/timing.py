"""Timing model calls the way the benchmarks and `--model auto` both need: warm-up excluded,
device time on a GPU, and the name of the processor the numbers belong to."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np
import torch


def time_runs(
    fn: Callable[[], object], device: torch.device, *, warmup: int, min_runs: int, min_time: float
) -> list[float]:
    """Seconds per call of `fn`, after `warmup` uncounted calls; at least `min_runs` calls and
    `min_time` seconds in all (like `blocked_autorange`). CUDA events on a GPU, so the time is the
    device's, not the launch's."""
    for _ in range(warmup):
        fn()
    sync(device)
    seconds: list[float] = []
    while len(seconds) < min_runs or sum(seconds) < min_time:
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            seconds.append(start.elapsed_time(end) / 1000.0)
        else:
            t0 = time.perf_counter()
            fn()
            seconds.append(time.perf_counter() - t0)
    return seconds


def matmul_gflops(device: torch.device, n: int = 2048) -> float:
    """Best GFLOP/s of an n×n matmul in the dtype backends use there (fp32 on the CPU, fp16 on
    CUDA): the peak a convolution lowered to GEMM can reach, so `MACs · 2 / peak` is a floor."""
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = time_runs(lambda: a @ b, device, warmup=2, min_runs=5, min_time=1.0)
    return 2 * n**3 / min(seconds) / 1e9


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """`NVIDIA H100 80GB HBM3`, or `AMD EPYC 7B13 (2 threads)`: what a speed was measured on."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()} ({torch.get_num_threads()} threads)"


def percentiles(samples_ms: Collection[float]) -> dict[str, float]:
    """p50/p95/p99 of latency samples in ms (zeros when there are none)."""
    if not samples_ms:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    values = np.percentile(np.fromiter(samples_ms, dtype=np.float64), [50, 95, 99])
    return {"p50": float(values[0]), "p95": float(values[1]), "p99": float(values[2])}
