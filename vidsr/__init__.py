"""vidsr: real-time video super-resolution on PyAV and PyTorch, by small CNNs trained on streams.

    import vidsr
    stats = vidsr.upscale("in.mp4", "out.mp4", target="1080p")
    model = vidsr.load_model("espcn", 2)   # eval mode, CPU; N×1×H×W Y in [0, 1] -> N×1×2H×2W

`upscale`, `load_model` and `RunStats` are imported on first use, so `vidsr --help` (which
imports this package) does not pay for torch and PyAV.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vidsr.errors import (
    BackendUnavailable,
    ClusterError,
    ConfigError,
    CorruptInput,
    EngineError,
    InputError,
    InputNotFound,
    ModelError,
    NotAVideo,
    OutputError,
    StreamError,
    UnsupportedInput,
    VidsrError,
)

if TYPE_CHECKING:
    from vidsr.api import RunStats, upscale
    from vidsr.models import load_model

_LAZY = {"RunStats": "vidsr.api", "upscale": "vidsr.api", "load_model": "vidsr.models"}

__all__ = [
    "BackendUnavailable",
    "ClusterError",
    "ConfigError",
    "CorruptInput",
    "EngineError",
    "InputError",
    "InputNotFound",
    "ModelError",
    "NotAVideo",
    "OutputError",
    "RunStats",
    "StreamError",
    "UnsupportedInput",
    "VidsrError",
    "load_model",
    "upscale",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidsr' has no attribute {name!r}")
