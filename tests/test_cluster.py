"""`cluster="ray"`: a job's segments as Ray tasks on a local Ray (two CPUs, started once for the
module), giving the packets of a local `--resume` run, surviving a killed worker and a killed
driver. Skipped without the `ray` extra."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")  # installed with ray

from tests.conftest import VIDEOS, needs  # noqa: E402
from tests.corpus import FAST  # noqa: E402
from tests.media import make_clip, read_back  # noqa: E402
from tests.test_resume import SEGMENT, _packets, _vfr_pts  # noqa: E402
from vidsr import jobs  # noqa: E402
from vidsr.api import upscale  # noqa: E402
from vidsr.cluster import spans  # noqa: E402
from vidsr.errors import ConfigError  # noqa: E402
from vidsr.jobs import upscale_many  # noqa: E402
from vidsr.resume import work_dir  # noqa: E402

BATCH = 2  # SEGMENT (64) frames per segment, as in test_resume
# Segmented jobs encode reproducibly (no macroblock tree, test_resume); ultrafast keeps these
# runs short.
RUN = {"device": "cpu", "backend": "eager", "batch": BATCH, "model": "tiny",
       "preset": "ultrafast"}
TASK_TITLE = "ray::upscale_segment"  # a worker's process title while it runs a segment


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six segments at 160×120: each takes a worker a second or so, long enough to kill one."""
    folder = tmp_path_factory.mktemp("long")
    return make_clip(folder / "in.mp4", frames=6 * SEGMENT, width=160, height=120)


def _local_resume(src: Path, dst: Path, **options: object) -> Path:
    upscale(src, dst, resume=True, **RUN, **options)
    return dst


def test_spans_cut_the_frames_into_segments_after_their_predecessors() -> None:
    got = spans([0, 10, 20, 30, 40], 2)
    assert [(s.index, s.after, s.frames, s.last) for s in got] == [
        (0, None, 2, 10), (1, 10, 2, 30), (2, 30, 1, 40)]


@pytest.mark.parametrize("clip", ["vfr-mkv-subtitles", "pancake-vfr-opus"])
def test_a_cluster_run_gives_the_packets_of_a_local_resume_run(
        clip: str, tmp_path: Path) -> None:
    if clip == "pancake-vfr-opus":  # millisecond timestamps 33/34 apart, Opus audio, 3 keyframes
        src = needs(VIDEOS / "flipping_a_pancake.mkv")
    else:
        frames = 2 * SEGMENT + 22
        src = make_clip(tmp_path / "in.mkv", frames=frames, subtitles=True, pts=_vfr_pts(frames),
                        time_base=Fraction(1, 1000))
    want = _local_resume(src, tmp_path / "local.mkv")
    stats = upscale(src, tmp_path / "cluster.mkv", cluster="ray", **RUN)
    assert stats.frames == read_back(src).frames > 2 * SEGMENT
    assert (stats.backend, stats.model, stats.resumed) == ("eager", "tiny", 0)
    assert _packets(tmp_path / "cluster.mkv") == _packets(want)
    assert not work_dir(tmp_path / "cluster.mkv").exists()


def test_a_preview_on_the_cluster_trims_like_a_local_one(long_clip: Path, tmp_path: Path) -> None:
    frames = SEGMENT + 10
    want = _local_resume(long_clip, tmp_path / "local.mp4", frames=frames)
    stats = upscale(long_clip, tmp_path / "cluster.mp4", cluster="ray", frames=frames, **RUN)
    assert stats.frames == frames
    assert _packets(tmp_path / "cluster.mp4") == _packets(want)


