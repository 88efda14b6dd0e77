"""`vidsr.upscale(src, dst, **options) -> RunStats`: one video file in, an upscaled one out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import av

from vidsr.backends import Backend
from vidsr.backends.auto import choose
from vidsr.backends.select import resolve_device
from vidsr.config import Options, load
from vidsr.errors import ConfigError
from vidsr.pipeline import StageTimes, Upscaler, run
from vidsr.plan import (
    MakeSink,
    RunStats,
    check_strict,
    encode_segments,
    expected_frames,
    finish_segments,
    geometry_for,
    input_file,
    input_size,
    journal_key,
    prepare,
    sink_factory,
)
from vidsr.resume import Journal, work_dir
from vidsr.sink import Sink, atomic_output, check_output, open_output
from vidsr.source import Source

__all__ = ["Progress", "RunStats", "resolve_options", "upscale"]

Progress = Callable[[int, int | None], None]  # (frames done, total or None)


def upscale(src: str | Path, dst: str | Path, *, config: str | Path | None = None,
            on_progress: Progress | None = None, backend: str | Backend | None = None,
            cluster: str | None = None, **options: Any) -> RunStats:
    """Upscale `src` into `dst`; options are `vidsr.config.Options` fields and override `config`.

    `backend` is a backend name (auto, tensorrt, compile, eager) or a ready `Backend` object.
    `cluster` ("ray" for a Ray started on this machine, "ray://HOST:PORT" for a running
    cluster) cuts the job into segments upscaled on the cluster's workers (`vidsr.cluster`).
    Nothing appears at `dst` unless the whole run succeeds.
    """
    opts = resolve_options(config, backend, options)
    dst = Path(dst)
    given = backend if backend is not None and not isinstance(backend, str) else None
    if cluster is not None:
        if given is not None:
            raise ConfigError("a cluster's workers build their own backend; give its name",
                              option="backend")
        from vidsr.cluster import upscale_on_cluster

        return upscale_on_cluster(src, dst, opts, cluster, on_progress)
    device = given.device if given is not None else resolve_device(opts.device)
    started = time.perf_counter()
    with Source.open(src, batch=opts.batch, max_frames=opts.frames,
                     pin=device.type == "cuda") as source:
        check_output(dst, str(src), overwrite=opts.overwrite)
        info = source.info
        geometry = geometry_for(info, opts)
        if given is None:
            prepared = prepare(info, opts, geometry, device)
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
        done = resumed = 0
        total = expected_frames(info, opts)

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            if on_progress is not None:
                on_progress(done, total)

        make_sink = sink_factory(info, geometry, opts, segmented=opts.resume)
        upscaler = Upscaler(engine, geometry, times)
        try:
            journal = None
            if opts.resume:
                key = journal_key(input_file(src, option="resume"), opts, geometry,
                                  backend=engine.name, device=str(engine.device),
                                  dtype=str(engine.dtype))
                journal = _resume(source, Journal.open(work_dir(dst), key))
            done = resumed = journal.frames if journal else 0
            if journal is None:
                dropped = _write_whole(source, upscaler, dst, on_batch, opts.strict,
                                       lambda c: make_sink(c, str(dst), source.copied))
            else:
                dropped = _write_segments(source, upscaler, dst, journal, on_batch, opts,
                                          make_sink)
        finally:
            if owned:
                engine.close()
    seconds = time.perf_counter() - started
    return RunStats(
        input=str(src), output=str(dst), frames=done, seconds=round(seconds, 4),
        fps=round((done - resumed) / seconds, 3) if seconds else 0.0,
        input_bytes=input_size(src), output_bytes=dst.stat().st_size,
        width=geometry.width, height=geometry.height, model=opts.model, scale=geometry.scale,
        backend=engine.name, reason=reason, model_reason=model_reason, device=str(device),
        corrupt=source.corrupt,
        dropped_streams=dropped, busy=times.as_dict(), resumed=resumed,
    )


def resolve_options(config: str | Path | None, backend: str | Backend | None,
                    options: dict[str, Any]) -> Options:
    """`options` over `config` over the defaults; a backend given by name is an option too."""
    base = load(Path(config)) if config is not None else Options()
    if isinstance(backend, str):
        options = {**options, "backend": backend}
    return base.override(**options)


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
            check_strict(source, strict)
            sink.close()
        except BaseException:
            sink.abort()
            raise
    return sink.dropped_streams


def _write_segments(source: Source, upscaler: Upscaler, dst: Path, journal: Journal,
                    on_batch: Callable[[int], None], opts: Options,
                    make_sink: MakeSink) -> list[str]:
    """The resumable run: the frames not yet in `journal` into segments, then the output."""
    encode_segments(source, upscaler, opts, make_sink, journal.next_file, journal.add, on_batch)
    return finish_segments(journal, dst, source.name, source.info, opts)


def _resume(source: Source, journal: Journal) -> Journal:
    """`journal`, with `source` moved past the frames it already holds."""
    if journal.last_pts is not None:
        source.seek_past(journal.last_pts)
        if source.max_frames is not None:
            source.max_frames -= journal.frames
    return journal
