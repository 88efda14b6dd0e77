"""`vidsr.upscale(src, dst, **options) -> RunStats`: one video file in, an upscaled one out."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, astuple, dataclass, field, replace
from pathlib import Path
from typing import Any

import av

from vidsr.backends import Backend
from vidsr.backends.auto import choose
from vidsr.backends.select import resolve_device
from vidsr.backends.setup import backend_for
from vidsr.config import Options, load
from vidsr.errors import ConfigError, CorruptInput
from vidsr.geometry import Geometry, plan_stored
from vidsr.models import SHIPPED
from vidsr.pipeline import StageTimes, Upscaler, run
from vidsr.probe import local_file
from vidsr.resume import SEGMENT_BATCHES, Journal, SegmentWriter, assemble, work_dir
from vidsr.sink import Encoder, Sink, atomic_output, check_output, open_output
from vidsr.source import Source

Progress = Callable[[int, int | None], None]  # (frames done, total or None)


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


def upscale(src: str | Path, dst: str | Path, *, config: str | Path | None = None,
            on_progress: Progress | None = None, backend: str | Backend | None = None,
            **options: Any) -> RunStats:
    """Upscale `src` into `dst`; options are `vidsr.config.Options` fields and override `config`.

    `backend` is a backend name (auto, tensorrt, compile, eager) or a ready `Backend` object.
    Nothing appears at `dst` unless the whole run succeeds.
    """
    base = load(Path(config)) if config is not None else Options()
    if isinstance(backend, str):
        options["backend"] = backend
    opts = base.override(**options)
    dst = Path(dst)
    given = backend if backend is not None and not isinstance(backend, str) else None
    device = given.device if given is not None else resolve_device(opts.device)
    started = time.perf_counter()
    with Source.open(src, batch=opts.batch, max_frames=opts.frames,
                     pin=device.type == "cuda") as source:
        check_output(dst, str(src), overwrite=opts.overwrite)
        info = source.info
        geometry = plan_stored(info.height, info.width, info.rotation, scale=opts.scale,
                               target=opts.target)
        if given is None:
            prepared = backend_for(
                opts, device, scale=geometry.scale, height=info.height, width=info.width,
                batch=opts.batch,
                need_fps=float(info.rate) if opts.realtime and info.rate else None)
            engine, reason, owned = prepared.backend, prepared.reason, True
            model, model_reason = prepared.model, prepared.model_reason
        else:
            engine, reason, owned = given, "given by the caller", False
            # The caller's backend runs some model: `auto` names the one a file gets.
            chosen = choose(opts.model, geometry.scale, need_fps=None, device=device,
                            backend=opts.backend, batch=opts.batch, height=info.height,
                            width=info.width)
            model, model_reason = chosen.model, chosen.reason
        opts = replace(opts, model=model)
        times = StageTimes()
        encoder = Encoder(opts.codec, opts.crf, opts.preset)
        done = resumed = 0
        known = [n for n in (info.frames, opts.frames) if n]
        total = min(known) if known else None

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            if on_progress is not None:
                on_progress(done, total)

        def make_sink(container: av.container.OutputContainer, name: str,
                      copy: list[av.stream.Stream]) -> Sink:
            return Sink(container, name=name, info=info, width=geometry.width,
                        height=geometry.height, encoder=encoder, copy=copy)

        upscaler = Upscaler(engine, geometry, times)
        try:
            journal = _journal(src, dst, source, opts, geometry, engine) if opts.resume else None
            done = resumed = journal.frames if journal else 0
            if journal is None:
                dropped = _write_whole(source, upscaler, dst, on_batch, opts.strict,
                                       lambda c: make_sink(c, str(dst), source.copied))
            else:
                dropped = _write_segments(source, upscaler, dst, journal, on_batch, opts,
                                          lambda c, name: make_sink(c, name, []))
        finally:
            if owned:
                engine.close()
    seconds = time.perf_counter() - started
    return RunStats(
        input=str(src), output=str(dst), frames=done, seconds=round(seconds, 4),
        fps=round((done - resumed) / seconds, 3) if seconds else 0.0,
        input_bytes=_size(src), output_bytes=dst.stat().st_size,
        width=geometry.width, height=geometry.height, model=opts.model, scale=geometry.scale,
        backend=engine.name, reason=reason, model_reason=model_reason, device=str(device),
        corrupt=source.corrupt,
        dropped_streams=dropped, busy=times.as_dict(), resumed=resumed,
    )


def _write_whole(source: Source, upscaler: Upscaler, dst: Path,
                 on_batch: Callable[[int], None], strict: bool,
                 make_sink: Callable[[av.container.OutputContainer], Sink]) -> list[str]:
    """The plain run: one encoder straight into the output's temporary file."""
    with atomic_output(dst) as temp:
        container = open_output(temp, dst)
        try:
            sink = make_sink(container)
        except BaseException:
            container.close()
            raise
        try:
            run(source, upscaler, sink.write, on_batch=on_batch)
            _check_strict(source, strict)
            sink.close()
        except BaseException:
            sink.abort()
            raise
    return sink.dropped_streams


def _write_segments(source: Source, upscaler: Upscaler, dst: Path, journal: Journal,
                    on_batch: Callable[[int], None], opts: Options,
                    make_sink: Callable[[av.container.OutputContainer, str], Sink]) -> list[str]:
    """The resumable run: the frames not yet in `journal` into segments, then the output."""
    writer = SegmentWriter(journal, opts.batch * SEGMENT_BATCHES, source.info.time_base,
                           make_sink)
    try:
        run(source, upscaler, writer.write, on_batch=on_batch)
        _check_strict(source, opts.strict)
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    info, last = source.info, journal.last_pts
    # A --frames preview ends the copied streams where its last frame ends, as a plain run does.
    until = None
    if opts.frames is not None and journal.frames == opts.frames and last is not None:
        until = last * info.time_base + (1 / info.rate if info.rate else 0)
    dropped = assemble(journal, dst, source.name, until=until)
    shutil.rmtree(journal.folder, ignore_errors=True)
    return dropped


def _journal(src: str | Path, dst: Path, source: Source, opts: Options, geometry: Geometry,
             engine: Backend) -> Journal:
    """The resumable job's journal, and `source` moved past the frames it already holds."""
    path = local_file(src)
    if path is None:
        raise ConfigError(f"{src}: a resumable job needs an input file, which it seeks back into",
                          option="resume")
    stat = path.stat()
    # Everything that changes the output's frames: a journal made with other values is stale.
    key = {"input": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
           "model": opts.model, "geometry": list(astuple(geometry)), "backend": engine.name,
           "device": str(engine.device), "dtype": str(engine.dtype), "batch": opts.batch,
           "frames": opts.frames,
           "weights": SHIPPED[opts.model, geometry.scale].sha256, "codec": opts.codec,
           "crf": opts.crf, "preset": opts.preset}
    journal = Journal.open(work_dir(dst), key)
    if journal.last_pts is not None:
        source.seek_past(journal.last_pts)
        if source.max_frames is not None:
            source.max_frames -= journal.frames
    return journal


def _check_strict(source: Source, strict: bool) -> None:
    if strict and source.corrupt:
        raise CorruptInput(f"{source.name}: {source.corrupt} corrupt video packet(s) did not "
                           "decode, and strict mode allows none", option="strict")


def _size(src: str | Path) -> int | None:
    path = local_file(src)
    return path.stat().st_size if path is not None else None
