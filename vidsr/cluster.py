"""One job on a Ray cluster: the video is cut into the segments a local `--resume` run writes
(keyframe-aligned, video only, `batch × SEGMENT_BATCHES` frames each), every segment is one Ray
task that seeks to it, upscales it and encodes it into the job's work folder, and this process
(the driver) journals them in order and remuxes them with the input's other streams.

    driver: frame_pts(IN) ─▶ plan_job (one task) ─▶ upscale_segment × N ─▶ journal ─▶ assemble
    worker:                   model, backend         Source.seek_past ─ Upscaler ─ Sink

Inputs, outputs and the work folder must be on storage every node sees under the same path.
The journal is the local one (`vidsr.resume`), keyed the same way, so a job started on one
machine continues on a cluster and the other way round, and both give the same packets.
Imported only for `cluster=`: the rest of vidsr never imports Ray.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from vidsr.backends.select import resolve_device
from vidsr.config import Options
from vidsr.errors import ClusterError, ConfigError, UnsupportedInput, VidsrError
from vidsr.pipeline import StageTimes, Upscaler
from vidsr.plan import (
    RunStats,
    encode_segments,
    finish_segments,
    geometry_for,
    input_file,
    input_size,
    journal_key,
    prepare,
    sink_factory,
)
from vidsr.resume import SEGMENT_BATCHES, Journal, Segment, work_dir
from vidsr.sink import check_output
from vidsr.source import Source, frame_pts

try:
    import ray
    import ray.exceptions
except ImportError as exc:
    if exc.name != "ray":
        raise
    raise ClusterError("a cluster needs Ray: pip install 'vidsr[ray]'") from exc

# One CPU per task: decode, encode and torch each get a share of it, and a node runs as many
# segments at once as it has CPUs (or GPUs). Each task builds its own backend rather than a
# long-lived actor keeping one: measured in benchmarks/cluster.py, loading it costs 22 ms of a
# segment's seconds (eager; a TensorRT engine loaded from the shared engine cache costs more).
CPUS_PER_TASK = 1
# Ray retries a task whose worker process or node died (not one that raised): a segment is
# redone from its keyframe, as often as this.
RETRIES = 3

# How often the driver reports progress while it waits for segments, so that a caller can stop
# it (its callback raises) within this time rather than at the next finished segment.
HEARTBEAT_S = 1.0

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class WorkerPlan:
    """What a worker resolves once per job: the model and backend every segment then uses."""

    model: str
    model_reason: str
    backend: str
    reason: str
    device: str
    dtype: str


@dataclass(frozen=True)
class SegmentDone:
    segment: Segment
    corrupt: int  # video packets the decoder rejected in this segment
    busy: dict[str, float]


@dataclass(frozen=True)
class Span:
    """Segment `index` of the job: `frames` frames after the frame at `after` (None: the first),
    its last frame at `last`."""

    index: int
    after: int | None
    frames: int
    last: int


def spans(pts: list[int], length: int) -> list[Span]:
    """The job's segments, `length` frames each (the last shorter), over frames at `pts`."""
    return [Span(i // length, pts[i - 1] if i else None, len(pts[i:i + length]),
                 pts[min(i + length, len(pts)) - 1]) for i in range(0, len(pts), length)]


def upscale_on_cluster(src: str | Path, dst: Path, opts: Options, cluster: str,
                       on_progress: Progress | None) -> RunStats:
    """`vidsr.upscale(src, dst, cluster=…)`: the job's segments on the cluster's workers."""
    address = parse_address(cluster)
    path = input_file(src, option=None)  # every cluster job is resumable
    started = time.perf_counter()
    with Source.open(src, batch=opts.batch) as source:
        info = source.info
    check_output(dst, str(src), overwrite=opts.overwrite)
    geometry = geometry_for(info, opts)
    pts = frame_pts(path)[:opts.frames]
    with session(address):
        resources = _resources()
        plan = _get(plan_job.options(**resources).remote(str(path), opts))
        opts = replace(opts, model=plan.model, backend=plan.backend)
        key = journal_key(path, opts, geometry, backend=plan.backend, device=plan.device,
                          dtype=plan.dtype)
        journal = Journal.open(work_dir(dst), key)
        todo = spans(pts, opts.batch * SEGMENT_BATCHES)
        _check_journal(journal, todo, str(src))
        resumed = journal.frames
        corrupt, times = _run_segments(str(path), journal, todo[len(journal.segments):], opts,
                                       resources, on_progress, total=len(pts))
    dropped = finish_segments(journal, dst, str(path), info, opts)
    seconds = time.perf_counter() - started
    done = sum(s.frames for s in todo)
    return RunStats(
        input=str(src), output=str(dst), frames=done, seconds=round(seconds, 4),
        fps=round((done - resumed) / seconds, 3) if seconds else 0.0,
        input_bytes=input_size(src), output_bytes=dst.stat().st_size,
        width=geometry.width, height=geometry.height, model=plan.model, scale=geometry.scale,
        backend=plan.backend, reason=plan.reason, model_reason=plan.model_reason,
        device=plan.device, corrupt=corrupt, dropped_streams=dropped, busy=times.as_dict(),
        resumed=resumed,
    )


def parse_address(cluster: str) -> str | None:
    """`ray` (None: a Ray of our own on this machine) or `ray://HOST:PORT` (a running
    cluster's Ray Client server, port 10001 unless its head was started otherwise)."""
    if cluster == "ray":
        return None
    if cluster.startswith("ray://") and len(cluster) > len("ray://"):
        return cluster
    raise ConfigError(f"unknown cluster {cluster!r}; give ray or ray://HOST:PORT")


