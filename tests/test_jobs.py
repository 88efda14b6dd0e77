"""`vidsr upscale IN… OUTDIR/`: many inputs, one output each; existing outputs skipped, a bad
file reported while the rest go on, one JSON document or nothing but errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus import FAST
from tests.media import make_clip, read_back
from vidsr.cli import main
from vidsr.errors import ConfigError
from vidsr.jobs import find_inputs, output_name, upscale_many
from vidsr.resume import work_dir

ARGS = (*FAST, "--batch", "4", "--model", "tiny")


@pytest.fixture
def films(tmp_path: Path) -> Path:
    folder = tmp_path / "films"
    folder.mkdir()
    make_clip(folder / "a.mp4", frames=12)
    make_clip(folder / "b.mkv", frames=9, subtitles=True)
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    (folder / "notes.txt").write_text("a folder of films holds other files too")
    (tmp_path / "out").mkdir()
    return folder


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict, str]:
    code = main(["upscale", *argv, "--json", *ARGS])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_a_folder_becomes_one_output_each_and_a_bad_file_does_not_stop_the_rest(
        films: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, job, err = _json(capsys, str(films), str(tmp_path / "out") + "/")
    assert code == 1  # one file failed
    assert [(Path(f["input"]).name, f["status"]) for f in job["files"]] == [
        ("a.mp4", "done"), ("b.mkv", "done"), ("broken.mp4", "failed")]
    assert err.strip() == (f"error: {films / 'broken.mp4'}: not a video FFmpeg can read "
                           "(unknown format or damaged)")
    assert job["failed"] == 1 and job["frames"] == 21
    for name in ("a.mp4", "b.mkv"):
        got, source = read_back(tmp_path / "out" / name), read_back(films / name)
        assert (got.frames, got.audio, got.subtitles) == (
            source.frames, source.audio, source.subtitles)
        assert (got.width, got.height) == (128, 96)
        assert not work_dir(tmp_path / "out" / name).exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mp4", "b.mkv"]


def test_a_file_that_fails_on_an_option_says_which_flag_to_change(
        films: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, job, err = _json(capsys, str(films / "a.mp4"), str(tmp_path / "out") + "/",
                           "--codec", "aac")
    assert code == 1 and job["files"][0]["option"] == "codec"
    assert err.strip() == "error: 'aac' is not a video encoder (choose another --codec)"


def test_existing_outputs_are_skipped_unless_overwrite(
        films: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = [str(films / "a.mp4"), str(films / "b.mkv")]
    out = str(tmp_path / "out")
    assert _json(capsys, *inputs, out)[0] == 0
    written = (tmp_path / "out" / "a.mp4").stat().st_mtime_ns
    code, job, _ = _json(capsys, *inputs, out)
    assert code == 0
    assert [f["status"] for f in job["files"]] == ["skipped", "skipped"]
    assert (tmp_path / "out" / "a.mp4").stat().st_mtime_ns == written
    code, job, _ = _json(capsys, *inputs, out, "--overwrite")
    assert [f["status"] for f in job["files"]] == ["done", "done"]


def test_a_quoted_glob_and_a_name_template(films: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, job, _ = _json(capsys, str(films / "*.mkv"), str(tmp_path / "out"),
                         "--name", "{stem}-{height}p{ext}")
    assert code == 0
    assert [Path(f["output"]).name for f in job["files"]] == ["b-96p.mkv"]
    assert read_back(tmp_path / "out" / "b-96p.mkv").frames == 9


def test_quiet_prints_nothing_but_errors(films: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["upscale", str(films), str(tmp_path / "out"), "--quiet", *ARGS])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.splitlines() == [f"error: {films / 'broken.mp4'}: not a video FFmpeg can read "
                                "(unknown format or damaged)"]


def test_the_summary_table_lists_every_file(films: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    main(["upscale", str(films / "a.mp4"), str(films / "broken.mp4"), str(tmp_path / "out"),
          *ARGS])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if ".mp4" in line]
    assert len(rows) == 2
    assert "12" in rows[0] and "done" in rows[0]
    assert "failed" in rows[1]
    assert out.splitlines()[-1].startswith("1 upscaled, 0 skipped (output exists), 1 failed")


def test_two_inputs_with_one_output_name_are_refused_for_the_second(tmp_path: Path) -> None:
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        make_clip(tmp_path / sub / "same.mp4")
    (tmp_path / "out").mkdir()
    job = upscale_many([str(tmp_path / "x"), str(tmp_path / "y")], tmp_path / "out",
                       device="cpu", backend="eager", model="tiny")
    assert [f.status for f in job.files] == ["done", "failed"]
    assert "also" in (job.files[1].error or "")


def test_inputs_and_names() -> None:
    with pytest.raises(ConfigError, match=r"no input videos in nowhere/\*\.mp4"):
        find_inputs(["nowhere/*.mp4"])
    assert output_name(Path("d/talk.mov"), "{stem}-{height}p{ext}", height=1080,
                       width=1920) == "talk-1080p.mov"
    with pytest.raises(ConfigError, match=r"output name '\{title\}'.*\{stem\}, \{ext\}"):
        output_name(Path("a.mp4"), "{title}", height=1, width=1)


def test_vidsr_never_imports_ray_unless_a_cluster_is_asked_for(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4")
    probe = ("import sys, vidsr, vidsr.api, vidsr.jobs, vidsr.plan, vidsr.cli.upscale; "
             "assert 'ray' not in sys.modules, 'ray imported'; "
             "sys.modules['ray'] = None; "  # as if the extra were not installed
             "from vidsr.cli import main; "
             f"sys.exit(main(['upscale', {str(src)!r}, {str(tmp_path / 'out.mp4')!r}, "
             "'--cluster', 'ray', '--device', 'cpu']))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == "error: a cluster needs Ray: pip install 'vidsr[ray]'"
    assert not (tmp_path / "out.mp4").exists()
