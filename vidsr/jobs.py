"""Many inputs, one output folder: `upscale_many(["films/", "a.mp4"], "out/")` upscales each
input into its own output there: one after the other on this machine; with `cluster=`, as many
files at once as the cluster runs tasks, each one's segments spread over it. Outputs that exist
are skipped, so rerunning an interrupted job continues it; each file is resumable too (its
finished segments are kept beside its output). A file that fails is recorded with its error and
the job goes on."""

from __future__ import annotations

import glob
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from vidsr.api import RunStats, resolve_options, upscale
from vidsr.config import Options
from vidsr.errors import ConfigError, OutputError, VidsrError
from vidsr.plan import expected_frames, geometry_for
from vidsr.source import Source

# What a folder contributes: files with a video container's extension (a folder of films often
# holds subtitles, posters and notes too).
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mkv", ".mov", ".webm", ".avi", ".ts", ".mts",
                            ".m2ts", ".flv", ".wmv", ".mpg", ".mpeg", ".ogv"})
NAME = "{stem}{ext}"  # the output's name: the input's
NAME_FIELDS = "{stem}, {ext}, {height}, {width}"

Status = Literal["done", "skipped", "failed"]


@dataclass
class FileResult:
    input: str
    output: str | None
    status: Status
    frames: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    error: str | None = None  # one line, for "failed"
    option: str | None = None  # the option the error names (VidsrError.option), if any
    stats: RunStats | None = None  # for "done"


