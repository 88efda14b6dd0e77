"""`--degrade video`: low-resolution training clips made the way real streams are made.

The papers' degradation (`dataset.degrade`) is one clean MATLAB-bicubic shrink. Real streams are
shrunk by whatever scaler the sender used, sometimes soft or noisy to begin with, then coded by a
real encoder at a bitrate that leaves blocking and ringing. A model trained only on the clean case
sharpens those artefacts. Here each clip is a window panning a few pixels a frame over a still
image (so the encoder codes intra and predicted frames, as in a stream), shrunk by a random scaler,
encoded with libx264 at a random CRF, and decoded back; the target is the clean HR luma.

Everything is drawn from the numpy generator it is given, and x264 runs on one thread, so a seed
gives the same clips on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from numpy.typing import NDArray

from vidsr.color import to_u8
from vidsr.dataset import HR_SCALES, Image, Pair
from vidsr.frames import planes_of
from vidsr.resize import imresize

# swscale's scalers as senders use them, and MATLAB's antialiased bicubic (the papers').
SCALERS = ("bicubic", "bilinear", "area", "lanczos", "matlab")
CRF_RANGE = (16, 36)  # x264 CRF: near-transparent to visibly blocky at these sizes
PRESETS = ("veryfast", "medium")
CLIP_FRAMES = 6  # one intra frame, then predicted ones
LR_WINDOW = 64  # LR side of a clip's frames (4×4 macroblocks); HR is LR_WINDOW · scale
MAX_SPEED = 3  # HR pixels per frame the window pans, per axis


@dataclass(frozen=True)
class Recipe:
    """How one clip is degraded."""

    scaler: str
    crf: int | None  # None: no encoder (the clean case stays in the mix)
    preset: str
    soft: float  # σ (HR pixels) of a blur applied to the source itself: target and input alike
    noise: float  # σ (grey levels) of sensor noise on the LR frames before encoding


SOFT_SHARE = 0.35  # of clips whose source is blurred


def draw_recipe(rng: np.random.Generator, soft_share: float = SOFT_SHARE,
                crf_range: tuple[int, int] = CRF_RANGE,
                scalers: Sequence[str] = SCALERS) -> Recipe:
    """How one clip is degraded; the scaler drawn uniformly from `scalers` (so a name given
    twice is drawn twice as often)."""
    # Soft sources teach the model that a soft LR edge may come from a soft HR edge: without
    # them it sharpens every edge, which makes soft footage measurably worse than bicubic.
    return Recipe(
        scaler=str(rng.choice(scalers)),
        crf=None if rng.random() < 0.1 else int(rng.integers(crf_range[0], crf_range[1] + 1)),
        preset=str(rng.choice(PRESETS)),
        soft=float(rng.uniform(0.4, 1.5)) if rng.random() < soft_share else 0.0,
        noise=float(rng.uniform(0.5, 2.0)) if rng.random() < 0.2 else 0.0,
    )


def gaussian_blur(rgb: NDArray[np.uint8], sigma: float) -> NDArray[np.uint8]:
    """Separable Gaussian blur (radius 3σ, edges replicated) of an H×W×C uint8 image."""
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-(np.arange(-radius, radius + 1) ** 2) / (2 * sigma * sigma))
    taps /= taps.sum()
    x = np.pad(rgb.astype(np.float64), ((radius, radius), (radius, radius), (0, 0)), mode="edge")
    x = sum(t * x[i : i + rgb.shape[0]] for i, t in enumerate(taps))
    x = sum(t * x[:, i : i + rgb.shape[1]] for i, t in enumerate(taps))
    return to_u8(x)


def luma(frame: av.VideoFrame) -> NDArray[np.uint8]:
    """A copy of the Y plane of an 8-bit yuv420p frame."""
    return planes_of(frame, 8)[0].copy()


def to_yuv(rgb: NDArray[np.uint8], scale: int, scaler: str) -> av.VideoFrame:
    """An RGB image shrunk by `scale` with `scaler` into a yuv420p frame (BT.601, limited)."""
    h, w = rgb.shape[0] // scale, rgb.shape[1] // scale
    if scaler == "matlab":
        rgb, interpolation = imresize(rgb, 1.0 / scale), "POINT"  # POINT: no further resampling
    else:
        interpolation = scaler.upper()
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame.reformat(w, h, "yuv420p", interpolation=interpolation)


def add_noise(frame: av.VideoFrame, sigma: float, rng: np.random.Generator) -> av.VideoFrame:
    planes = frame.to_ndarray()
    noise = rng.normal(0.0, sigma, (frame.height, frame.width))
    y = planes[: frame.height].astype(np.float64) + noise
    planes[: frame.height] = to_u8(y)
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def encode_decode(frames: Sequence[av.VideoFrame], crf: int, preset: str) -> list[av.VideoFrame]:
    """The frames through libx264 and back through its decoder, reproducibly: one thread, and no
    SIMD, whose loads past the end of these small planes read memory that varies from run to run
    (measured: with asm on, a fifth of clips came out different on a second run; none without)."""
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = frames[0].width, frames[0].height, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    encoder.options = {"crf": str(crf), "preset": preset, "threads": "1", "x264-params": "asm=0"}
    decoder = av.CodecContext.create("h264", "r")
    out: list[av.VideoFrame] = []
    for i, frame in enumerate([*frames, None]):
        if frame is not None:
            frame.pts = i
        for packet in encoder.encode(frame):
            out += decoder.decode(packet)
    out += decoder.decode(None)
    return sorted(out, key=lambda f: f.pts or 0)  # decoded frames all carry a pts


def degrade_clip(
    hr_frames: Sequence[NDArray[np.uint8]], scale: int, recipe: Recipe, rng: np.random.Generator
) -> list[tuple[NDArray[np.uint8], NDArray[np.uint8]]]:
    """(LR luma, HR luma) for each RGB frame of a clip; HR sides must be multiples of 2·scale."""
    lr = [to_yuv(f, scale, recipe.scaler) for f in hr_frames]
    if recipe.noise:
        lr = [add_noise(f, recipe.noise, rng) for f in lr]
    if recipe.crf is not None:
        lr = encode_decode(lr, recipe.crf, recipe.preset)
    hr = [luma(to_yuv(f, 1, "bicubic")) for f in hr_frames]  # the same RGB→Y as the LR's
    return [(luma(a), b) for a, b in zip(lr, hr, strict=True)]


def pan(source: NDArray[np.uint8], side: int, rng: np.random.Generator) -> list[NDArray[np.uint8]]:
    """CLIP_FRAMES windows of side×side moving at a constant random speed across `source`."""
    h, w = source.shape[:2]
    speed = rng.integers(-MAX_SPEED, MAX_SPEED + 1, size=2)
    travel = np.abs(speed) * (CLIP_FRAMES - 1)
    y0 = int(rng.integers(h - side - travel[0] + 1)) + (travel[0] if speed[0] < 0 else 0)
    x0 = int(rng.integers(w - side - travel[1] + 1)) + (travel[1] if speed[1] < 0 else 0)
    return [
        source[y0 + t * speed[0] : y0 + t * speed[0] + side,
               x0 + t * speed[1] : x0 + t * speed[1] + side]
        for t in range(CLIP_FRAMES)
    ]


def _source(image: Image, side: int, rng: np.random.Generator) -> NDArray[np.uint8] | None:
    """A random region of `image`, at a random HR_SCALES size, big enough for a panning window."""
    reach = side + MAX_SPEED * (CLIP_FRAMES - 1)
    factor = float(rng.choice(HR_SCALES))
    need = int(np.ceil(reach / factor)) + 4
    h, w = image.rgb.shape[:2]
    if min(h, w) < need:
        factor, need = 1.0, reach
        if min(h, w) < need:
            return None
    y, x = int(rng.integers(h - need + 1)), int(rng.integers(w - need + 1))
    region = image.rgb[y : y + need, x : x + need]
    return region if factor == 1.0 else imresize(region, factor)


def video_pairs(images: Sequence[Image], scale: int, clips: int, seed: int,
                soft_share: float = SOFT_SHARE,
                crf_range: tuple[int, int] = CRF_RANGE,
                scalers: Sequence[str] = SCALERS) -> list[Pair]:
    """`clips` degraded clips over `images` (each picked in proportion to its area), as one Pair
    per frame. Images too small for a window at this scale are never picked."""
    rng = np.random.default_rng(seed)
    side = LR_WINDOW * scale
    area = np.array([im.rgb.shape[0] * im.rgb.shape[1] for im in images], dtype=np.float64)
    area[[min(im.rgb.shape[:2]) < side + MAX_SPEED * (CLIP_FRAMES - 1) for im in images]] = 0
    if not area.any():
        raise ValueError(f"no image is large enough for a {side}×{side} panning window")
    pairs: list[Pair] = []
    while len(pairs) < clips * CLIP_FRAMES:
        image = images[int(rng.choice(len(images), p=area / area.sum()))]
        source = _source(image, side, rng)
        if source is None:
            continue
        recipe = draw_recipe(rng, soft_share, crf_range, scalers)
        if recipe.soft:
            source = gaussian_blur(source, recipe.soft)
        for i, (lr, hr) in enumerate(degrade_clip(pan(source, side, rng), scale, recipe, rng)):
            pairs.append(Pair(f"{image.name}#{len(pairs) // CLIP_FRAMES}.{i}", lr, hr))
    return pairs


def stream_pairs(images: Sequence[Image], scale: int, crf: int = 23) -> list[Pair]:
    """Validation under one fixed stream degradation: each whole image (cropped to a multiple of
    2·scale) shrunk by swscale bicubic, coded as a still clip at `crf`, its first P-frame kept."""
    pairs = []
    for image in images:
        h, w = (np.array(image.rgb.shape[:2]) // (2 * scale)) * 2 * scale
        rgb = np.ascontiguousarray(image.rgb[:h, :w])
        frames = degrade_clip([rgb] * 2, scale, Recipe("bicubic", crf, "medium", 0.0, 0.0),
                              np.random.default_rng(0))
        pairs.append(Pair(image.name, *frames[1]))
    return pairs
