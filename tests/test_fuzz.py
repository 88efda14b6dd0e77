"""Fuzzing `vidsr upscale`: seeded byte-wise and structural mutations of real clips, each run with a
timeout. Never a hang, never a traceback, never a partial output: every run either writes a
readable video or fails with one `error:` line and leaves nothing at the output path.

CI runs a fixed, seeded handful (well under two minutes). The long run, for local use:

    VIDSR_FUZZ_CASES=2000 VIDSR_FUZZ_SEED=7 .venv/bin/pytest -m slow tests/test_fuzz.py -q

Starting Python and importing torch costs far more than upscaling a tiny clip, so the runs go
through one long-lived worker process (`python -m tests.test_fuzz`) that calls the CLI's `main`
per input, exactly as the `vidsr` command does; a run that overstays its timeout is a hang: the
worker is killed and a fresh one started.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import select
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from tests.conftest import SAMPLE, VIDEOS
from tests.corpus import FAST, _remux
from tests.media import make_clip, read_back

CI_CASES = 36
TIMEOUT = 90.0  # seconds per run: tiny clips take well under one on a busy core
SHARED = ("flipping_a_pancake.mkv", "car-detection.mp4")
FRAMES = "10"  # the shared clips are cut to their first frames: the mutations sit in the headers
# and first packets there, and whole-clip runs would spend the budget on upscaling


# -- mutations: pure functions of (bytes, rng) ------------------------------------------------

def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 24)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite_span(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    n = rng.randint(1, 256)
    return data[:start] + rng.randbytes(n) + data[start + n:]


def zero_span(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    n = rng.randint(1, 4096)
    return data[:start] + bytes(min(n, len(data) - start)) + data[start + n:]


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def delete_span(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, 512):]


def duplicate_span(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    span = data[start:start + rng.randint(1, 2048)]
    return data[:start] + span + data[start:]


BYTEWISE: list[Callable[[bytes, random.Random], bytes]] = [
    flip_bits, overwrite_span, zero_span, truncate, delete_span, duplicate_span]


def structural(src: Path, dst: Path, rng: random.Random) -> None:
    """Remux `src` into `dst` with some video packets dropped, duplicated, cut short or noised:
    a container that parses cleanly around a damaged stream."""
    def mangle(_: int, payload: bytes) -> bytes | None:
        roll = rng.random()
        if roll < 0.08:
            return None
        if roll < 0.16:
            return payload[: rng.randrange(1, len(payload) + 1)]
        if roll < 0.24:
            cut = rng.randrange(len(payload))
            return payload[:cut] + rng.randbytes(len(payload) - cut)
        return payload

    with av.open(str(src)) as source, av.open(str(dst), "w") as out:
        _remux(source, out, mangle)


# -- seeds and cases ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Seed:
    path: Path
    args: tuple[str, ...] = ()


def seeds(folder: Path) -> list[Seed]:
    """Tiny generated clips in three containers (run whole) and the real clips (first frames)."""
    found = [
        Seed(make_clip(folder / "seed.mp4", frames=10)),
        Seed(make_clip(folder / "seed.mkv", width=48, height=32, frames=10, subtitles=True)),
        Seed(make_clip(folder / "seed.ts", frames=10, container="mpegts")),
        Seed(SAMPLE, ("--frames", FRAMES)),
    ]
    found += [Seed(VIDEOS / name, ("--frames", FRAMES)) for name in SHARED
              if (VIDEOS / name).exists()]
    return found


def mutants(folder: Path, count: int, seed: int) -> Iterator[tuple[str, Path, tuple[str, ...]]]:
    """`count` mutated inputs: (description, path, extra CLI args); deterministic in `seed`."""
    rng = random.Random(seed)
    pool = seeds(folder)
    for i in range(count):
        base = pool[i % len(pool)]
        path = folder / f"mutant-{i}{base.path.suffix}"
        if rng.random() < 0.25:
            try:
                structural(base.path, path, rng)
            except (av.error.FFmpegError, ValueError):  # a muxer refusing what it was given
                continue
            yield f"{i}: structural({base.path.name})", path, base.args
        else:
            mutate = rng.choice(BYTEWISE)
            path.write_bytes(mutate(base.path.read_bytes(), rng))
            yield f"{i}: {mutate.__name__}({base.path.name})", path, base.args


# -- the worker: the CLI's main, once per request ----------------------------------------------

def worker() -> None:
    """Read one JSON argv per line on stdin; answer {code, stderr, traceback} per line."""
    from vidsr.cli import main

    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    for line in sys.stdin:
        argv = json.loads(line)
        err = io.StringIO()
        trace = None
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # what the `vidsr` command would die of, with a traceback
                code, trace = 1, traceback.format_exc()
        replies.write(json.dumps({"code": code, "stderr": err.getvalue(), "traceback": trace}))
        replies.write("\n")
        replies.flush()


class Worker:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def run(self, argv: list[str], timeout: float) -> dict[str, object] | None:
        """The reply, or None when the run hung (the worker is then replaced)."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.test_fuzz"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                cwd=Path(__file__).resolve().parent.parent)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        reply = self.proc.stdout.readline() if ready else ""
        if not reply:
            self.close()
            return None
        return json.loads(reply)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def fuzz(folder: Path, count: int, seed: int) -> list[str]:
    """Run `count` mutants; return one line per failure of the contract."""
    failures: list[str] = []
    worker_ = Worker()
    try:
        for what, path, args in mutants(folder, count, seed):
            dst = folder / "out.mp4"
            reply = worker_.run(["upscale", str(path), str(dst), "--quiet", *FAST, *args],
                                TIMEOUT)
            problem = judge(reply, path, dst, folder)
            if problem:
                failures.append(f"{what}: {problem}")
            dst.unlink(missing_ok=True)
            path.unlink()
    finally:
        worker_.close()
    return failures


def judge(reply: dict[str, object] | None, src: Path, dst: Path, folder: Path) -> str | None:
    if reply is None:
        return f"hung (no answer in {TIMEOUT:.0f} s)"
    if reply["traceback"]:
        return f"traceback:\n{reply['traceback']}"
    stray = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    if stray:
        return f"left {stray}"
    if reply["code"] == 0:
        try:
            frames = read_back(dst).frames
        except (av.error.FFmpegError, OSError) as exc:
            return f"exit 0 but the output does not read back: {exc}"
        return None if frames > 0 else "exit 0 but the output has no frames"
    lines = [line for line in str(reply["stderr"]).splitlines() if line.strip()]
    if len(lines) != 1 or not lines[0].startswith("error: ") or src.name not in lines[0] \
            and dst.name not in lines[0]:
        return f"exit {reply['code']} without one error line naming the file: {lines}"
    if dst.exists():
        return f"exit {reply['code']} but {dst.name} exists"
    return None


def test_fuzz_ci(tmp_path: Path) -> None:
    failures = fuzz(tmp_path, CI_CASES, seed=2026)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_fuzz_long(tmp_path: Path) -> None:
    count = int(os.environ.get("VIDSR_FUZZ_CASES", "500"))
    failures = fuzz(tmp_path, count, seed=int(os.environ.get("VIDSR_FUZZ_SEED", "1")))
    assert not failures, "\n".join(failures)


if __name__ == "__main__":
    worker()
