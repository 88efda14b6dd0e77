"""Throughput and latency measurement: the numbers `vidsr bench` prints and `benchmarks/` records.

Three modes, each a function returning dataclasses (never printing):

- `bench_model` (`model`): one model stage on realistic frames (a real video frame tiled to the
  size asked for), per backend and batch, after the backend's output has been checked against
  eager fp32.
- `bench_pipeline` (`pipeline`): a real clip end to end through `vidsr.upscale`, each stage of
  that pipeline timed alone on the same clip, and the baselines (`baselines`: bicubic, the naive
  tutorial loop, OpenCV DNN with the same weights) timed in the same run so that ratios survive a
  noisy machine.
- `bench_latency` (`latency`): batch 1, from a decoded frame to its encoded packet; and
  `measure_latency`, a live `vidsr stream` run fed by a paced sender over loopback UDP.

Timings use CUDA events on a GPU and `perf_counter` on the CPU; warm-up runs are never counted.
Statistics follow `torch.utils.benchmark`: median and interquartile range over repeated runs.
"""

from vidsr.bench.baselines import naive_loop, opencv_dnn_fps, opencv_loop_fps, opencv_net
from vidsr.bench.clips import SAMPLE, read_batches, tiled_luma
from vidsr.bench.latency import (
    LatencyResult,
    bench_latency,
    free_udp_port,
    measure_latency,
    send_pattern,
)
from vidsr.bench.machine import Machine, Stats, machine, stats
from vidsr.bench.model import ModelResult, bench_model
from vidsr.bench.pipeline import PipelineResult, bench_pipeline

__all__ = [
    "SAMPLE", "LatencyResult", "Machine", "ModelResult", "PipelineResult", "Stats",
    "bench_latency", "bench_model", "bench_pipeline", "free_udp_port", "machine",
    "measure_latency", "naive_loop", "opencv_dnn_fps", "opencv_loop_fps", "opencv_net",
    "read_batches", "send_pattern", "stats", "tiled_luma",
]
