"""`vidsr.upscale(src, dst, **options) -> RunStats`: one video file in, an upscaled one out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidsr.backends import Backend
from vidsr.backends.select import inference_graph, resolve_device, select
from vidsr.config import Options, load
from vidsr.errors import CorruptInput
from vidsr.frames import Geometry, plan
from vidsr.models import load_model
from vidsr.pipeline import StageTimes, Upscaler, run
from vidsr.probe import VideoInfo
from vidsr.sink import Sink, atomic_output, check_output, open_output
from vidsr.source import Source
from vidsr.tiling import TiledBackend, tiling_for

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
    device: str
    corrupt: int  # input packets the decoder rejected (their frames are missing)
    dropped: int  # frames dropped (always 0 for files; live streams may drop)
    dropped_streams: list[str] = field(default_factory=list)  # copied streams the output can't hold
    busy: dict[str, float] = field(default_factory=dict)  # seconds per stage (decode, h2d, …)

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
        geometry = _geometry(info, opts)
        if given is None:
            tiling = None if opts.tile is None else tiling_for(
                opts.tile, inference_graph(load_model(opts.model, geometry.scale)),
                device=device, batch=opts.batch, height=info.height, width=info.width)
            # A tiled run's backend is built for the tile windows, the one shape it will see.
            height, width = tiling.window if tiling else (info.height, info.width)
            chosen = select(opts.model, geometry.scale, backend=opts.backend, device=device,
                            batch=opts.batch, height=height, width=width)
            engine, reason, owned = chosen.backend, chosen.reason, True
            if tiling is not None:
                engine = TiledBackend(engine, tiling)
                reason += f", {len(tiling.tiles)} tiles of {width}x{height}"
        else:
            engine, reason, owned = given, "given by the caller", False
        times = StageTimes()
        done = 0
        known = [n for n in (info.frames, opts.frames) if n]
        total = min(known) if known else None

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            if on_progress is not None:
                on_progress(done, total)

        try:
            with atomic_output(dst) as temp:
                container = open_output(temp, dst)
                try:
                    sink = Sink(container, name=str(dst), info=info, width=geometry.width,
                                height=geometry.height, codec=opts.codec, crf=opts.crf,
                                preset=opts.preset, copy=source.copied)
                except BaseException:
                    container.close()
                    raise
                try:
                    run(source, Upscaler(engine, geometry, times), sink.write, on_batch=on_batch)
                    if opts.strict and source.corrupt:
                        raise CorruptInput(f"{src}: {source.corrupt} corrupt video packet(s) did "
                                           "not decode (--strict)")
                    sink.close()
                except BaseException:
                    sink.abort()
                    raise
        finally:
            if owned:
                engine.close()
    seconds = time.perf_counter() - started
    return RunStats(
        input=str(src), output=str(dst), frames=done, seconds=round(seconds, 4),
        fps=round(done / seconds, 3) if seconds else 0.0,
        input_bytes=_size(src), output_bytes=dst.stat().st_size,
        width=geometry.width, height=geometry.height, model=opts.model, scale=geometry.scale,
        backend=engine.name, reason=reason, device=str(device), corrupt=source.corrupt,
        dropped=0, dropped_streams=sink.dropped_streams, busy=times.as_dict(),
    )


def _geometry(info: VideoInfo, opts: Options) -> Geometry:
    """Plan on the picture as displayed (a 1080p target means 1080 rows on screen), then turn
    the size back to the stored orientation."""
    height, width = info.display_size
    g = plan(height, width, scale=opts.scale, target=opts.target)
    if info.rotation % 180:
        return Geometry(g.scale, g.width, g.height)
    return g


def _size(src: str | Path) -> int | None:
    path = Path(src)
    return path.stat().st_size if str(src) != "-" and path.is_file() else None