@contextmanager
def session(address: str | None) -> Iterator[None]:
    """Connected to Ray for the block: to `address`, or to a Ray started here and stopped after.
    An already connected process (a job of many files, a test) keeps its connection."""
    if ray.is_initialized():
        yield
        return
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    try:
        if address is None:
            # address="local": a new Ray even where RAY_ADDRESS names another; no dashboard.
            ray.init(address="local", num_cpus=len(os.sched_getaffinity(0)),
                     include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"cannot connect to Ray at {address or 'this machine'} ({exc})") from exc
    try:
        yield
    finally:
        ray.shutdown()


def task_slots() -> int:
    """How many segment tasks the connected cluster runs at once."""
    resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
    gpus = int(resources.get("GPU", 0))
    return gpus or int(resources.get("CPU", 0) // CPUS_PER_TASK)


def _resources() -> dict[str, float]:
    """A GPU per task on a cluster that has GPUs; otherwise CPUs only."""
    gpus = ray.cluster_resources().get("GPU", 0)  # type: ignore[no-untyped-call]
    return {"num_cpus": CPUS_PER_TASK, **({"num_gpus": 1} if gpus else {})}


def _check_journal(journal: Journal, todo: list[Span], src: str) -> None:
    """The journaled segments (from this job on any machine) must be the planned ones."""
    if len(journal.segments) > len(todo):
        raise UnsupportedInput(f"{src}: the journal holds more segments than the input has")
    for done, span in zip(journal.segments, todo, strict=False):
        _check_segment(done, span, src)


def _check_segment(done: Segment, span: Span, src: str) -> None:
    """A mismatch means the demuxed timestamps and the decoded frames disagree (packets that
    do not decode, frames the decoder adds or drops): the plan would lose or repeat frames."""
    if (done.frames, done.last_pts) != (span.frames, span.last):
        raise UnsupportedInput(
            f"{src}: its decoded frames do not match its packets' timestamps (segment "
            f"{span.index}), so it cannot be cut into segments; upscale it on one machine")


def _run_segments(src: str, journal: Journal, todo: list[Span], opts: Options,
                  resources: dict[str, float], on_progress: Progress | None,
                  *, total: int) -> tuple[int, StageTimes]:
    """Every span in `todo` as a task; each finished one is journaled in order (one that
    finishes early waits for those before it). Returns the corrupt packets and stage times."""
    task = upscale_segment.options(**resources, max_retries=RETRIES, retry_exceptions=False)
    pending = {task.remote(src, str(journal.file(s.index)), s.after, s.frames, opts): s
               for s in todo}
    held: dict[int, SegmentDone] = {}
    spans_by_index = {s.index: s for s in todo}
    corrupt, times = 0, StageTimes()
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=HEARTBEAT_S)
            if not ready:  # the caller hears from us even while a long segment runs
                if on_progress is not None:
                    on_progress(journal.frames, total)
                continue
            span = pending.pop(ready[0])
            held[span.index] = _get(ready[0])
            while (index := len(journal.segments)) in held:
                result = held.pop(index)
                _check_segment(result.segment, spans_by_index[index], src)
                journal.add(result.segment)
                corrupt += result.corrupt
                for stage, seconds in result.busy.items():
                    setattr(times, stage, getattr(times, stage) + seconds)
                if on_progress is not None:
                    on_progress(journal.frames, total)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return corrupt, times


def _get(ref: ray.ObjectRef[Any]) -> Any:
    """A task's result; a vidsr error raised on a worker is raised here as itself."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, VidsrError):
            raise exc.cause from None
        raise
    except ray.exceptions.RayError as exc:
        raise ClusterError(f"a cluster task failed ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0]})") from exc


@ray.remote
def plan_job(src: str, opts: Options) -> WorkerPlan:
    """On a worker: the model and backend this job's segments run with there."""
    torch.set_num_threads(CPUS_PER_TASK)
    device = resolve_device(opts.device)
    with Source.open(src, batch=opts.batch) as source:
        info = source.info
    prepared = prepare(info, opts, geometry_for(info, opts), device)
    engine = prepared.backend
    engine.close()
    return WorkerPlan(prepared.model, prepared.model_reason, engine.name, prepared.reason,
                      str(engine.device), str(engine.dtype))


@ray.remote
def upscale_segment(src: str, file: str, after: int | None, frames: int,
                    opts: Options) -> SegmentDone:
    """On a worker: `frames` frames after the frame at `after`, upscaled into `file`, exactly as
    a local `--resume` run encodes that segment."""
    torch.set_num_threads(CPUS_PER_TASK)
    device = resolve_device(opts.device)
    done: list[Segment] = []
    with Source.open(src, batch=opts.batch, max_frames=frames,
                     pin=device.type == "cuda") as source:
        if after is not None:
            source.seek_past(after)
        info = source.info
        geometry = geometry_for(info, opts)
        engine = prepare(info, opts, geometry, device).backend
        make_sink = sink_factory(info, geometry, opts, segmented=True)
        upscaler = Upscaler(engine, geometry, StageTimes())
        try:
            encode_segments(source, upscaler, opts, make_sink, lambda: Path(file), done.append)
        finally:
            engine.close()
    return SegmentDone(done[0], source.corrupt, upscaler.times.as_dict())
