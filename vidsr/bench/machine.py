"""What a benchmark ran on, and the statistics of its repeated timings."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np
import torch

from vidsr.timing import cpu_model


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
