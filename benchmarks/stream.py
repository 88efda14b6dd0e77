"""Live added latency and sustained fps of `vidsr stream` on loopback UDP, written to
`benchmarks/results/<date>-stream-<machine>.json`.

    .venv/bin/python -m benchmarks.stream [--width 320 --height 180 --fps 30 --seconds 20]

A paced MPEG-TS test pattern is sent to 127.0.0.1; latency is packet read → encoded packet
muxed, p50/p95/p99, with the default `drop` policy (frames the model cannot keep up with are
dropped and counted, so latency stays bounded).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
from pathlib import Path

from vidsr import bench
from vidsr.bench.latency import measure_latency
from vidsr.config import Options, load

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--model", help="override the config's model (default there: auto)")
    parser.add_argument("--config", type=Path,
                        default=HERE.parent / "configs" / "stream-low-latency.toml")
    args = parser.parse_args()
    opts: Options = load(args.config).override(backend="eager", model=args.model)
    stats = measure_latency(width=args.width, height=args.height, fps=args.fps,
                            seconds=args.seconds, opts=opts)
    machine = bench.machine()
    record = {
        "what": "vidsr stream added latency (packet read -> packet muxed) and sustained fps",
        "input": f"{args.width}x{args.height} @ {args.fps} fps MPEG-TS over loopback UDP",
        "asked": f"{opts.model} x{opts.scale}", "config": args.config.name,
        **stats, "machine": dataclasses.asdict(machine), "date": datetime.date.today().isoformat(),
    }
    out = HERE / "results" / f"{record['date']}-stream-{machine.slug}.json"
    out.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(json.dumps(stats), "->", out)


if __name__ == "__main__":
    main()
