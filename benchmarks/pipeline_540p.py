"""`vidsr upscale` end to end on a 960×540 clip towards 1080p, the fast models against the
baselines (a naive PyTorch loop, OpenCV's DNN module and an OpenCV `dnn_superres`-style frame
loop running the same weights). Written to benchmarks/results/<date>-pipeline-540p-<machine>.json.

    .venv/bin/python -m benchmarks.pipeline_540p [--models tiny,small] [--frames 120]

The clip is the shared cockatoo (1280×720) shrunk to 960×540 by swscale bicubic and coded by
libx264 at CRF 23, made in a temporary folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import torch

from vidsr import bench

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent / "shared" / "data" / "video" / "cockatoo_yuv420.mp4"


def make_540p(dst: Path) -> None:
    with av.open(str(SOURCE)) as src, av.open(str(dst), "w") as out:
        video = src.streams.video[0]
        rate = Fraction(video.average_rate or 20)
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 960, 540, "yuv420p"
        stream.options = {"crf": "23"}
        for i, frame in enumerate(src.decode(video)):
            small = frame.reformat(960, 540, "yuv420p", interpolation="BICUBIC")
            small.pts, small.time_base = i, 1 / rate
            out.mux(stream.encode(small))
        out.mux(stream.encode(None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny,small")
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args()
    device = torch.device("cpu")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "cockatoo-540p.mp4"
        make_540p(clip)
        for model in args.models.split(","):
            results.append(bench.bench_pipeline(clip, model=model, scale=2, backend="eager",
                                                batch=4, device=device, frames=args.frames))
    machine = bench.machine()
    record = {"date": datetime.date.today().isoformat(), "machine": dataclasses.asdict(machine),
              "input": "cockatoo_yuv420.mp4 at 960x540 (swscale bicubic, x264 CRF 23)",
              "results": [dataclasses.asdict(r) for r in results]}
    out = HERE / "results" / f"{record['date']}-pipeline-540p-{machine.slug}.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    for r in results:
        base = ", ".join(f"{b.name}: {b.fps:.1f} fps (vidsr {b.vidsr_ratio:.2f}×)"
                         for b in r.baselines)
        print(f"{r.model}: {r.end_to_end_fps:.1f} fps end to end, efficiency {r.efficiency:.2f}, "
              f"bottleneck {r.bottleneck}; {base}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
