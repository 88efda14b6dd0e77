"""torch.compile (Inductor) for one fixed batch shape.

On CUDA, mode "reduce-overhead" adds CUDA graphs around Inductor's kernels (these networks are
launch-bound); on the CPU, Inductor with `freezing` folds the weights into prepacked oneDNN
convolutions. Compilation happens in the constructor, so a broken toolchain shows up at selection
time (and `auto` falls back) rather than in the middle of a video.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import torch
from torch import nn

from vidsr.backends import place, run_fixed
from vidsr.errors import BackendUnavailable


def unavailable(device: torch.device) -> str | None:
    """Why torch.compile cannot run on `device` here, or None."""
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return "no CUDA device visible to torch"
        if importlib.util.find_spec("triton") is None:
            return "triton not installed (pip install triton)"
    elif not any(shutil.which(c) for c in (os.environ.get("CXX", "g++"), "c++", "clang++")):
        return "no C++ compiler for Inductor (install g++)"
    return None


class CompiledBackend:
    name = "compile"

    def __init__(
        self, model: nn.Module, device: torch.device, *, batch: int, height: int, width: int
    ) -> None:
        if reason := unavailable(device):
            raise BackendUnavailable(reason)
        self.device = device
        self.batch = batch
        model, self.dtype = place(model, device)
        if device.type == "cuda":
            self.fn = torch.compile(model, mode="reduce-overhead", dynamic=False)
        else:
            self.fn = torch.compile(model, dynamic=False, options={"freezing": True})
        example = torch.zeros((batch, 1, height, width), dtype=self.dtype, device=device)
        try:
            self.infer(example)
        # Inductor reports toolchain and lowering failures through many exception types; any of
        # them means this backend cannot run here.
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendUnavailable(f"torch.compile failed: {first}") from exc

    @torch.inference_mode()
    def infer(self, x: torch.Tensor) -> torch.Tensor:
        # CUDA-graph outputs are overwritten by the next call: hand out a copy.
        clone = self.device.type == "cuda"
        return run_fixed(lambda c: self.fn(c).clone() if clone else self.fn(c), x, self.batch)

    def close(self) -> None:
        pass
