"""Every case of the bad-input corpus (`tests/corpus.py`) through the real `vidsr upscale` CLI, in
a subprocess: a correct output, or one error line naming the file, a non-zero exit, no traceback
and nothing left at the output path (nor any temporary file beside it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.corpus import CASES, Case, Run, prepare, run_upscale

# For root: setpriv drops from the bounding set the two capabilities that let root ignore
# permission bits, then executes the command, which is refused like any other user's. A command
# prefix, not a preexec_fn: the cases run from threads, and a forked child of a threaded parent
# that runs Python before exec can deadlock (it did, in CI).
HELD_TO_PERMISSIONS = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")


def _confinement() -> tuple[str, ...] | None:
    """The prefix that runs the permission cases as an ordinary user: none when we are one,
    setpriv's for root, or None where root cannot drop the capabilities (no setpriv, or no
    CAP_SETPCAP)."""
    if os.geteuid() != 0:
        return ()
    try:
        subprocess.run([*HELD_TO_PERMISSIONS, sys.executable, "-c", ""], check=True,
                       capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return HELD_TO_PERMISSIONS


CONFINE = _confinement()


def _runnable(case: Case) -> bool:
    return not case.slow and (case.needs != "unprivileged" or CONFINE is not None)


def _case_run(case: Case, base: Path, *extra: str) -> Run:
    folder = base / (case.name + ("-" + "-".join(a.strip("-") for a in extra) if extra else ""))
    folder.mkdir()
    src, dst = prepare(case, folder)
    prefix = CONFINE if case.needs == "unprivileged" and CONFINE else ()
    return run_upscale(src, dst, *case.args, *extra, prefix=prefix)


@pytest.fixture(scope="module")
def corpus_runs() -> Iterator[dict[str, Run]]:
    """All the quick cases, run a few at a time (each run spends most of its time starting
    Python and importing torch, on one core)."""
    base = Path(tempfile.mkdtemp(prefix="vidsr-corpus-"))
    cases = [c for c in CASES if _runnable(c)]
    strict = next(c for c in CASES if c.corrupt_packets)
    jobs = [(c, ()) for c in cases] + [(strict, ("--strict",))]
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda job: _case_run(job[0], base, *job[1]), jobs))
    results = {c.name + "".join(extra): r for (c, extra), r in zip(jobs, runs, strict=True)}
    yield results
    for folder in base.iterdir():
        folder.chmod(0o755)
        for child in folder.iterdir():
            child.chmod(0o755)
    shutil.rmtree(base)


def check(case: Case, run: Run) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    if run.code == 0 and case.expect in ("ok", "either"):
        run.assert_output(case)
    elif case.expect in ("error", "either"):
        run.assert_clean_failure()
    else:
        pytest.fail(f"{case.name}: expected a correct output, got exit {run.code}: {run.stderr}")


@pytest.mark.parametrize("case", [c for c in CASES if not c.slow], ids=lambda c: c.name)
def test_corpus_case(case: Case, corpus_runs: dict[str, Run]) -> None:
    if not _runnable(case):
        pytest.skip("root reads and writes anything, and cannot drop that capability here")
    check(case, corpus_runs[case.name])


def test_corrupt_packets_are_an_error_with_strict(corpus_runs: dict[str, Run]) -> None:
    run = corpus_runs["corrupt-packets--strict"]
    run.assert_clean_failure()
    assert "corrupt video packet(s) did not decode, and strict mode allows none (without --strict" \
        " they are skipped and counted)" in run.stderr, run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c.slow], ids=lambda c: c.name)
def test_slow_corpus_case(case: Case, tmp_path: Path) -> None:
    check(case, _case_run(case, tmp_path))

