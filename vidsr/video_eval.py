"""`vidsr eval --video`: how much closer to the original a model brings a real low-bitrate stream
than the player's bicubic scaler does.

The protocol, per clip, scaler and CRF: the HR clip (cropped to a multiple of 2·scale) is shrunk
by `scale` with swscale's `scaler`, encoded with libx264 at that CRF (default preset, so I, P and
B frames), and decoded. The reference row upsamples the decoded stream with swscale bicubic, as a
player does; each model row runs it through `vidsr.upscale` itself — the same pipeline users run,
writing a lossless output so that only the model is measured. Every row is scored on luma against
the HR frames: PSNR and SSIM with `scale` pixels shaved, VMAF and VMAF NEG (`vidsr[vmaf]`), mean
over frames.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

from vidsr.backends import Backend
from vidsr.degrade import luma
from vidsr.errors import InputError
from vidsr.frames import fill_frame, planes_of
from vidsr.metrics import psnr, ssim, vmaf_scores
from vidsr.probe import open_input, video_stream

Planes = list[NDArray[np.uint8]]
PLAYER = "bicubic (player)"
SCALERS = ("bicubic", "bilinear", "area", "lanczos")  # swscale's, as senders shrink video
PAN_FRAMES = 30  # frames per still in a pan clip
PAN_SPEED = (2, 1)  # HR pixels per frame (x, y): slow enough to stay sharp, fast enough to code


@dataclass(frozen=True)
class Clip:
    name: str
    frames: list[av.VideoFrame]  # yuv420p HR frames, sides multiples of 2·scale
    rate: Fraction


@dataclass(frozen=True)
class Scores:
    psnr: float
    ssim: float
    vmaf: float | None = None
    vmaf_neg: float | None = None


@dataclass(frozen=True)
class StreamResult:
    """One clip at one scaler and CRF: the stream's bitrate and every row's scores."""

    clip: str
    scaler: str
    crf: int
    kbps: float
    rows: dict[str, Scores] = field(default_factory=dict)


def _crop(frame: av.VideoFrame, multiple: int) -> av.VideoFrame:
    """The top-left part of a yuv420p frame whose sides are multiples of `multiple`."""
    h, w = frame.height - frame.height % multiple, frame.width - frame.width % multiple
    y, uv = planes_of(frame, 8)
    return fill_frame(av.VideoFrame(w, h, "yuv420p"), y[:h, :w], uv[:, : h // 2, : w // 2])


def read_clip(path: Path, scale: int, frames: int | None) -> Clip:
    """The first `frames` frames of a video file as the HR reference."""
    with open_input(path) as container:
        stream = video_stream(container, str(path))
        rate = stream.average_rate or Fraction(30)
        out = []
        for frame in container.decode(stream):
            out.append(_crop(frame.reformat(format="yuv420p"), 2 * scale))
            if frames is not None and len(out) >= frames:
                break
    if not out:
        raise InputError(f"{path}: no video frames to evaluate on")
    return Clip(path.name, out, Fraction(rate))


def pan_clip(name: str, rgb: NDArray[np.uint8], scale: int, frames: int = PAN_FRAMES) -> Clip:
    """A crisp HR clip from a still: a window panning PAN_SPEED pixels a frame across it."""
    dx, dy = PAN_SPEED
    h, w = rgb.shape[0] - dy * (frames - 1), rgb.shape[1] - dx * (frames - 1)
    h, w = h - h % (2 * scale), w - w % (2 * scale)
    if h < 8 * scale or w < 8 * scale:
        raise InputError(f"{name}: too small to pan {frames} frames at x{scale}")
    out = [
        av.VideoFrame.from_ndarray(
            np.ascontiguousarray(rgb[t * dy : t * dy + h, t * dx : t * dx + w]), format="rgb24"
        ).reformat(format="yuv420p")
        for t in range(frames)
    ]
    return Clip(f"pan:{name}", out, Fraction(30))


def encode_stream(clip: Clip, scale: int, scaler: str, crf: int, path: Path) -> float:
    """The low-bandwidth stream: the clip shrunk by swscale `scaler` and coded by libx264 at
    `crf`, written to `path`. Returns its bitrate in kbit/s."""
    w, h = clip.frames[0].width // scale, clip.frames[0].height // scale
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=clip.rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        # x264's SIMD reads past the planes' ends (see degrade.encode_decode): without it, and on
        # one thread, the same clip gives the same stream, so the player row is reproducible.
        stream.options = {"crf": str(crf), "threads": "1", "x264-params": "asm=0"}
        for i, frame in enumerate(clip.frames):
            small = frame.reformat(w, h, "yuv420p", interpolation=scaler.upper())
            small.pts, small.time_base = i, 1 / clip.rate
            out.mux(stream.encode(small))
        out.mux(stream.encode(None))
    seconds = len(clip.frames) / clip.rate
    return round(path.stat().st_size * 8 / 1000 / float(seconds), 1)


def decoded(path: Path, size: tuple[int, int] | None = None) -> Iterator[av.VideoFrame]:
    """The frames of `path`, resized with swscale bicubic to `size` (W, H) when one is given."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.reformat(*size, "yuv420p", interpolation="BICUBIC") if size else frame


