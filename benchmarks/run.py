"""The recorded benchmark: sweeps sizes, batches and backends, then writes
`benchmarks/results/<date>-<machine>.json`, a markdown summary beside it, a PNG plot (fps vs
batch, per backend; when matplotlib is installed) and the README's benchmark table.

    .venv/bin/python benchmarks/run.py [--note "measured under load"] [--quick]

Sizes: 360p, 540p and 720p inputs towards 1080p, and 1080p -> 2160p. On a CPU the batch sweep is
short so that the whole run stays within a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import sys
import time
from pathlib import Path

import torch

from vidsr import bench
from vidsr.errors import BackendUnavailable
from vidsr.timing import matmul_gflops

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import readme_table  # noqa: E402

# (model, scale, input WxH): the input sizes a user upscales towards 1080p, and 1080p -> 2160p.
CASES = [
    ("small", 3, (640, 360)),
    ("tiny", 3, (640, 360)),
    ("small", 2, (960, 540)),
    ("tiny", 2, (960, 540)),
    ("espcn", 2, (960, 540)),
    ("fsrcnn", 2, (960, 540)),
    ("small", 2, (1280, 720)),
    ("tiny", 2, (1280, 720)),
    ("small", 2, (1920, 1080)),
    ("tiny", 2, (1920, 1080)),
]
PIPELINE_MODELS = ("small", "tiny", "espcn")
GPU_BATCHES, CPU_BATCHES = (1, 4, 16, 64), (1, 4)
GPU_BACKENDS, CPU_BACKENDS = ("eager", "compile", "tensorrt"), ("eager",)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--note", default="", help="recorded with the results, e.g. the load")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few runs: a dry run")
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    parser.add_argument("--readme", type=Path, default=HERE.parent / "README.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log = logging.getLogger("vidsr")

    started = time.perf_counter()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.type == "cuda"
    machine = bench.machine()
    peak = matmul_gflops(device)
    cases = [(m, s, (w // 8, h // 8)) for m, s, (w, h) in CASES[:4]] if args.quick else CASES
    timing = (
        dict(warmup=1, min_runs=2, min_time=0.0)
        if args.quick
        else (
            dict(warmup=5, min_runs=10, min_time=1.0)
            if gpu
            else dict(warmup=1, min_runs=3, min_time=1.0)
        )
    )
    frames = 12 if args.quick else None

    model_results = []
    for model, scale, (w, h) in cases:
        for backend in GPU_BACKENDS if gpu else CPU_BACKENDS:
            for batch in GPU_BATCHES if gpu else CPU_BATCHES:
                log.info("model: %s x%d %dx%d %s batch %d", model, scale, w, h, backend, batch)
                try:
                    model_results.append(
                        bench.bench_model(
                            model,
                            scale,
                            backend=backend,
                            batch=batch,
                            width=w,
                            height=h,
                            device=device,
                            peak_gflops=peak,
                            **timing,
                        )
                    )
                except BackendUnavailable as exc:
                    log.info("  skipped: %s", exc)
                    break
    pipeline_results, latency_results = [], []
    for model in PIPELINE_MODELS:
        log.info("pipeline: %s x2 on %s", model, bench.SAMPLE.name)
        pipeline_results.append(
            bench.bench_pipeline(
                model=model, scale=2, batch=16 if gpu else 4, device=device, frames=frames
            )
        )
        log.info("latency: %s x2", model)
        latency_results.append(
            bench.bench_latency(model=model, scale=2, device=device, frames=frames)
        )

    stamp = datetime.date.today().isoformat()
    out = args.out_dir / f"{stamp}-{machine.slug}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "date": stamp,
        "note": args.note,
        "machine": dataclasses.asdict(machine),
        "command": " ".join(["benchmarks/run.py", *sys.argv[1:]]),
        "model": [dataclasses.asdict(r) for r in model_results],
        "pipeline": [dataclasses.asdict(r) for r in pipeline_results],
        "latency": [dataclasses.asdict(r) for r in latency_results],
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(readme_table.summary(report))
    if plot(report, out.with_suffix(".png")):
        log.info("wrote %s", out.with_suffix(".png"))
    log.info(
        "wrote %s and %s in %.0f s", out, out.with_suffix(".md"), time.perf_counter() - started
    )
    if not args.quick:
        readme_table.update(args.readme, [out])
        log.info("updated the benchmark table in %s", args.readme)
    return 0


def plot(report: dict, path: Path) -> bool:
    """fps against batch, one line per model, input size and backend; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    lines: dict[str, list[tuple[int, float]]] = {}
    for r in report["model"]:
        key = f"{r['model']} x{r['scale']} {r['width']}x{r['height']} {r['backend']}"
        lines.setdefault(key, []).append((r["batch"], r["stats"]["fps_median"]))
    fig, ax = plt.subplots(figsize=(8, 5))
    for key, points in lines.items():
        ax.plot(*zip(*sorted(points), strict=True), marker="o", label=key)
    batches = sorted({r["batch"] for r in report["model"]})
    ax.set_xscale("log", base=2)
    ax.set_xticks(batches, [str(b) for b in batches])
    ax.set(
        yscale="log",
        xlabel="batch (frames per call)",
        ylabel="frames/s (median)",
        title=f"model only: {report['machine']['gpu'] or report['machine']['cpu']}",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


if __name__ == "__main__":
    sys.exit(main())
