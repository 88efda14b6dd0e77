"""Faults from outside: a run killed outright, a full disk, Ctrl-C. None may leave a file at the
output path; a killed run leaves at most its hidden temporary file, which the next run replaces."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SAMPLE
from tests.corpus import FAST
from tests.media import make_clip
from vidsr.sink import part_path

FULL_DISK_BYTES = 256 * 1024  # far below what the upscaled sample needs


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small frames but many: the output file grows (and flushes) steadily for many seconds, so
    a signal sent once it has content lands mid-run, not after the last frame."""
    return make_clip(tmp_path_factory.mktemp("long") / "long.mp4", frames=3000)


def _start(src: Path, dst: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "vidsr", "upscale", str(src), str(dst), "--quiet", *FAST,
               *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)  # type: ignore[call-overload]


def _wait_until_writing(proc: subprocess.Popen[str], dst: Path, timeout: float = 240) -> None:
    """Block until the run has started writing its temporary file (it is mid-run)."""
    temp = part_path(dst)
    deadline = time.monotonic() + timeout
    while not (temp.exists() and temp.stat().st_size > 0):
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before writing: "
                        f"{proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the run never started writing")
        time.sleep(0.05)


def test_sigkill_leaves_nothing_at_the_output_path_and_the_next_run_succeeds(
        tmp_path: Path, long_clip: Path) -> None:
    dst = tmp_path / "out.mp4"
    proc = _start(long_clip, dst)
    _wait_until_writing(proc, dst)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not dst.exists()
    assert {p.name for p in tmp_path.iterdir()} <= {part_path(dst).name}

    again = subprocess.run(
        [sys.executable, "-m", "vidsr", "upscale", str(SAMPLE), str(dst), "--quiet", *FAST,
         "--frames", "4"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert dst.exists()
    assert [p.name for p in tmp_path.iterdir()] == [dst.name]  # the stale temp file is gone


def test_ctrl_c_exits_130_cleanly(tmp_path: Path, long_clip: Path) -> None:
    dst = tmp_path / "out.mp4"
    # As in a terminal: a runner that started us in the background may have SIGINT ignored, and
    # a child inheriting that would (rightly) ignore Ctrl-C.
    proc = _start(long_clip, dst, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_until_writing(proc, dst)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.strip()] == ["error: interrupted"]
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, dict[str, object]]]:
    """A folder on a tiny tmpfs where `mount` works (root), else a size limit on the child's
    files (RLIMIT_FSIZE: writes past it fail with EFBIG, as Python ignores SIGXFSZ)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FULL_DISK_BYTES}", "tmpfs",
                              str(folder)], capture_output=True).returncode == 0 \
        if os.geteuid() == 0 else False
    if mounted:
        yield folder, {}
        subprocess.run(["umount", str(folder)], check=True)
        return

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FULL_DISK_BYTES, FULL_DISK_BYTES))

    yield folder, {"preexec_fn": limit}


def test_full_disk_is_a_clear_error(small_disk: tuple[Path, dict[str, object]]) -> None:
    folder, popen = small_disk
    dst = folder / "out.mp4"
    proc = _start(SAMPLE, dst, "--frames", "30", **popen)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode not in (0, None), "a 256 KiB disk held the whole output?"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "out.mp4" in lines[0]
    assert list(folder.iterdir()) == []


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder no one may write into: a read-only tmpfs where `mount` works (root, who ignores
    permission bits), else a folder without write permission."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs",
                                  str(folder)], capture_output=True).returncode == 0
        if not mounted:
            pytest.skip("root writes anywhere and cannot mount a read-only tmpfs here")
        yield folder
        subprocess.run(["umount", str(folder)], check=True)
        return
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize("resume", [False, True], ids=["plain", "resume"])
def test_read_only_output_folder_is_a_clear_error(read_only_folder: Path, resume: bool) -> None:
    dst = read_only_folder / "out.mp4"
    proc = _start(SAMPLE, dst, "--frames", "4", *(["--resume"] if resume else []))
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 3, stderr
    assert stderr.strip() == f"error: {dst}: the folder {read_only_folder} is not writable"
    assert list(read_only_folder.iterdir()) == []
