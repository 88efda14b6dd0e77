"""TensorRT through Torch-TensorRT's dynamo path: fp16, batch range 1…batch at the opt shape,
stored as an ExportedProgram in the engine cache and checked against eager before use.

The only module that imports torch_tensorrt, and only when a TensorRT engine is wanted.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from vidsr.backends import agreement_db, run_fixed
from vidsr.backends.cache import EngineKey, get_or_build
from vidsr.errors import BackendUnavailable, EngineError

INSTALL = "pip install 'vidsr[tensorrt]' (torch-tensorrt matching your torch minor version)"
MIN_DB = 45.0  # fp16 engine vs eager fp32


def unavailable(device: torch.device) -> str | None:
    """Why TensorRT cannot run on `device` here, or None."""
    if device.type != "cuda":
        return f"needs an NVIDIA GPU (device is {device.type})"
    if not torch.cuda.is_available():
        return "no CUDA device visible to torch"
    try:
        import torch_tensorrt  # noqa: F401
    except ImportError:
        return f"torch_tensorrt not installed; {INSTALL}"
    except Exception as exc:  # installed without TensorRT's shared libraries: OSError and friends
        return f"torch_tensorrt failed to import ({exc}); {INSTALL}"
    return None


def engine_key(
    model: str, scale: int, weights_sha256: str, *, device: torch.device, batch: int,
    height: int, width: int,
) -> EngineKey:
    import torch_tensorrt

    return EngineKey(
        model=model, scale=scale, weights_sha256=weights_sha256, batch=batch, height=height,
        width=width, precision="fp16", gpu=torch.cuda.get_device_name(device),
        cuda=str(torch.version.cuda), torch=torch.__version__,
        torch_tensorrt=torch_tensorrt.__version__,
    )


def build(graph: nn.Module, path: Path, *, device: torch.device, batch: int, height: int,
          width: int) -> None:
    """Compile `graph` to a TensorRT engine for batches 1…batch of height×width and save it."""
    import torch_tensorrt

    graph = copy.deepcopy(graph).eval().to(device=device, dtype=torch.float16)
    inputs = [torch_tensorrt.Input(
        min_shape=(1, 1, height, width), opt_shape=(batch, 1, height, width),
        max_shape=(batch, 1, height, width), dtype=torch.float16,
    )]
    example = torch.zeros((batch, 1, height, width), dtype=torch.float16, device=device)
    try:
        compiled = torch_tensorrt.compile(
            graph, ir="dynamo", inputs=inputs, enabled_precisions={torch.float16}
        )
        torch_tensorrt.save(compiled, str(path), output_format="exported_program",
                            arg_inputs=[example])
    # Torch-TensorRT surfaces converter and builder failures as assorted exception types.
    except Exception as exc:
        raise EngineError(f"TensorRT engine build failed for {path.name}: {exc}") from exc


def load(path: Path) -> nn.Module:
    import torch_tensorrt

    return torch_tensorrt.load(str(path)).module()


class TensorRTBackend:
    name = "tensorrt"
    dtype = torch.float16

    def __init__(self, engine: nn.Module, device: torch.device, batch: int) -> None:
        self.engine = engine
        self.device = device
        self.batch = batch

    @torch.inference_mode()
    def infer(self, x: torch.Tensor) -> torch.Tensor:
        return run_fixed(self.engine, x, self.batch)

    def close(self) -> None:
        pass


def open_engine(
    graph: nn.Module, key: EngineKey, directory: Path, *, device: torch.device
) -> TensorRTBackend:
    """The TensorRT backend for `key`, from the cache or freshly built, verified against eager."""
    if reason := unavailable(device):
        raise BackendUnavailable(reason)
    probe = torch.rand((key.batch, 1, key.height, key.width),
                       generator=torch.Generator().manual_seed(0)).to(device)
    with torch.inference_mode():
        reference = copy.deepcopy(graph).eval().to(device=device, dtype=torch.float32)(probe)

    def verify(engine: nn.Module) -> None:
        with torch.inference_mode():
            out = engine(probe.half()).float()
        if (db := agreement_db(out, reference)) < MIN_DB:
            raise EngineError(f"engine output differs from eager: {db:.1f} dB < {MIN_DB} dB")

    engine = get_or_build(
        key, directory, load=load, verify=verify,
        build=lambda path: build(graph, path, device=device, batch=key.batch,
                                 height=key.height, width=key.width),
    )
    return TensorRTBackend(engine, device, key.batch)
