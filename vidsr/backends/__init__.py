"""Inference backends: one small interface, chosen in a stated order of preference.

A backend wraps one model at one scale on one device. It never sees PyAV and never moves data
between devices: the pipeline hands it a tensor already on `device` in `dtype`.
"""

from __future__ import annotations

from typing import Protocol

import torch


class Backend(Protocol):
    name: str  # "tensorrt" | "compile" | "eager"
    device: torch.device
    dtype: torch.dtype  # what infer() takes and returns

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """N×1×H×W luma in [0, 1] (on `device`, in `dtype`) -> N×1×(sH)×(sW), unclamped."""
        ...

    def close(self) -> None: ...
