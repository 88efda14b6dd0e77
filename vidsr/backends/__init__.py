"""Inference backends: one small interface, chosen in a stated order of preference.

A backend wraps one model at one scale on one device. It never sees PyAV and never moves data
between devices: the pipeline hands it a tensor already on `device` in `dtype`.
"""

from __future__ import annotations

import ctypes
import functools
import math
import platform
from collections.abc import Callable
from typing import Protocol

import torch
from torch import nn


class Backend(Protocol):
    name: str  # "tensorrt" | "compile" | "eager"
    device: torch.device
    dtype: torch.dtype  # what infer() takes and returns

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """N×1×H×W luma in [0, 1] (on `device`, in `dtype`) -> N×1×(sH)×(sW), unclamped."""
        ...

    def close(self) -> None: ...


def place(model: nn.Module, device: torch.device) -> tuple[nn.Module, torch.dtype]:
    """`model` in eval mode on `device`: fp16 on CUDA, fp32 elsewhere, channels_last on both
    (oneDNN and cuDNN run these few-channel convolutions faster NHWC: about 1.2× on the CPU)."""
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    if device.type == "cpu":
        keep_freed_memory()
    model = model.eval().to(device=device, dtype=dtype)
    return model.to(memory_format=torch.channels_last), dtype  # type: ignore[call-overload]


@functools.cache
def keep_freed_memory() -> None:
    """Have glibc's malloc keep freed memory for reuse instead of handing it back to the kernel.

    Every activation of a full frame is a fresh allocation of 100+ MB. By default glibc serves
    those with mmap and returns them with munmap, so each frame page-faults (and the kernel
    zeroes) every page of every activation again: 18–25 % of the CPU model stage on a 2-core
    machine (benchmarks/cpu_floor.py, 960×540). Served from the heap and never trimmed, the
    pages are faulted once. The cost is that the process keeps its peak memory until it exits.
    What jemalloc or tcmalloc preloaded would do, without asking users to preload anything.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL(None)
    m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
    libc.mallopt(m_mmap_max, 0)
    libc.mallopt(m_trim_threshold, 2**31 - 1)


def run_fixed(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch: int
) -> torch.Tensor:
    """`fn` over `x` in batches of exactly `batch`: fixed-shape graphs (compiled, captured,
    TensorRT) see one shape only, so a short batch is padded with zeros and the padded outputs
    dropped."""
    outputs = []
    for chunk in x.split(batch):
        n = chunk.shape[0]
        if n < batch:
            chunk = torch.cat([chunk, chunk.new_zeros((batch - n, *chunk.shape[1:]))])
        outputs.append(fn(chunk)[:n])
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs)


def agreement_db(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR of `a` against `b` for signals in [0, 1] (inf when identical)."""
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return math.inf if mse == 0 else -10.0 * math.log10(mse)
