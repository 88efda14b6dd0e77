"""Plain PyTorch: fp32 on the CPU; fp16 on CUDA, replayed as a CUDA graph for a fixed shape."""

from __future__ import annotations

import torch
from torch import nn

from vidsr.backends import place, run_fixed


class EagerBackend:
    name = "eager"

    def __init__(
        self, model: nn.Module, device: torch.device, *, batch: int | None = None,
        height: int | None = None, width: int | None = None,
    ) -> None:
        self.device = device
        self.model, self.dtype = place(model, device)
        self.graph: CudaGraph | None = None
        if device.type == "cuda" and batch and height and width:
            self.graph = CudaGraph(self.model, torch.zeros(
                (batch, 1, height, width), dtype=self.dtype, device=device
            ))

    @torch.inference_mode()
    def infer(self, x: torch.Tensor) -> torch.Tensor:
        if self.graph is not None and x.shape[1:] == self.graph.input.shape[1:]:
            return run_fixed(self.graph, x, self.graph.input.shape[0])
        return self.model(x)

    def close(self) -> None:
        self.graph = None


class CudaGraph:
    """`model` captured once on a static input buffer and replayed: at thousands of frames per
    second these small networks are bound by kernel launches, which a replay removes."""

    def __init__(self, model: nn.Module, static_input: torch.Tensor) -> None:
        self.input = static_input
        device = static_input.device
        # Warm up (cuDNN algorithm choice, allocator) on a side stream, as capture requires.
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side), torch.inference_mode():
            for _ in range(3):
                model(self.input)
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.inference_mode():
            self.output = model(self.input)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.input.copy_(x)
        self.graph.replay()
        return self.output.clone()  # the next replay overwrites `output`
