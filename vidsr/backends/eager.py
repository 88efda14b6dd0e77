"""Plain PyTorch: fp32 on the CPU; fp16 with channels_last on CUDA."""

from __future__ import annotations

import torch
from torch import nn


class EagerBackend:
    name = "eager"

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.device = device
        self.dtype = torch.float16 if device.type == "cuda" else torch.float32
        memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
        self.model = model.eval().to(device=device, dtype=self.dtype, memory_format=memory_format)

    @torch.inference_mode()
    def infer(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def close(self) -> None:
        pass
