"""The bad-input corpus: every kind of input and output path a user can throw at `vidsr upscale`,
generated on demand (nothing binary is committed).

    python -m tests.corpus DIR        # write every case's input under DIR/<case>/ and list them

Each `Case` writes its input into an empty folder and says what `vidsr upscale` must do with it:
"ok" (a correct output), "error" (a one-line error, non-zero exit, nothing at the output path) or
"either" (inputs FFmpeg may or may not make sense of, such as a file cut mid-stream: whichever
happens, it must be one of the two clean outcomes). `tests/test_corpus.py` runs them all.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.media import make_clip

# Plain PyTorch on the CPU: what is under test is the handling of the file, not the backend, and
# compiling a graph would cost each run far more than upscaling these tiny clips.
FAST = ("--device", "cpu", "--backend", "eager")


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], Path]  # writes the input into an empty folder, returns its path
    expect: str  # "ok" | "error" | "either"
    frames: int | None = None  # decodable frames a correct output must have, where known
    output: str = "out.mp4"  # relative to the folder; "=input" writes over the input
    args: tuple[str, ...] = ()
    needs: str = ""  # "unprivileged": the case only means something for a non-root user
    slow: bool = False
    corrupt_packets: int = 0  # packets the decoder rejects: counted, or an error with --strict
    notes: str = field(default="", compare=False)


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        (path := folder / name).write_bytes(data)
        return path
    return make


def _clip(name: str, **options: object) -> Callable[[Path], Path]:
    return lambda folder: make_clip(folder / name, **options)  # type: ignore[arg-type]


def _truncated(name: str, fraction: float, **options: object) -> Callable[[Path], Path]:
    """A clip cut after `fraction` of its bytes."""
    def make(folder: Path) -> Path:
        path = make_clip(folder / name, frames=24, **options)  # type: ignore[arg-type]
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
        return path
    return make


def _faststart_cut(folder: Path) -> Path:
    """An MP4 whose index (moov, at the front) promises frames whose data was cut off."""
    whole = make_clip(folder / "whole.mp4", frames=24)
    path = folder / "cut-faststart.mp4"
    faststart = {"movflags": "faststart"}
    with av.open(str(whole)) as src, av.open(str(path), "w", options=faststart) as out:
        _remux(src, out)
    whole.unlink()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def _remux(src: av.container.InputContainer, out: av.container.OutputContainer,
           mangle: Callable[[int, bytes], bytes | None] = lambda i, b: b) -> None:
    """Copy every packet; `mangle(video packet index, payload)` may replace a video payload."""
    streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
    index = 0
    for packet in src.demux():
        if not packet.size:  # end-of-stream marker (real Matroska packets may lack a dts)
            continue
        if packet.stream.type == "video":
            payload = mangle(index, bytes(packet))
            index += 1
            if payload is None:
                continue
            if payload != bytes(packet):
                fresh = av.Packet(payload)
                fresh.pts, fresh.dts, fresh.time_base = packet.pts, packet.dts, packet.time_base
                fresh.is_keyframe = packet.is_keyframe
                fresh.stream = streams[packet.stream.index]
                out.mux(fresh)
                continue
        packet.stream = streams[packet.stream.index]
        out.mux(packet)


CORRUPT = range(12, 15)  # video packets whose payload is garbage


def _corrupt_packets(folder: Path) -> Path:
    """A 30-frame clip with three packets in the middle overwritten by noise (NAL length
    prefixes kept), remuxed to Matroska: the decoder rejects exactly those three."""
    clean = make_clip(folder / "clean.mp4", frames=30)
    rng = random.Random(0)

    def mangle(i: int, payload: bytes) -> bytes:
        if i not in CORRUPT:
            return payload
        return payload[:4] + bytes(rng.randrange(256) for _ in range(len(payload) - 4))

    path = folder / "corrupt.mkv"
    with av.open(str(clean)) as src, av.open(str(path), "w") as out:
        _remux(src, out, mangle)
    clean.unlink()
    return path


def _zero_frames(folder: Path) -> Path:
    """An MP4 with a video stream that holds no frames."""
    path = folder / "empty-video.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()
    return path


def _image(folder: Path) -> Path:
    path = folder / "picture.png"
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb24"
        rgb = (np.arange(64 * 48 * 3) % 251).astype(np.uint8).reshape(48, 64, 3)
        out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def _pal8(folder: Path) -> Path:
    """Palette video (swscale cannot produce pal8, so the frames are built by hand)."""
    path = folder / "pal8.nut"
    palette = np.zeros((256, 4), np.uint8)
    palette[:, 0] = palette[:, 1] = palette[:, 2] = np.arange(256)
    palette[:, 3] = 255
    with av.open(str(path), "w") as out:
        stream = out.add_stream("rawvideo", rate=24)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "pal8"
        for i in range(6):
            index = ((np.add.outer(np.arange(24), np.arange(32)) + 5 * i) % 256).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray((index, palette), format="pal8")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _two_videos(folder: Path) -> Path:
    """Two video streams of different sizes; the first is the one to upscale."""
    first = make_clip(folder / "a.mkv", width=64, height=48, frames=8, audio=False)
    second = make_clip(folder / "b.mkv", width=32, height=16, frames=5, audio=False)
    path = folder / "two-videos.mkv"
    with av.open(str(first)) as a, av.open(str(second)) as b, av.open(str(path), "w") as out:
        # Every stream must exist before the first packet is muxed (that writes the header).
        streams = [out.add_stream_from_template(src.streams.video[0]) for src in (a, b)]
        for src, stream in zip((a, b), streams, strict=True):
            for packet in src.demux(video=0):
                if packet.size:
                    packet.stream = stream
                    out.mux(packet)
    first.unlink()
    second.unlink()
    return path


def _missing(folder: Path) -> Path:
    return folder / "does-not-exist.mp4"


def _directory(folder: Path) -> Path:
    (path := folder / "a-folder.mp4").mkdir()
    return path


def _unreadable(folder: Path) -> Path:
    path = make_clip(folder / "secret.mp4", frames=4, audio=False)
    path.chmod(0)
    return path


def _small(name: str, **options: object) -> Callable[[Path], Path]:
    return _clip(name, frames=4, audio=False, **options)


MS = Fraction(1, 1000)

CASES: list[Case] = [
    Case("zero-byte", _write("empty.mp4", b""), "error"),
    Case("text-as-mp4", _write("notes.mp4", b"This is not a video.\n" * 40), "error"),
    Case("moov-missing", _truncated("cut.mp4", 0.8), "error", notes="mdat whole, moov cut off"),
    Case("cut-mid-stream", _faststart_cut, "either"),
    Case("cut-mid-stream-mkv", _truncated("cut.mkv", 0.5), "either"),
    Case("corrupt-packets", _corrupt_packets, "ok", frames=30 - len(CORRUPT),
         corrupt_packets=len(CORRUPT)),
    Case("audio-only", _clip("audio.mp4", frames=0), "error"),
    Case("image", _image, "either"),
    Case("zero-frames", _zero_frames, "error"),
    Case("gray", _small("gray.mkv", pix_fmt="gray", codec="ffv1"), "ok", frames=4),
    Case("yuv444p", _small("yuv444.mp4", pix_fmt="yuv444p"), "ok", frames=4),
    Case("yuv422p10le", _small("yuv422p10.mp4", pix_fmt="yuv422p10le"), "ok", frames=4),
    Case("rgb24", _small("rgb24.nut", pix_fmt="rgb24", codec="rawvideo"), "ok", frames=4),
    Case("pal8", _pal8, "ok", frames=6),
    Case("size-1x1", _small("1x1.mp4", width=1, height=1, pix_fmt="yuv444p"), "either"),
    Case("size-3x3", _small("3x3.mp4", width=3, height=3, pix_fmt="yuv444p"), "ok", frames=4),
    Case("size-17x9", _small("17x9.mkv", width=17, height=9, codec="ffv1"), "ok", frames=4),
    Case("size-8k", _clip("8k.mp4", width=7680, height=4320, frames=1, audio=False), "either",
         args=("--tile", "auto"), slow=True),
    Case("tiled", _small("tiled.mp4"), "ok", frames=4, args=("--tile", "16")),
    Case("rotated", _clip("rotated.mp4", frames=6, rotation=90), "ok", frames=6),
    Case("vfr-gaps", _clip("gaps.mp4", pts=[0, 40, 120, 130, 400], time_base=MS), "ok", frames=5),
    Case("vfr-duplicate-pts", _clip("dup.mkv", pts=[0, 40, 40, 80, 120], time_base=MS,
                                    codec="ffv1", audio=False), "either"),
    Case("two-video-streams", _two_videos, "ok", frames=8),
    Case("missing-file", _missing, "error"),
    Case("directory", _directory, "error"),
    Case("unreadable", _unreadable, "error", needs="unprivileged"),
    Case("output-dir-missing", _small("in.mp4"), "either", output="no/such/dir/out.mp4"),
    Case("output-dir-read-only", _small("in.mp4"), "error", output="locked/out.mp4",
         needs="unprivileged"),
    Case("output-is-input", _small("in.mp4"), "error", output="=input"),
]


def prepare(case: Case, folder: Path) -> tuple[Path, Path]:
    """Write the case's input into `folder`; return (input, output) paths for the run."""
    src = case.make(folder)
    if case.output == "=input":
        return src, src
    dst = folder / case.output
    if dst.parent.name == "locked":
        dst.parent.mkdir(mode=0o555)
        dst.parent.chmod(0o555)  # mkdir's mode is masked by the umask
    return src, dst