def test_a_job_started_locally_continues_on_the_cluster(long_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"

    def stop(done: int, total: int | None) -> None:
        if done >= SEGMENT + BATCH:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale(long_clip, dst, resume=True, on_progress=stop, **RUN)
    stats = upscale(long_clip, dst, cluster="ray", **RUN)
    assert stats.resumed == SEGMENT
    assert _packets(dst) == _packets(_local_resume(long_clip, tmp_path / "local.mp4"))


def test_a_job_started_on_the_cluster_continues_locally(long_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"

    def stop(done: int, total: int | None) -> None:
        if done:  # in the driver, once the first segment is journaled (it also reports while
            raise KeyboardInterrupt  # it waits)

    with pytest.raises(KeyboardInterrupt):
        upscale(long_clip, dst, cluster="ray", on_progress=stop, **RUN)
    assert not dst.exists()
    stats = upscale(long_clip, dst, resume=True, **RUN)
    assert stats.resumed == SEGMENT
    assert _packets(dst) == _packets(_local_resume(long_clip, tmp_path / "local.mp4"))


def test_a_killed_worker_is_retried_and_the_job_completes(long_clip: Path,
                                                          tmp_path: Path) -> None:
    killed: list[int] = []
    done = threading.Event()

    def kill_a_segment_worker() -> None:
        # A worker whose title says it is running a segment (not an idle one), killed outright.
        while not done.is_set() and not killed:
            for proc in psutil.process_iter(["cmdline"]):
                if (proc.info["cmdline"] or [""])[0].startswith(TASK_TITLE):
                    time.sleep(0.3)  # into the segment: its file is being written
                    os.kill(proc.pid, signal.SIGKILL)
                    killed.append(proc.pid)
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_segment_worker)
    killer.start()
    try:
        stats = upscale(long_clip, tmp_path / "out.mp4", cluster="ray", **RUN)
    finally:
        done.set()
        killer.join()
    assert killed and not psutil.pid_exists(killed[0])
    got, source = read_back(tmp_path / "out.mp4"), read_back(long_clip)
    assert stats.frames == got.frames == source.frames
    assert got.audio == source.audio
    assert _packets(tmp_path / "out.mp4") == _packets(
        _local_resume(long_clip, tmp_path / "local.mp4"))


def test_a_killed_driver_continues_from_the_journal(long_clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    command = [sys.executable, "-m", "vidsr", "upscale", str(long_clip), str(dst), "--cluster",
               "ray", "--json", "--batch", str(BATCH), "--model", "tiny", "--preset", "ultrafast",
               *FAST]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = work_dir(dst) / "journal.json"
    deadline = time.monotonic() + 240
    while not journal.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no segment was journaled"
        time.sleep(0.05)
    ray_processes = psutil.Process(proc.pid).children(recursive=True)  # its own local Ray
    proc.kill()
    proc.communicate(timeout=60)
    for child in ray_processes:  # what the dead driver started, so none outlives the test
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    assert proc.returncode == -signal.SIGKILL
    assert not dst.exists()
    journaled = len(json.loads(journal.read_text())["segments"])
    assert 1 <= journaled < 6

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    stats = json.loads(again.stdout)
    assert stats["resumed"] >= journaled * SEGMENT
    assert _packets(dst) == _packets(_local_resume(long_clip, tmp_path / "local.mp4"))


def test_many_files_share_one_cluster_connection(long_clip: Path, tmp_path: Path) -> None:
    small = make_clip(tmp_path / "small.mkv", frames=SEGMENT + 5, subtitles=True)
    (tmp_path / "out").mkdir()
    job = upscale_many([str(small), str(long_clip)], tmp_path / "out", cluster="ray",
                       frames=SEGMENT + 5, **RUN)
    assert [f.status for f in job.files] == ["done", "done"]
    assert ray.is_initialized()  # the module's connection was reused, not shut down
    for f in job.files:
        assert read_back(Path(f.output)).frames == SEGMENT + 5


def test_the_files_of_a_job_run_at_once_on_the_cluster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two one-segment files and two task slots: one after the other, one worker would idle.
    files = [make_clip(tmp_path / f"{name}.mp4", frames=SEGMENT, width=160, height=120)
             for name in ("a", "b")]
    (tmp_path / "out").mkdir()
    spans: dict[str, tuple[float, float]] = {}
    upscale_one = jobs.upscale

    def timed(src: Path, dst: Path, **kwargs: object) -> object:
        started = time.monotonic()
        stats = upscale_one(src, dst, **kwargs)
        spans[src.name] = (started, time.monotonic())
        return stats

    monkeypatch.setattr(jobs, "upscale", timed)
    job = jobs.upscale_many([str(f) for f in files], tmp_path / "out", cluster="ray", **RUN)
    assert [f.status for f in job.files] == ["done", "done"]
    assert max(start for start, _ in spans.values()) < min(end for _, end in spans.values())
    for f in job.files:
        assert read_back(Path(f.output)).frames == SEGMENT


def test_an_unknown_cluster_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown cluster 'spark'; give ray or ray://HOST:PORT"):
        upscale(make_clip(tmp_path / "in.mp4"), tmp_path / "out.mp4", cluster="spark", **RUN)


def test_an_error_on_a_worker_is_raised_as_itself_and_keeps_no_output(
        long_clip: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^unknown video encoder 'nope'$"):
        upscale(long_clip, tmp_path / "out.mp4", cluster="ray", codec="nope", **RUN)
    assert not (tmp_path / "out.mp4").exists()
