"""Choosing a backend: `auto` tries tensorrt → compile → eager and says why it settled where it did.

Every backend runs the same graph, `vidsr.models.graph.inference_graph` of the shipped model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import torch
from torch import nn

from vidsr.backends import Backend, tensorrt
from vidsr.backends.cache import default_dir
from vidsr.backends.compiled import CompiledBackend
from vidsr.backends.eager import EagerBackend
from vidsr.config import BackendName
from vidsr.errors import BackendUnavailable, ConfigError
from vidsr.models import SHIPPED, load_model
from vidsr.models.graph import inference_graph

log = logging.getLogger("vidsr")

# What `auto` tries, in order: every backend name but auto itself.
ORDER: tuple[BackendName, ...] = tuple(b for b in get_args(BackendName) if b != "auto")


@dataclass(frozen=True)
class Selection:
    backend: Backend
    # The path taken: "tensorrt unavailable: … → compile unavailable: … → eager (fp32, cpu)".
    reason: str


def select(
    model: str,
    scale: int,
    *,
    backend: BackendName = "auto",
    device: torch.device,
    batch: int,
    height: int,
    width: int,
    engine_dir: Path | None = None,
    graph: nn.Module | None = None,
) -> Selection:
    """The backend for `model` x`scale` on `device` for batches of up to `batch` H×W frames.

    An explicit `backend` the machine lacks raises BackendUnavailable naming what to install;
    `auto` goes down ORDER and records each miss in the reason. `graph`: the model's inference
    graph when the caller has already loaded it.
    """
    if backend not in ("auto", *ORDER):
        raise ConfigError(f"unknown backend {backend!r}; choose one of: auto, {', '.join(ORDER)}")
    graph = graph if graph is not None else inference_graph(load_model(model, scale))
    shape = {"batch": batch, "height": height, "width": width}
    misses: list[str] = []
    for name in ORDER if backend == "auto" else (backend,):
        if backend == "auto" and name == "compile" and device.type == "cpu":
            # Measured on 2 cores: Inductor is only 5–11 % faster than eager on these small
            # convolutions but takes 5–50 s to compile, which a short job never wins back.
            misses.append("compile skipped on cpu: 5–11 % faster than eager, 5–50 s to compile")
            continue
        try:
            if name == "tensorrt":
                if reason := tensorrt.unavailable(device):  # before engine_key imports it
                    raise BackendUnavailable(reason)
                key = tensorrt.engine_key(model, scale, SHIPPED[(model, scale)].sha256,
                                          device=device, **shape)
                chosen: Backend = tensorrt.open_engine(
                    graph, key, engine_dir or default_dir(), device=device
                )
            elif name == "compile":
                chosen = CompiledBackend(graph, device, **shape)
            else:
                chosen = EagerBackend(graph, device, **shape)
        except BackendUnavailable as exc:
            if backend != "auto":
                raise BackendUnavailable(f"backend {name!r} unavailable: {exc}") from exc
            misses.append(f"{name} unavailable: {exc}")
            continue
        reason = " → ".join([*misses, f"{name} ({_dtype_name(chosen.dtype)}, {device.type})"])
        log.info("backend: %s", reason)
        return Selection(chosen, reason)
    raise AssertionError("eager is always available")


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when torch sees a GPU, else the CPU; `cuda` without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailable("device cuda: no CUDA device is available (torch sees none)",
                                 option="device")
    return torch.device(name)


def _dtype_name(dtype: torch.dtype) -> str:
    return {torch.float16: "fp16", torch.float32: "fp32"}.get(dtype, str(dtype))