@dataclass
class Run:
    """One `vidsr upscale` run and what it left behind."""

    src: Path
    dst: Path
    code: int | None  # None: killed at the timeout (a hang)
    stdout: str
    stderr: str
    before: frozenset[Path]  # files beside the output before the run
    src_bytes: bytes | None  # the input's bytes before the run, when output == input

    def leftovers(self) -> set[Path]:
        folder = self.dst.parent
        now = set(folder.iterdir()) if folder.is_dir() else set()
        return now - self.before - {self.dst}

    def assert_clean_failure(self) -> None:
        """Non-zero exit, one `error:` line naming the file, no traceback, nothing written."""
        assert self.code is not None, f"{self.src}: hung (killed at the timeout)"
        assert self.code != 0, f"{self.src}: exit 0, expected an error"
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), self.stderr
        assert self.src.name in lines[0] or self.dst.name in lines[0], lines[0]
        if self.src_bytes is not None:
            assert self.src.read_bytes() == self.src_bytes, "the input was changed"
        else:
            assert not self.dst.exists(), f"{self.dst} exists after a failed run"
        assert not self.leftovers(), f"left behind: {self.leftovers()}"

    def assert_output(self, case: Case) -> None:
        """Exit 0 and a readable output with the expected frames; no temporary files left."""
        from tests.media import read_back

        assert self.code == 0, self.stderr
        assert "Traceback" not in self.stderr
        info = read_back(self.dst)
        assert info.frames == case.frames if case.frames is not None else info.frames > 0
        assert info.width > 0 and info.height > 0
        summary = json.loads(self.stdout)
        assert summary["frames"] == info.frames
        assert summary["corrupt"] == case.corrupt_packets
        assert not self.leftovers(), f"left behind: {self.leftovers()}"


def run_upscale(src: Path, dst: Path, *args: str, timeout: float = 300,
                prefix: Sequence[str] = ()) -> Run:
    """`vidsr upscale SRC DST --json FAST ARGS` in a subprocess (run through `prefix`, e.g.
    setpriv's)."""
    folder = dst.parent
    before = frozenset(folder.iterdir()) if folder.is_dir() else frozenset()
    src_bytes = src.read_bytes() if src == dst and src.is_file() else None
    command = [*prefix, sys.executable, "-m", "vidsr", "upscale", str(src), str(dst), "--json",
               *FAST, *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return Run(src, dst, None, _text(exc.stdout), _text(exc.stderr), before, src_bytes)
    return Run(src, dst, done.returncode, done.stdout, done.stderr, before, src_bytes)


def _text(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else data or ""


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.splitlines()[3].strip(), file=sys.stderr)
        return 2
    root = Path(argv[0])
    for case in CASES:
        folder = root / case.name
        folder.mkdir(parents=True, exist_ok=False)
        src, _ = prepare(case, folder)
        print(f"{case.name:22} {case.expect:7} {src}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
