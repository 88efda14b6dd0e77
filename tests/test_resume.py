"""`--resume`: an interrupted job continues after its last finished segment, and the finished
file holds the same packets as one from an uninterrupted run."""

from __future__ import annotations

import itertools
import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from tests.conftest import SHARED_DATA, needs
from tests.corpus import FAST
from tests.media import make_clip, read_back
from vidsr.api import upscale
from vidsr.resume import SEGMENT_BATCHES, SegmentWriter, work_dir
from vidsr.sink import Encoder, Sink
from vidsr.source import Source

BATCH = 2
SEGMENT = BATCH * SEGMENT_BATCHES  # frames per segment at this batch size
RUN = {"device": "cpu", "backend": "eager", "batch": BATCH}


def _vfr_pts(n: int) -> list[int]:
    """n strictly increasing ms timestamps with irregular steps and a long gap."""
    steps = itertools.cycle([33, 50, 17, 41, 33, 400 // 3])
    return list(itertools.accumulate((next(steps) for _ in range(n - 1)), initial=0))


@pytest.fixture(scope="module", params=["cfr-mp4-rotated", "vfr-mkv-subtitles"])
def clip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(request.param)
    frames = 2 * SEGMENT + 22  # two whole segments and a short last one
    if request.param == "cfr-mp4-rotated":
        return make_clip(folder / "in.mp4", frames=frames, rotation=90)
    return make_clip(folder / "in.mkv", frames=frames, subtitles=True, pts=_vfr_pts(frames),
                     time_base=Fraction(1, 1000))


def _packets(path: Path) -> list[tuple[int, int | None, int | None, bytes]]:
    """Every packet of every stream, as the file stores it (Matroska's header carries a random
    segment ID, so whole files of equal content differ)."""
    with av.open(str(path)) as container:
        return [(p.stream.index, p.pts, p.dts, bytes(p)) for p in container.demux() if p.size]


def _interrupt_after(frames: int) -> Callable[[int, int | None], None]:
    def on_progress(done: int, total: int | None) -> None:
        if done >= frames:
            raise KeyboardInterrupt
    return on_progress


def _interrupted(src: Path, dst: Path, after: int, **options: Any) -> None:
    with pytest.raises(KeyboardInterrupt):
        upscale(src, dst, resume=True, on_progress=_interrupt_after(after), **RUN, **options)
    assert not dst.exists()


def test_an_interrupted_job_resumes_and_matches_an_uninterrupted_one(
        clip: Path, tmp_path: Path) -> None:
    whole = tmp_path / f"whole{clip.suffix}"
    assert upscale(clip, whole, resume=True, **RUN).resumed == 0
    assert not work_dir(whole).exists()

    dst = tmp_path / f"resumed{clip.suffix}"
    _interrupted(clip, dst, SEGMENT + BATCH)  # mid second segment
    assert sorted(p.name for p in work_dir(dst).iterdir()) == ["00000.mov", "journal.json"]
    stats = upscale(clip, dst, resume=True, **RUN)
    assert stats.resumed == SEGMENT
    assert stats.frames == 2 * SEGMENT + 22
    assert not work_dir(dst).exists()
    assert _packets(dst) == _packets(whole)

    plain_path = tmp_path / f"plain{clip.suffix}"
    upscale(clip, plain_path, **RUN)
    got, source, plain = read_back(dst), read_back(clip), read_back(plain_path)
    assert got.frames == source.frames
    assert got.seconds == pytest.approx(source.seconds, abs=1e-3)
    assert got.seconds == plain.seconds
    assert got.audio == source.audio
    assert got.subtitles == source.subtitles
    assert (got.rotation, got.colour) == (plain.rotation, plain.colour)
    assert (got.width, got.height) == (plain.width, plain.height)


def test_other_settings_start_the_job_over(clip: Path, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    dst = tmp_path / f"out{clip.suffix}"
    _interrupted(clip, dst, SEGMENT)
    with caplog.at_level(logging.WARNING, logger="vidsr"):
        stats = upscale(clip, dst, resume=True, crf=30, **RUN)
    assert stats.resumed == 0
    assert "starting over" in caplog.text
    assert read_back(dst).frames == read_back(clip).frames


def test_a_resumed_preview_trims_audio_as_a_plain_one_does(clip: Path, tmp_path: Path) -> None:
    frames = SEGMENT + 10
    dst = tmp_path / f"out{clip.suffix}"
    _interrupted(clip, dst, SEGMENT, frames=frames)
    assert upscale(clip, dst, resume=True, frames=frames, **RUN).resumed == SEGMENT
    plain = tmp_path / f"plain{clip.suffix}"
    upscale(clip, plain, frames=frames, **RUN)
    got, want = read_back(dst), read_back(plain)
    assert got.frames == want.frames == frames
    assert got.audio == want.audio
    assert 0 < len(got.audio) < len(read_back(clip).audio)


def test_resume_needs_an_input_file(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4")
    with open(src, "rb") as stdin:
        result = subprocess.run(
            [sys.executable, "-m", "vidsr", "upscale", "-", str(tmp_path / "out.mp4"), "--resume",
             "--quiet", *FAST], stdin=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: -: a resumable job needs an input file, which it "
                                     "seeks back into (leave out --resume)")
    assert not list(tmp_path.glob("*out*")) and not list(tmp_path.glob(".*"))


def test_a_killed_run_resumes_from_the_command_line(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "long.mp4", frames=3000)
    dst = tmp_path / "out.mp4"
    command = [sys.executable, "-m", "vidsr", "upscale", str(src), str(dst), "--resume", "--json",
               *FAST]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = work_dir(dst) / "journal.json"
    deadline = time.monotonic() + 240
    while not journal.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no segment was finished"
        time.sleep(0.05)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not dst.exists()

    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    stats = json.loads(again.stdout)
    assert stats["resumed"] > 0 and stats["resumed"] % 8 == 0  # whole batches of the default 8
    got, source = read_back(dst), read_back(src)
    assert got.frames == source.frames == 3000
    assert got.seconds == pytest.approx(source.seconds, abs=1e-3)
    assert got.audio == source.audio
    assert [p.name for p in tmp_path.iterdir()] == ["long.mp4", "out.mp4"]



def test_segments_are_encoded_reproducibly(tmp_path: Path) -> None:
    # A resumed segment must encode into the packets its first attempt gave. libx264's default
    # rate control (macroblock tree) did not here: the same frames, encoded again in the same
    # process, gave other packets in most runs. Segmented jobs encode with it off.
    clip = needs(SHARED_DATA / "video" / "flipping_a_pancake.mkv")
    with Source.open(clip, batch=4, max_frames=96) as source:
        batches, info = list(source), source.info
    streams = set()
    for i in range(4):
        path = tmp_path / f"{i}.mkv"
        sink = Sink(av.open(str(path), "w"), name=str(path), info=info, width=info.width,
                    height=info.height, encoder=Encoder(reproducible=True))
        for batch in batches:
            sink.write(batch)
        sink.close()
        with av.open(str(path)) as back:
            streams.add(b"".join(bytes(p) for p in back.demux(video=0) if p.size))
    assert len(streams) == 1


def test_a_stale_writer_of_a_segment_cannot_spoil_the_one_that_finished(tmp_path: Path) -> None:
    # A cancelled cluster task may still be writing a segment when the job has gone on without
    # it and written that segment again.
    with Source.open(make_clip(tmp_path / "in.mp4", frames=8), batch=4) as source:
        batches, info = list(source), source.info

    def make_sink(container: av.container.OutputContainer, name: str) -> Sink:
        return Sink(container, name=name, info=info, width=info.width, height=info.height,
                    encoder=Encoder(reproducible=True))

    path, done = tmp_path / "00000.mov", []
    stale, fresh = (SegmentWriter(lambda: path, done.append, 8, info.time_base, make_sink)
                    for _ in range(2))
    stale.write(batches[0])  # half written
    for batch in batches:
        fresh.write(batch)  # whole: closed and in place
    stale.abort()  # then the stale one is stopped
    assert [s.frames for s in done] == [8]
    assert read_back(path).frames == 8
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []
