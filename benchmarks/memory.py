"""Bounded memory: peak RSS of `vidsr upscale` on a short and a ten times longer input.

    .venv/bin/python -m benchmarks.memory            # 1,000 and 10,000 frames, 64×36 → 128×72
    .venv/bin/python -m benchmarks.memory --frames 200 2000 --size 32x18

Each input is generated (H.264, no audio) into a temporary folder, then upscaled by the `vidsr`
command in its own process; the peak RSS is that process's own (`wait4`), so one run's peak cannot
hide another's. The pipeline's bounded queues should make the peaks equal whatever the length:
the figures, and whether they are within 10 % of each other, go to
benchmarks/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"
TOLERANCE = 0.10


def write_clip(path: Path, frames: int, width: int, height: int) -> None:
    """A moving pattern (so every frame costs the encoder something), generated frame by frame."""
    y, x = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(30), options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            base = ((x + y + 3 * i) * 4) % 256
            rgb = np.stack([base, (base + 85) % 256, 255 - base], axis=-1).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))


def peak_rss(src: Path, dst: Path) -> tuple[int, float]:
    """(peak RSS in bytes, seconds) of one `vidsr upscale` process."""
    command = [
        sys.executable,
        "-m",
        "vidsr",
        "upscale",
        str(src),
        str(dst),
        "--quiet",
        "--device",
        "cpu",
        "--backend",
        "eager",
        "--preset",
        "ultrafast",
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"vidsr upscale failed on {src} (exit {proc.returncode}): {stderr}")
    return usage.ru_maxrss * 1024, seconds  # Linux reports kilobytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs=2, default=[1000, 10_000], metavar="N")
    parser.add_argument("--size", default="64x36", help="input WxH (default 64x36)")
    args = parser.parse_args(argv)
    width, height = map(int, args.size.split("x"))
    runs = []
    with tempfile.TemporaryDirectory(prefix="vidsr-memory-") as tmp:
        for frames in args.frames:
            src, dst = Path(tmp) / f"in-{frames}.mp4", Path(tmp) / f"out-{frames}.mp4"
            write_clip(src, frames, width, height)
            rss, seconds = peak_rss(src, dst)
            runs.append(
                {
                    "frames": frames,
                    "peak_rss_mib": round(rss / 2**20, 1),
                    "seconds": round(seconds, 1),
                    "fps": round(frames / seconds, 1),
                }
            )
            print(
                f"{frames:>6} frames: peak RSS {rss / 2**20:.1f} MiB in {seconds:.1f} s", flush=True
            )
    short, long = runs[0]["peak_rss_mib"], runs[-1]["peak_rss_mib"]
    growth = (long - short) / short
    result = {
        "what": "peak RSS of `vidsr upscale` (its own process), short vs long input",
        "input": f"{width}x{height} H.264, no audio; scale 2, espcn, cpu",
        "runs": runs,
        "growth": round(growth, 4),
        "within_10_percent": abs(growth) <= TOLERANCE,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, PyAV {av.__version__}",
        "date": time.strftime("%Y-%m-%d"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"growth {growth:+.1%} ({'within' if result['within_10_percent'] else 'OVER'} 10 %); "
        f"written to {RESULTS}"
    )
    return 0 if result["within_10_percent"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
