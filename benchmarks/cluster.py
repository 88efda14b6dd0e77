"""One job on a local Ray (2 workers × 1 thread) against one process (2 torch threads), on a clip
of ≥ 1,000 frames; the per-segment costs a cluster adds (scheduling, seeking to the segment's
keyframe, loading the backend, journaling, the driver's remux); and a scaling model for N GPU
workers built from them. Written to benchmarks/results/<date>-cluster-<machine>.{json,md}.

    .venv/bin/python -m benchmarks.cluster [--loops 4] [--gpu-fps 120]

The clip is the shared pancake clip (426×240, 310 frames) decoded once and encoded four times
over (1,240 frames, 30 fps, a keyframe every 250 frames as films usually have), video only.
Both runs use the same settings (tiny, batch 4, so 128-frame segments; preset ultrafast, so that
the encoder is not what is measured); the output check asks for equal packets.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import ray
import torch

import vidsr.cluster
from vidsr.api import upscale
from vidsr.bench import machine
from vidsr.config import Options
from vidsr.plan import geometry_for, prepare
from vidsr.resume import SEGMENT_BATCHES, Journal, Segment
from vidsr.source import Source, frame_pts

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent / "shared" / "data" / "video" / "flipping_a_pancake.mkv"
RUN = {"device": "cpu", "backend": "eager", "batch": 4, "model": "tiny", "preset": "ultrafast"}
GOP = 250
FILM = {"hours": 2, "fps": 24, "width": 1920, "height": 1080, "input": (960, 540),
        "mbit_s": 8.0}  # a 540p film upscaled to 1080p; its output's bitrate at CRF 18
STORAGE_GB_S = 1.0  # an assumed shared-storage bandwidth (NFS/Lustre class), not measured


def make_clip(dst: Path, loops: int) -> int:
    with av.open(str(SOURCE)) as src:
        frames = [f.to_ndarray(format="yuv420p") for f in src.decode(video=0)]
    rate = Fraction(30)
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 426, 240, "yuv420p"
        stream.codec_context.gop_size = GOP
        i = 0
        for _ in range(loops):
            for data in frames:
                frame = av.VideoFrame.from_ndarray(data, format="yuv420p")
                frame.pts, frame.time_base = i, 1 / rate
                out.mux(stream.encode(frame))
                i += 1
        out.mux(stream.encode(None))
    return i


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def packets(path: Path) -> list[tuple[int | None, int | None, bytes]]:
    with av.open(str(path)) as c:
        return [(p.pts, p.dts, bytes(p)) for p in c.demux(video=0) if p.size]


@ray.remote(num_cpus=1)
def noop() -> None:
    return None


def seek_costs(src: Path, opts: Options, pts: list[int], length: int) -> list[float]:
    """Seconds each segment after the first spends seeking to its keyframe and dropping frames
    up to its start (opening the file subtracted)."""
    costs = []
    for start in range(length, len(pts), length):
        with Source.open(src, batch=opts.batch) as source:
            costs.append(timed(lambda s=start, src_=source: src_.seek_past(pts[s - 1]))[0])
    return costs


def backend_load(src: Path, opts: Options) -> float:
    with Source.open(src, batch=opts.batch) as source:
        info = source.info
    geometry = geometry_for(info, opts)
    times = []
    for _ in range(5):
        t, prepared = timed(lambda: prepare(info, opts, geometry, torch.device("cpu")))
        prepared.backend.close()
        times.append(t)
    return statistics.median(times)


def journal_add(folder: Path) -> float:
    journal = Journal.open(folder / ".j.resume", {"k": 1})
    times = [timed(lambda i=i: journal.add(Segment(f"{i:05d}.mov", 1, i)))[0] for i in range(20)]
    return statistics.median(times)


def scaling(costs: dict[str, float], gpu_fps: float, length: int) -> list[dict[str, Any]]:
    """Wall time of the 2-hour film for N GPU workers: the driver's scan and plan, then rounds of
    segments (each one's frames at `gpu_fps` plus its measured overheads), then the remux."""
    film = FILM
    frames = int(film["hours"] * 3600 * film["fps"])
    segments = math.ceil(frames / length)
    in_px = film["input"][0] * film["input"][1]
    here_px = 426 * 240
    # Seeking decodes the input: scaled from this clip's resolution to the film's by pixels.
    seek = costs["seek_s_median"] * in_px / here_px
    overhead = costs["schedule_s"] + seek + costs["backend_load_s"] + costs["journal_add_s"]
    segment_s = length / gpu_fps + overhead
    out_bytes = film["mbit_s"] * 1e6 / 8 * film["hours"] * 3600
    remux_s = out_bytes / costs["remux_bytes_s"]
    scan_s = costs["scan_s_per_frame"] * frames
    rows = []
    for n in (1, 2, 4, 8, 16, 32, 64):
        rounds = math.ceil(segments / n)
        work = rounds * segment_s
        total = scan_s + costs["plan_s"] + work + remux_s
        write_gb_s = n * (out_bytes / segments) / segment_s / 1e9
        limit = "workers"
        if remux_s > work:
            limit = "driver remux"
        if write_gb_s > STORAGE_GB_S:
            limit = "storage"
        rows.append({"workers": n, "segments": segments, "rounds": rounds,
                     "hours": round(total / 3600, 3), "speedup": None, "remux_share": round(
                         remux_s / total, 3), "segment_writes_gb_s": round(write_gb_s, 3),
                     "limit": limit})
    for row in rows:
        row["speedup"] = round(rows[0]["hours"] / row["hours"], 2)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loops", type=int, default=4)
    parser.add_argument("--gpu-fps", type=float, default=120.0,
                        help="an assumed GPU worker's end-to-end fps at 1080p (x264-bound)")
    args = parser.parse_args()
    opts = Options().override(**RUN)
    length = opts.batch * SEGMENT_BATCHES
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = folder / "film.mp4"
        frames = make_clip(src, args.loops)
        scan_s, pts = timed(lambda: frame_pts(src))

        torch.set_num_threads(2)
        local_s, local = timed(lambda: upscale(src, folder / "local.mp4", resume=True, **RUN))

        init_s, _ = timed(lambda: ray.init(num_cpus=2, include_dashboard=False,
                                           log_to_driver=False))
        schedule = [timed(lambda: ray.get(noop.remote()))[0] for _ in range(20)]
        plan_s, _ = timed(lambda: ray.get(vidsr.cluster.plan_job.remote(str(src), opts)))
        remux: list[float] = []
        finish = vidsr.cluster.finish_segments

        def timed_finish(*a: Any, **k: Any) -> list[str]:
            t, dropped = timed(lambda: finish(*a, **k))
            remux.append(t)
            return dropped

        vidsr.cluster.finish_segments = timed_finish  # the driver's remux, timed in place
        cluster_s, clustered = timed(lambda: upscale(src, folder / "cluster.mp4",
                                                     cluster="ray", **RUN))
        ray.shutdown()
        equal = packets(folder / "local.mp4") == packets(folder / "cluster.mp4")
        out_bytes = (folder / "cluster.mp4").stat().st_size
        seeks = seek_costs(src, opts, pts, length)
        costs = {
            "scan_s_per_frame": scan_s / frames,
            "schedule_s": statistics.median(schedule),
            "seek_s_median": statistics.median(seeks),
            "seek_s_max": max(seeks),
            "backend_load_s": backend_load(src, opts),
            "journal_add_s": journal_add(folder),
            "plan_s": plan_s,
            "remux_s": remux[0],
            "remux_bytes_s": out_bytes / remux[0],
        }
    segments = math.ceil(frames / length)
    host = machine()
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": {**dataclasses.asdict(host), "ray": ray.__version__},
        "clip": {"frames": frames, "size": "426x240", "gop": GOP, "segments": segments,
                 "segment_frames": length, "settings": RUN},
        "one_process_2_threads_s": round(local_s, 2),
        "ray_2_workers_1_thread_s": round(cluster_s, 2),
        "ray_start_s": round(init_s, 2),
        "fps": {"one_process": round(local.fps, 2), "ray": round(clustered.fps, 2)},
        "per_segment_s": {k: round(v, 5) for k, v in costs.items()},
        "output_check": {"packets_equal": equal, "frames": clustered.frames,
                         "local_frames": local.frames},
        "scaling_assumptions": {"gpu_fps_per_worker": args.gpu_fps, "film": FILM,
                                "storage_gb_s": STORAGE_GB_S},
        "scaling": scaling(costs, args.gpu_fps, 256),
    }
    stem = f"{result['date']}-cluster-{host.slug}"
    out = HERE / "results"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (out / f"{stem}.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


def markdown(r: dict[str, Any]) -> str:
    c, s = r["clip"], r["per_segment_s"]
    lines = [
        f"# Cluster benchmark, {r['date']}", "",
        f"Machine: {r['machine']['cpu']} ({r['machine']['cpu_count']} cores), "
        f"{r['machine']['gpu'] or 'CPU only'}. torch {r['machine']['torch']}, ray "
        f"{r['machine']['ray']}, PyAV {r['machine']['av']}.", "",
        f"Clip: {c['frames']} frames {c['size']}, keyframe every {c['gop']}, {c['segments']} "
        f"segments of {c['segment_frames']} frames; {c['settings']}.", "",
        "| run | wall s | fps |", "|---|---:|---:|",
        f"| 1 process × 2 threads (`--resume`) | {r['one_process_2_threads_s']} | "
        f"{r['fps']['one_process']} |",
        f"| local Ray, 2 workers × 1 thread (`--cluster ray`, Ray already up) | "
        f"{r['ray_2_workers_1_thread_s']} | {r['fps']['ray']} |", "",
        f"Starting the local Ray: {r['ray_start_s']} s. Output check: packets equal "
        f"{r['output_check']['packets_equal']}, {r['output_check']['frames']} frames.", "",
        "| per-segment cost | seconds |", "|---|---:|",
        *(f"| {k} | {v} |" for k, v in s.items()), "",
        f"Scaling model: a 2-hour 540p→1080p film at {r['scaling_assumptions']['film']['fps']} "
        f"fps, 256-frame segments, {r['scaling_assumptions']['gpu_fps_per_worker']} fps per GPU "
        "worker (assumed, x264-bound; no GPU was measured), the overheads above (seek scaled "
        f"to 540p by pixels), remux at the measured rate, storage "
        f"{r['scaling_assumptions']['storage_gb_s']} GB/s (assumed).", "",
        "| GPU workers | hours | speed-up | remux share | segment writes GB/s | limit |",
        "|---:|---:|---:|---:|---:|---|",
        *(f"| {row['workers']} | {row['hours']} | {row['speedup']} | {row['remux_share']} | "
          f"{row['segment_writes_gb_s']} | {row['limit']} |" for row in r["scaling"]),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
