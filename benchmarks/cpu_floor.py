"""How fast the CPU targets can be at all: each model's arithmetic against this machine's best
matrix-multiply rate, beside the layer-by-layer times of the graph the backends run.

    .venv/bin/python -m benchmarks.cpu_floor          # ESPCN x2 and FSRCNN x2 on a 960×540 Y frame

The floor is the model's convolution FLOPs divided by the GFLOP/s a large fp32 matmul reaches on
all cores this process may use: no fp32 direct convolution goes faster than that, so a target
below the floor needs less arithmetic (Winograd, int8), not a better schedule. Written to
benchmarks/results/<date>-cpu-floor-<machine>.json and printed as a table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from vidsr.backends import place
from vidsr.bench import machine, opencv_dnn_fps, tiled_luma
from vidsr.errors import BackendUnavailable
from vidsr.models import load_model
from vidsr.models.graph import inference_graph
from vidsr.timing import matmul_gflops, time_runs

RESULTS = Path(__file__).resolve().parent / "results"
CPU = torch.device("cpu")
TARGETS_MS = {"espcn": 150.0, "fsrcnn": 200.0}  # issue #4, x2 on one 960×540 Y frame


def layers(graph: nn.Module) -> list[nn.Module]:
    """The graph's steps in execution order (Sequentials flattened)."""
    out: list[nn.Module] = []
    for child in graph.children():
        out.extend(layers(child) if isinstance(child, nn.Sequential) else [child])
    return out


def conv_flops(step: nn.Module, x: torch.Tensor) -> float:
    """FLOPs of the convolutions inside `step` on input `x` (2 per multiply-add)."""
    total = 0.0

    def count(conv: nn.Module, _: object, out: torch.Tensor) -> None:
        nonlocal total
        total += 2.0 * out.numel() * conv.weight[0].numel()  # type: ignore[index]

    hooks = [m.register_forward_hook(count) for m in step.modules() if isinstance(m, nn.Conv2d)]
    step(x)
    for hook in hooks:
        hook.remove()
    return total


@torch.inference_mode()
def profile(model: str, scale: int, width: int, height: int, peak: float) -> dict[str, object]:
    graph, _ = place(inference_graph(load_model(model, scale)), CPU)
    luma = torch.from_numpy(tiled_luma(width, height)).float().div_(255.0)
    x = luma[None, None].contiguous(memory_format=torch.channels_last)
    steps, h = [], x
    for step in layers(graph):
        seconds = time_runs(lambda s=step, i=h: s(i), CPU, warmup=1, min_runs=3, min_time=0.5)
        flops = conv_flops(step, h)
        h = step(h)
        steps.append({"step": type(step).__name__, "output": list(h.shape[1:]),
                      "gflop": round(flops / 1e9, 3), "ms": round(1000 * min(seconds), 1),
                      "gflops": round(flops / min(seconds) / 1e9, 1) if flops else None})
    assert torch.equal(h, graph(x)), "the steps are not the whole graph"
    whole = time_runs(lambda: graph(x), CPU, warmup=1, min_runs=3, min_time=1.0)
    gflop = sum(s["gflop"] for s in steps)  # type: ignore[misc]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            opencv_ms = 1000 / opencv_dnn_fps([luma.mul(255).byte().numpy()] * 5, model, scale,
                                              Path(tmp) / "model.onnx")
        except BackendUnavailable:
            opencv_ms = None
    return {"model": model, "scale": scale, "input": f"{width}x{height}",
            "gflop": round(gflop, 3), "floor_ms": round(1000 * gflop / peak, 1),
            "target_ms": TARGETS_MS.get(model), "eager_ms": round(1000 * min(whole), 1),
            "opencv_ms": round(opencv_ms, 1) if opencv_ms else None, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["espcn", "fsrcnn"])
    parser.add_argument("--size", default="960x540", help="input WxH (default 960x540)")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    peak = matmul_gflops(CPU)
    host = machine()
    rows = [profile(m, 2, width, height, peak) for m in args.models]
    result = {"date": datetime.date.today().isoformat(), "machine": asdict(host),
              "threads": torch.get_num_threads(), "matmul_gflops": round(peak, 1), "models": rows}
    path = RESULTS / f"{result['date']}-cpu-floor-{host.slug}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{host.cpu}, {result['threads']} threads: fp32 matmul {peak:.1f} GFLOP/s")
    for row in rows:
        print(f"\n{row['model']} x{row['scale']} on {row['input']}: {row['gflop']} GFLOP → floor "
              f"{row['floor_ms']} ms; target {row['target_ms']} ms; eager {row['eager_ms']} ms; "
              f"OpenCV DNN {row['opencv_ms']} ms")
        for s in row["steps"]:  # type: ignore[attr-defined]
            print(f"  {s['step']:<13} {str(s['output']):<16} {s['gflop']:>7} GFLOP "
                  f"{s['ms']:>7} ms  {s['gflops'] or '':>6} GFLOP/s")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
