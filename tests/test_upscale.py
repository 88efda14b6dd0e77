"""`vidsr upscale` end to end on real (tiny, generated) media, checked by reading it back."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from functools import partial
from pathlib import Path

import pytest
import torch

from tests.conftest import VIDEOS, needs
from tests.media import make_clip, read_back
from vidsr import api
from vidsr.backends.eager import EagerBackend
from vidsr.cli import main
from vidsr.errors import CorruptInput, InputError, InputNotFound, NotAVideo, OutputError
from vidsr.models import load_model
from vidsr.sink import part_path

# Eager keeps these tests quick on a CPU (auto may pick torch.compile, which compiles per size);
# the auto path is covered in test_api.py.
upscale = partial(api.upscale, backend="eager")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("in") / "clip.mp4")


def no_output(dst: Path) -> bool:
    return not dst.exists() and not part_path(dst).exists()


def test_output_keeps_frames_timing_audio_and_colour(clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    stats = upscale(clip, dst, scale=2, batch=5)  # 12 frames: batches of 5, 5, 2
    src, out = read_back(clip), read_back(dst)
    assert (out.width, out.height, out.pix_fmt) == (128, 96, "yuv420p")
    assert out.frames == src.frames == stats.frames == 12
    assert out.seconds == src.seconds
    assert out.audio == src.audio and len(out.audio) > 0
    assert out.colour == src.colour == (1, 1, 1, 1)
    assert part_path(dst).exists() is False


def test_mpeg_ts_output_keeps_the_audio(clip: Path, tmp_path: Path) -> None:
    # FFmpeg lists only MPEG-2 as what the MPEG-TS muxer takes; it takes AAC (and anything) too.
    upscale(clip, tmp_path / "out.ts", scale=2)
    out = read_back(tmp_path / "out.ts")
    assert out.frames == 12 and len(out.audio) == len(read_back(clip).audio) > 0


def test_variable_frame_rate_survives(tmp_path: Path) -> None:
    pts = [0, 40, 120, 130, 300, 310, 500]
    src = make_clip(tmp_path / "vfr.mkv", pts=pts)
    upscale(src, tmp_path / "out.mkv", scale=2, batch=3)
    out = read_back(tmp_path / "out.mkv")
    assert out.seconds == [p / 1000 for p in pts]


def test_ten_bit_stays_ten_bit(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "10.mp4", pix_fmt="yuv420p10le", audio=False, frames=4)
    upscale(src, tmp_path / "out.mp4", scale=2)
    out = read_back(tmp_path / "out.mp4")
    assert (out.pix_fmt, out.frames, out.width) == ("yuv420p10le", 4, 128)


@pytest.mark.parametrize(("scale", "size"), [(2, (34, 18)), (3, (50, 26))])
def test_odd_size_and_other_pixel_formats(tmp_path: Path, scale: int,
                                          size: tuple[int, int]) -> None:
    src = make_clip(tmp_path / "odd.mp4", width=17, height=9, pix_fmt="yuv444p", frames=3,
                    audio=False)
    upscale(src, tmp_path / "out.mp4", scale=scale)
    out = read_back(tmp_path / "out.mp4")
    assert ((out.width, out.height), out.pix_fmt, out.frames) == (size, "yuv420p", 3)


def test_gray_input_becomes_yuv420p(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "gray.mkv", pix_fmt="gray", codec="ffv1", frames=3, audio=False)
    upscale(src, tmp_path / "out.mkv", scale=2)
    out = read_back(tmp_path / "out.mkv")
    assert (out.width, out.height, out.pix_fmt, out.frames) == (128, 96, "yuv420p", 3)


def test_rotation_is_kept_and_target_means_the_displayed_size(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "rot.mp4", rotation=90, frames=3, audio=False)
    # Shown as 48 wide × 64 high: 128p is 2x of the displayed height.
    upscale(src, tmp_path / "out.mp4", target="128p")
    out = read_back(tmp_path / "out.mp4")
    assert (out.rotation, out.width, out.height) == (90, 128, 96)


def test_target_resizes_exactly(clip: Path, tmp_path: Path) -> None:
    stats = upscale(clip, tmp_path / "out.mp4", target="200x100", frames=2)
    out = read_back(tmp_path / "out.mp4")
    assert (stats.scale, out.width, out.height) == (3, 132, 100)


def test_frames_trims_audio_and_subtitles(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "sub.mkv", subtitles=True, frames=24)
    upscale(src, tmp_path / "out.mkv", scale=2, frames=6, batch=4)
    before, out = read_back(src), read_back(tmp_path / "out.mkv")
    assert out.frames == 6
    end = 6 / 24  # the 6th frame ends here
    assert out.subtitles == before.subtitles[:6]
    assert out.audio == before.audio[: len(out.audio)]  # a prefix: the same packets
    times = [p * Fraction(1, 1000) for p, _ in out.audio]  # Matroska's 1 ms time base
    assert max(times) < end <= max(times) + Fraction(1024, 48_000) + Fraction(1, 1000)


def test_subtitles_are_copied(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "sub.mkv", subtitles=True, frames=4)
    upscale(src, tmp_path / "out.mkv", scale=2)
    assert read_back(tmp_path / "out.mkv").subtitles == read_back(src).subtitles


def test_bundled_sample_keeps_audio_packets(tmp_path: Path) -> None:
    src = needs(VIDEOS / "stream-of-water.mp4")
    dst = tmp_path / "out.mp4"
    upscale(src, dst, scale=2, frames=10)
    before, out = read_back(src), read_back(dst)
    assert (out.frames, out.width, out.height) == (10, 960, 720)
    assert out.audio == before.audio[: len(out.audio)] and out.audio
    assert out.seconds == before.seconds[:10]


@pytest.mark.slow
def test_stream_of_water_whole_clip(tmp_path: Path) -> None:
    src = needs(VIDEOS / "stream-of-water.mp4")
    upscale(src, tmp_path / "out.mp4", scale=2)
    before, out = read_back(src), read_back(tmp_path / "out.mp4")
    assert out.frames == before.frames == 90
    assert out.audio == before.audio


# --- inputs that cannot be used: a typed error naming the file, and nothing written ---

def _bad_inputs(tmp: Path, clip: Path) -> dict[str, tuple[Path, type[InputError]]]:
    (tmp / "empty.mp4").write_bytes(b"")
    (tmp / "text.mp4").write_text("this is not a video\n" * 20)
    (tmp / "folder.mp4").mkdir()
    (tmp / "truncated.mp4").write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    return {
        "missing": (tmp / "missing.mp4", InputNotFound),
        "zero-byte": (tmp / "empty.mp4", NotAVideo),
        "text": (tmp / "text.mp4", NotAVideo),
        "directory": (tmp / "folder.mp4", NotAVideo),
        "truncated": (tmp / "truncated.mp4", InputError),
        "audio-only": (make_clip(tmp / "audio.mp4", frames=0), NotAVideo),
    }


@pytest.mark.parametrize("case", ["missing", "zero-byte", "text", "directory", "truncated",
                                  "audio-only"])
def test_bad_input_is_a_clear_error_and_no_output(clip: Path, tmp_path: Path, case: str) -> None:
    path, error = _bad_inputs(tmp_path, clip)[case]
    dst = tmp_path / "out.mp4"
    with pytest.raises(error) as err:
        upscale(path, dst, scale=2)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert no_output(dst)


def test_corrupted_middle_gives_output_or_error_never_a_partial_file(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.mkv", frames=24, audio=False)
    data = bytearray(src.read_bytes())
    mid = len(data) // 2
    data[mid: mid + 400] = bytes(400)
    src.write_bytes(bytes(data))
    dst = tmp_path / "out.mkv"
    try:
        stats = upscale(src, dst, scale=2)
    except (CorruptInput, NotAVideo):
        assert no_output(dst)
    else:
        assert 0 < read_back(dst).frames == stats.frames <= 24


class FailingBackend(EagerBackend):
    """A real backend that breaks on its third call, as a crashing GPU would."""

    def __init__(self) -> None:
        super().__init__(load_model("espcn", 2), torch.device("cpu"))
        self.calls = 0

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("injected failure")
        return super().infer(x)


def test_failure_mid_run_leaves_no_output(clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    backend = FailingBackend()
    with pytest.raises(RuntimeError, match="injected"):
        upscale(clip, dst, scale=2, batch=2, backend=backend)
    assert backend.calls == 3
    assert no_output(dst)


def test_existing_output_is_kept_unless_overwrite(clip: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"precious")
    with pytest.raises(OutputError, match="already exists") as raised:
        upscale(clip, dst, scale=2)
    # A Python caller is told which option fixes it; the CLI turns that into the flag.
    assert raised.value.option == "overwrite" and "--" not in str(raised.value)
    assert dst.read_bytes() == b"precious"
    assert main(["upscale", str(clip), str(dst), "--scale", "2", "--quiet"]) == 3
    assert capsys.readouterr().err.strip() == (
        f"error: {dst}: already exists (use --overwrite to replace it)")
    assert dst.read_bytes() == b"precious"
    upscale(clip, dst, scale=2, frames=2, overwrite=True)
    assert read_back(dst).frames == 2


def test_refuses_output_equal_to_input_and_missing_folder(clip: Path, tmp_path: Path) -> None:
    before = clip.read_bytes()
    with pytest.raises(OutputError, match="is the input"):
        upscale(clip, clip, scale=2, overwrite=True)
    assert clip.read_bytes() == before
    with pytest.raises(OutputError, match="does not exist"):
        upscale(clip, tmp_path / "nowhere" / "out.mp4", scale=2)


# --- the command line ---

def test_cli_error_is_one_line_and_exit_code(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["upscale", str(tmp_path / "missing.mp4"), str(tmp_path / "out.mp4")])
    err = capsys.readouterr().err
    assert code == InputNotFound.exit_code == 2
    assert err.startswith("error:") and err.count("\n") == 1 and "missing.mp4" in err
    assert no_output(tmp_path / "out.mp4")


def test_cli_existing_output_exit_code(clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"x")
    assert main(["upscale", str(clip), str(dst), "--quiet", "--backend", "eager"]) == 3


def test_cli_json_summary(clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out.mkv"
    result = subprocess.run(
        [sys.executable, "-m", "vidsr", "upscale", str(clip), str(dst), "--scale", "2",
         "--frames", "3", "--backend", "eager", "--json"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["frames"] == 3 and summary["backend"] == "eager" and summary["reason"]
    assert summary["output_bytes"] == dst.stat().st_size
    assert set(summary["busy"]) == {"decode", "h2d", "infer", "d2h", "encode"}
