"""What one run will do, decided the same way wherever it runs (this process, or a cluster's
workers), and what it did: the output geometry, the backend (`vidsr.backends.setup`), the encoder,
the key a resumable job's journal is made for, the segments' remux, and `RunStats`.
`vidsr.api` (one machine) and `vidsr.cluster` (many) both build on this."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, astuple, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import torch

from vidsr.backends.setup import Prepared, backend_for
from vidsr.config import Options
from vidsr.errors import ConfigError, CorruptInput
from vidsr.frames import VideoInfo
from vidsr.geometry import Geometry, plan_stored
from vidsr.models import SHIPPED
from vidsr.pipeline import Upscaler, run
from vidsr.probe import local_file
from vidsr.resume import SEGMENT_BATCHES, Journal, Segment, SegmentWriter, assemble
from vidsr.sink import Encoder, Sink
from vidsr.source import Source

MakeSink = Callable[[av.container.OutputContainer, str, list[av.stream.Stream]], Sink]


@dataclass
class RunStats:
    input: str
    output: str
    frames: int
    seconds: float
    fps: float
    input_bytes: int | None
    output_bytes: int
    width: int  # output size
    height: int
    model: str
    scale: int  # the model's scale (before the exact resize)
    backend: str
    reason: str  # why this backend
    model_reason: str  # why this model (`auto` says what it measured)
    device: str
    corrupt: int  # input packets the decoder rejected (their frames are missing)
    dropped_streams: list[str] = field(default_factory=list)  # copied streams the output can't hold
    busy: dict[str, float] = field(default_factory=dict)  # seconds per stage (decode, h2d, …)
    resumed: int = 0  # frames an interrupted earlier run had finished (--resume)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def geometry_for(info: VideoInfo, opts: Options) -> Geometry:
    return plan_stored(info.height, info.width, info.rotation, scale=opts.scale,
                       target=opts.target)


def prepare(info: VideoInfo, opts: Options, geometry: Geometry,
            device: torch.device) -> Prepared:
    """The model and backend for this input (`realtime` picks as for a live source)."""
    return backend_for(opts, device, scale=geometry.scale, height=info.height, width=info.width,
                       batch=opts.batch,
                       need_fps=float(info.rate) if opts.realtime and info.rate else None)


def sink_factory(info: VideoInfo, geometry: Geometry, opts: Options, *,
                 segmented: bool) -> MakeSink:
    """Sinks for this run; `segmented` (a resumable or clustered job): reproducible packets, so
    that a segment encoded again encodes the same."""
    encoder = Encoder(opts.codec, opts.crf, opts.preset, reproducible=segmented)

    def make_sink(container: av.container.OutputContainer, name: str,
                  copy: list[av.stream.Stream]) -> Sink:
        return Sink(container, name=name, info=info, width=geometry.width,
                    height=geometry.height, encoder=encoder, copy=copy)
    return make_sink


def input_file(src: str | Path, *, option: str | None) -> Path:
    """A resumable (or clustered) job's input, which must be a file: it seeks back into it.
    `option`: the setting that asked for a resumable job."""
    path = local_file(src)
    if path is None:
        raise ConfigError(f"{src}: a resumable job needs an input file, which it seeks back into",
                          option=option)
    return path


def journal_key(path: Path, opts: Options, geometry: Geometry, *, backend: str, device: str,
                dtype: str) -> dict[str, Any]:
    """Everything that changes the output's frames: a journal made with other values is stale.
    `opts.model` is the resolved model; `backend`, `device`, `dtype` those of the backend that
    runs (on this machine or on a cluster's workers)."""
    stat = path.stat()
    return {"input": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "model": opts.model, "geometry": list(astuple(geometry)), "backend": backend,
            "device": device, "dtype": dtype, "batch": opts.batch, "frames": opts.frames,
            "weights": SHIPPED[opts.model, geometry.scale].sha256, "codec": opts.codec,
            "crf": opts.crf, "preset": opts.preset}


def expected_frames(info: VideoInfo, opts: Options) -> int | None:
    """How many frames the run will give, where the container says (or `frames` caps it)."""
    known = [n for n in (info.frames, opts.frames) if n]
    return min(known) if known else None


def encode_segments(source: Source, upscaler: Upscaler, opts: Options, make_sink: MakeSink,
                    next_file: Callable[[], Path], done: Callable[[Segment], None],
                    on_batch: Callable[[int], None] | None = None) -> None:
    """What `source` gives, upscaled into segment files of `batch × SEGMENT_BATCHES` frames,
    each handed to `done` once closed and synced; on a failure the unfinished one is removed
    (those handed over stay, for a resume)."""
    writer = SegmentWriter(next_file, done, opts.batch * SEGMENT_BATCHES, source.info.time_base,
                           lambda c, name: make_sink(c, name, []))
    try:
        run(source, upscaler, writer.write, on_batch=on_batch)
        check_strict(source, opts.strict)
        writer.finish()
    except BaseException:
        writer.abort()
        raise


def check_strict(source: Source, strict: bool) -> None:
    if strict and source.corrupt:
        raise CorruptInput(f"{source.name}: {source.corrupt} corrupt video packet(s) did not "
                           "decode, and strict mode allows none", option="strict")


def finish_segments(journal: Journal, dst: Path, src: str, info: VideoInfo,
                    opts: Options) -> list[str]:
    """Every frame is journaled: remux the segments with `src`'s other streams into `dst`, then
    drop the work folder. Returns the copied streams the output cannot hold."""
    last = journal.last_pts
    # A --frames preview ends the copied streams where its last frame ends, as a plain run does.
    until: Fraction | None = None
    if opts.frames is not None and journal.frames == opts.frames and last is not None:
        until = last * info.time_base + (1 / info.rate if info.rate else 0)
    dropped = assemble(journal, dst, src, until=until)
    shutil.rmtree(journal.folder, ignore_errors=True)
    return dropped


def input_size(src: str | Path) -> int | None:
    path = local_file(src)
    return path.stat().st_size if path is not None else None