def score(hr: Planes, out: Planes, scale: int, with_vmaf: bool) -> Scores:
    if len(hr) != len(out):
        raise InputError(f"expected {len(hr)} frames, got {len(out)}: a frame went missing")
    vmaf, neg = vmaf_scores(hr, out) if with_vmaf else (None, None)
    return Scores(
        round(float(np.mean([psnr(o, r, shave=scale) for r, o in zip(hr, out, strict=True)])), 4),
        round(float(np.mean([ssim(o, r, shave=scale) for r, o in zip(hr, out, strict=True)])), 5),
        None if vmaf is None else round(vmaf, 3),
        None if neg is None else round(neg, 3),
    )


# A model row: (name, function upscaling the stream file at a path into a file at another).
Upscale = Callable[[Path, Path], None]


def upscaled(clip: Clip, scale: int, scaler: str, crf: int,
             models: Sequence[tuple[str, Upscale]]) -> tuple[float, dict[str, list[av.VideoFrame]]]:
    """The stream's bitrate (kbit/s), and the HR-sized frames each row makes of it: the player's
    bicubic first, then each model's."""
    size = (clip.frames[0].width, clip.frames[0].height)
    with tempfile.TemporaryDirectory(prefix="vidsr-eval-") as tmp:
        lr = Path(tmp) / "stream.mp4"
        kbps = encode_stream(clip, scale, scaler, crf, lr)
        return kbps, upscaled_file(lr, size, models)


def upscaled_file(lr: Path, size: tuple[int, int], models: Sequence[tuple[str, Upscale]],
                  frames: int | None = None) -> dict[str, list[av.VideoFrame]]:
    """The first `frames` frames of the stream file `lr` upscaled to `size` (W, H) by the
    player's bicubic and by each model."""
    with tempfile.TemporaryDirectory(prefix="vidsr-eval-") as tmp:
        rows = {PLAYER: list(islice(decoded(lr, size), frames))}
        for name, upscale in models:
            out = Path(tmp) / f"{len(rows)}.mkv"
            upscale(lr, out)
            rows[name] = list(islice(decoded(out), frames))
    return rows


def evaluate_stream(clip: Clip, scale: int, scaler: str, crf: int,
                    models: Sequence[tuple[str, Upscale]], *, with_vmaf: bool) -> StreamResult:
    hr = [luma(f) for f in clip.frames]
    kbps, rows = upscaled(clip, scale, scaler, crf, models)
    result = StreamResult(clip.name, scaler, crf, kbps)
    for name, frames in rows.items():
        result.rows[name] = score(hr, [luma(f) for f in frames], scale, with_vmaf)
    return result


def pipeline_upscaler(model: str, scale: int, backend: Backend | str = "auto") -> Upscale:
    """A model row through `vidsr.upscale` with a lossless output (x264 at CRF 0)."""
    from vidsr.api import upscale

    def run(src: Path, dst: Path) -> None:
        upscale(src, dst, model=model, scale=scale, backend=backend, codec="libx264", crf=0,
                preset="ultrafast", overwrite=True)

    return run