@dataclass
class JobStats:
    files: list[FileResult]
    seconds: float

    @property
    def failed(self) -> int:
        return sum(f.status == "failed" for f in self.files)

    @property
    def frames(self) -> int:
        return sum(f.frames for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {"files": [asdict(f) for f in self.files], "frames": self.frames,
                "seconds": self.seconds, "failed": self.failed}


@dataclass(frozen=True)
class JobProgress:
    files_done: int  # finished, skipped or failed
    files: int
    frames_done: int  # of the files to upscale (segments an earlier run finished included)
    frames: int | None  # of the files to upscale, where every container says
    current: str  # the input being upscaled


@dataclass(frozen=True)
class _Planned:
    src: Path
    dst: Path | None
    frames: int | None
    skip: bool  # its output exists (and is not to be overwritten)
    error: VidsrError | None


def find_inputs(inputs: Sequence[str]) -> list[Path]:
    """Files named, globs expanded (quoted ones too), folders' video files; in order, once each."""
    found: list[Path] = []
    for item in inputs:
        if not Path(item).exists() and glob.has_magic(item):
            found += (Path(p) for p in sorted(glob.glob(item)))
        elif Path(item).is_dir():
            found += sorted(p for p in Path(item).iterdir()
                            if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        else:
            found.append(Path(item))
    if not found:
        raise ConfigError(f"no input videos in {' '.join(inputs)}")
    return list(dict.fromkeys(found))


def output_name(src: Path, name: str, *, height: int, width: int) -> str:
    """`name` with the input's stem and extension and the output's size filled in."""
    try:
        return name.format(stem=src.stem, ext=src.suffix, height=height, width=width)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"output name {name!r}: {exc}; it can use {NAME_FIELDS}") from exc


def upscale_many(inputs: Sequence[str], outdir: str | Path, *, name: str = NAME,
                 config: str | Path | None = None, backend: str | None = None,
                 cluster: str | None = None,
                 on_progress: Callable[[JobProgress], None] | None = None,
                 **options: Any) -> JobStats:
    """Upscale every input into `outdir`, named by `name`; options as for `vidsr.upscale`
    (`overwrite` replaces outputs that exist instead of skipping them)."""
    outdir = Path(outdir)
    if not outdir.is_dir():
        raise OutputError(f"{outdir}: no such folder")
    opts = resolve_options(config, backend, options)
    output_name(Path("x.mp4"), name, height=0, width=0)  # a bad template fails before any work
    planned = _plan_outputs(find_inputs(inputs), outdir, name, opts)
    counts = [p.frames for p in planned if p.error is None and not p.skip]
    total = sum(n or 0 for n in counts) if all(counts) else None
    started = time.perf_counter()
    frames_done: dict[int, int] = {}  # input index -> frames upscaled so far
    files_done = 0
    lock = threading.Lock()  # files on a cluster report from threads of their own
    stop = threading.Event()  # set on Ctrl-C: the files' threads stop at their next segment

    def run(index: int) -> FileResult:
        nonlocal files_done
        item = planned[index]

        def report(done: int, _total: int | None = None) -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            with lock:
                frames_done[index] = done
                progress = JobProgress(files_done, len(planned), sum(frames_done.values()),
                                       total, str(item.src))
            if on_progress is not None:
                on_progress(progress)

        result = _one(item, report, config=config, backend=backend, cluster=cluster,
                      options=options)
        with lock:
            files_done += 1
        report(result.frames)
        return result

    with _session(cluster):
        if cluster is None:
            results = [run(i) for i in range(len(planned))]
        else:
            results = _at_once(run, len(planned), stop)
    return JobStats(results, round(time.perf_counter() - started, 4))


def _plan_outputs(sources: list[Path], outdir: Path, name: str,
                  opts: Options) -> list[_Planned]:
    """Each input's output path and frame count, read from its first frame; an input that
    cannot be read, or whose output another input already takes, is planned as failed."""
    planned: list[_Planned] = []
    taken: dict[Path, Path] = {}
    for src in sources:
        try:
            with Source.open(src, batch=opts.batch) as source:
                info = source.info
        except VidsrError as exc:
            planned.append(_Planned(src, None, None, False, exc))
            continue
        g = geometry_for(info, opts)
        dst = outdir / output_name(src, name, height=g.height, width=g.width)
        if dst in taken:
            planned.append(_Planned(src, dst, None, False, ConfigError(
                f"{src}: its output {dst} is also {taken[dst]}'s; choose a name with {{stem}}")))
            continue
        taken[dst] = src
        planned.append(_Planned(src, dst, expected_frames(info, opts),
                                dst.exists() and not opts.overwrite, None))
    return planned


def _one(item: _Planned, progress: Callable[[int, int | None], None], *,
         config: str | Path | None, backend: str | None, cluster: str | None,
         options: dict[str, Any]) -> FileResult:
    src, dst = str(item.src), str(item.dst) if item.dst else None
    if item.error is not None:
        return _failed(src, dst, item.error)
    assert item.dst is not None, "only a failed input has no output path"
    if item.skip:
        return FileResult(src, dst, "skipped")
    try:
        stats = upscale(item.src, item.dst, config=config, backend=backend, cluster=cluster,
                        on_progress=progress, **{**options, "resume": True})
    except VidsrError as exc:
        return _failed(src, dst, exc)
    return FileResult(src, dst, "done", stats.frames, stats.seconds, stats.fps, stats=stats)


def _failed(src: str, dst: str | None, exc: VidsrError) -> FileResult:
    return FileResult(src, dst, "failed", error=str(exc).splitlines()[0], option=exc.option)


def _at_once(run: Callable[[int], FileResult], count: int,
             stop: threading.Event) -> list[FileResult]:
    """`run(i)` for every input, as many at once as the cluster runs tasks: a folder of short
    files would otherwise keep only as many workers busy as one file has segments. Ray takes
    tasks from any thread; each thread drives one file's segments and journal. On Ctrl-C
    `stop` makes each thread cancel its tasks at its next progress report (within a second);
    they must be done before the session ends, or Ray would start again for them."""
    from vidsr.cluster import task_slots

    pool = ThreadPoolExecutor(max_workers=max(1, min(count, task_slots())))
    try:
        return list(pool.map(run, range(count)))
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _session(cluster: str | None) -> AbstractContextManager[None]:
    """One cluster connection for the whole job (each file would otherwise start its own)."""
    if cluster is None:
        return nullcontext()
    from vidsr.cluster import parse_address, session

    return session(parse_address(cluster))
