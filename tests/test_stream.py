"""`vidsr stream` on loopback: pipe, UDP (stall, SIGTERM), RTMP through nginx, drop policy.

Every wait is bounded: subprocesses and threads have timeouts, sources are paced test patterns.
Sizes are tiny (the model's speed is not under test) and assertions never time the machine.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import av
import pytest
import torch

from tests.media import make_clip, read_back
from tests.rtmp import nginx_rtmp
from vidsr import live
from vidsr.api import upscale
from vidsr.backends.select import select
from vidsr.bench import free_udp_port, send_pattern
from vidsr.cli import main
from vidsr.config import Options, StreamOptions
from vidsr.errors import InputNotFound, StreamError
from vidsr.sink import KEYFRAME_SECONDS

# Eager: compiling a backend would take longer than these whole tests.
VIDSR = [sys.executable, "-m", "vidsr", "stream"]
CLI_OPTS = ["--device", "cpu", "--backend", "eager"]
OPTS = Options(device="cpu", backend="eager")
W, H, FPS = 96, 64, 10


def _sender(url: str, seconds: float, delay: float = 0.0, **kw: object) -> threading.Thread:
    def send() -> None:
        time.sleep(delay)  # the receiver binds first
        send_pattern(url, width=W, height=H, fps=FPS, seconds=seconds, **kw)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_pipe_in_pipe_out(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.ts", width=64, height=48, frames=12, container="mpegts")
    done = subprocess.run([*VIDSR, "-", "-", "--when-behind", "block", *CLI_OPTS, "--json"],
                          stdin=clip.open("rb"), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    (tmp_path / "out.ts").write_bytes(done.stdout)
    out = read_back(tmp_path / "out.ts")
    assert (out.width, out.height, out.frames) == (128, 96, 12)
    assert out.audio, "audio is passed through"
    summary = json.loads(done.stderr.decode().strip().splitlines()[-1])  # stdout is the video
    assert summary["event"] == "done" and summary["frames_out"] == 12


def test_udp_stall_reconnect_and_sigterm(tmp_path: Path) -> None:
    port = free_udp_port()
    url = f"udp://127.0.0.1:{port}"
    out = tmp_path / "out.ts"
    proc = subprocess.Popen([*VIDSR, url, str(out), "--timeout", "1", "--reconnect", "5",
                             *CLI_OPTS, "--json"],
                            stdout=subprocess.PIPE, stderr=(tmp_path / "stderr").open("w"),
                            text=True)
    lines: list[dict] = []
    reader = threading.Thread(target=lambda: lines.extend(map(json.loads, proc.stdout)),
                              daemon=True)
    reader.start()

    def wait_for(cond: object, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if lines and cond(lines[-1]):  # type: ignore[operator]
                return lines[-1]
            time.sleep(0.1)
        raise AssertionError(f"vidsr stream never got there; last stats: {lines[-1:]}; "
                             f"log: {(tmp_path / 'stderr').read_text()}")

    try:
        first = threading.Event()
        sender = _sender(url + "?pkt_size=1316", seconds=60, stop=first)
        before = wait_for(lambda s: s["frames_out"] > 0)
        first.set()  # the stall: longer than --timeout, so vidsr reconnects
        sender.join(timeout=10)
        time.sleep(2.5)
        second = threading.Event()
        sender = _sender(url + "?pkt_size=1316", seconds=60, stop=second)
        wait_for(lambda s: s["reconnects"] >= 1 and s["frames_out"] > before["frames_out"] + 1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=10)
        second.set()
        sender.join(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, (tmp_path / "stderr").read_text()
    done = lines[-1]
    assert done["event"] == "done" and done["reconnects"] >= 1
    back = read_back(out)  # SIGTERM flushed and closed it: it plays to the end
    assert (back.width, back.height) == (2 * W, 2 * H)
    assert back.frames == done["frames_out"] > before["frames_out"]
    assert back.pts == sorted(set(back.pts)), "one timeline across the reconnect"
    assert back.audio


def test_source_that_never_comes_up_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"udp://127.0.0.1:{free_udp_port()}"
    code = main(["stream", url, str(tmp_path / "out.ts"), "--reconnect", "1", "--timeout", "1",
                 *CLI_OPTS])
    assert code == StreamError.exit_code != 0
    assert f"live source {url} did not come up (2 attempts)" in capsys.readouterr().err
    assert not (tmp_path / "out.ts").exists()


class SlowBackend:
    """A real backend that takes `delay` seconds longer per call: processing falls behind."""

    def __init__(self, delay: float) -> None:
        self.inner = select("espcn", 2, backend="eager", device=torch.device("cpu"), batch=1,
                            height=H, width=W).backend
        self.name, self.device, self.dtype = "slow", self.inner.device, self.inner.dtype
        self.delay = delay
        self.slowest = 0.0  # seconds, the longest call seen

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        started = time.monotonic()
        time.sleep(self.delay)
        y = self.inner.infer(x)
        self.slowest = max(self.slowest, time.monotonic() - started)
        return y

    def close(self) -> None:
        self.inner.close()


def test_drop_policy_bounds_latency_and_counts_drops(tmp_path: Path) -> None:
    port = free_udp_port()
    delay = 0.3  # 3× the frame interval
    backend = SlowBackend(delay)
    stop = threading.Event()
    sender = _sender(f"udp://127.0.0.1:{port}?pkt_size=1316", seconds=4, delay=0.5)
    threading.Thread(target=lambda: (sender.join(timeout=20), time.sleep(1), stop.set()),
                     daemon=True).start()
    opts = replace(OPTS, stream=StreamOptions(max_batch=1, when_behind="drop", timeout=5,
                                              reconnect=1))
    stats = live.stream(f"udp://127.0.0.1:{port}", str(tmp_path / "out.ts"), opts,
                        backend=backend, stop=stop)
    assert stats.dropped > 0
    assert stats.frames_out + stats.dropped + stats.queue_depth == stats.frames_in
    # Blocking would queue the whole backlog (40 frames, 3× faster than they are processed);
    # dropping keeps at most a queue's worth ahead of each frame, plus the one in hand and its
    # own processing.
    per_frame_ms = 1000 * backend.slowest
    assert stats.latency_ms["p95"] < per_frame_ms * (live.queue_frames(opts.stream) + 3)
    assert read_back(tmp_path / "out.ts").frames == stats.frames_out
    # Keyframes follow the clock, not the (thinned) frame count: a viewer joins within ~1 s.
    with av.open(str(tmp_path / "out.ts")) as out:
        times = [float(p.pts * p.time_base) for p in out.demux(video=0) if p.pts is not None]
        out.seek(0)
        keys = [float(p.pts * p.time_base) for p in out.demux(video=0)
                if p.pts is not None and p.is_keyframe]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert max(b - a for a, b in zip(keys, [*keys[1:], times[-1]], strict=True)) <= (
        KEYFRAME_SECONDS + max(gaps))


def test_rtmp_through_nginx(tmp_path: Path) -> None:
    with nginx_rtmp(tmp_path) as server:
        source, dest = f"{server}/live/cam", f"{server}/out/cam"
        sizes: list[tuple[int, int]] = []

        def play() -> None:
            try:
                with av.open(dest, timeout=10) as src:
                    frame = next(src.decode(video=0))
                    sizes.append((frame.width, frame.height))
            except (av.FFmpegError, StopIteration):
                pass  # no frame came through: the assertion below says so

        player = threading.Thread(target=play, daemon=True)
        player.start()
        stop = threading.Event()
        sender = _sender(source, seconds=5, delay=1, format="flv")
        threading.Thread(target=lambda: (sender.join(timeout=20), time.sleep(1), stop.set()),
                         daemon=True).start()
        opts = replace(OPTS, stream=StreamOptions(max_batch=1, reconnect=1, timeout=10))
        stats = live.stream(source, dest, opts, stop=stop)
        player.join(timeout=20)
    assert stats.frames_out > 0
    assert sizes == [(2 * W, 2 * H)]


def test_a_missing_input_file_is_the_same_error_live_as_for_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match="/nonexistent/clip.ts: no such file"):
        live.stream("/nonexistent/clip.ts", str(tmp_path / "out.ts"), OPTS)
    assert not (tmp_path / "out.ts").exists()


def test_a_stream_whose_only_keyframe_arrives_while_probing_still_decodes(tmp_path: Path) -> None:
    # vidsr first, the sender second, one keyframe at its start: the probe reads that keyframe.
    port = free_udp_port()
    out = tmp_path / "out.ts"
    done: dict[str, live.LiveStats] = {}
    stop = threading.Event()

    def receive() -> None:
        done["stats"] = live.stream(f"udp://127.0.0.1:{port}", str(out),
                                    replace(OPTS, stream=StreamOptions(when_behind="block")),
                                    stop=stop)

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    time.sleep(0.5)
    sent = send_pattern(f"udp://127.0.0.1:{port}?pkt_size=1316", width=W, height=H,
                             fps=30, seconds=3, keyframe_every=10_000)
    time.sleep(1.0)
    stop.set()
    receiver.join(timeout=60)
    assert sent == 90 and done["stats"].frames_out >= 0.9 * sent
    assert read_back(out).frames == done["stats"].frames_out


def test_ten_bit_422_source_gives_the_same_format_live_and_as_a_file(tmp_path: Path) -> None:
    # One reading of bit depth (probe.describe) and one frame conversion (frames.batch_of) for
    # both commands: a 10-bit 4:2:2 source is processed and encoded at 10 bits by each.
    src = make_clip(tmp_path / "in.ts", pix_fmt="yuv422p10le", frames=8, container="mpegts")
    assert read_back(src).pix_fmt == "yuv422p10le"
    upscale(src, tmp_path / "file.ts", scale=2, device="cpu", backend="eager")
    live.stream(str(src), str(tmp_path / "live.ts"),
                replace(OPTS, stream=StreamOptions(when_behind="block")))
    as_file, as_live = read_back(tmp_path / "file.ts"), read_back(tmp_path / "live.ts")
    assert as_file.pix_fmt == as_live.pix_fmt == "yuv420p10le"
    assert (as_file.width, as_file.height) == (as_live.width, as_live.height) == (128, 96)
    assert as_file.frames == as_live.frames == 8
    assert len(as_live.audio) > 0 and len(as_file.audio) > 0
