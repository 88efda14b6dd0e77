"""`vidsr compare IN OUT.png` / `vidsr compare IN --video OUT.mp4`: see what a model does."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.progress import TaskID

from vidsr.catalog import SCALES
from vidsr.cli._args import model_names
from vidsr.cli._ui import UI

if TYPE_CHECKING:
    import av
    import numpy as np
    from numpy.typing import NDArray

    from vidsr.video_eval import Upscale

    Rows = dict[str, list[av.VideoFrame]]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compare", help="a side-by-side PNG (original, bicubic, models) or a split-screen clip"
    )
    p.add_argument("input", type=Path, help="an HR clip or still; with --lr, a clip to upscale")
    p.add_argument("output", type=Path, nargs="?", help="the PNG to write")
    p.add_argument("--video", type=Path, metavar="OUT",
                   help="write a split-screen clip instead: bicubic left, vidsr right, with IN's "
                        "audio (IN is the clip to upscale)")
    p.add_argument("--model", help="models, comma-separated (default: the default model)")
    p.add_argument("--scale", type=int, default=2, choices=SCALES)
    p.add_argument("--crf", type=int, default=23,
                   help="x264 CRF of the low-bandwidth stream made from IN (default 23)")
    p.add_argument("--lr", action="store_true",
                   help="IN is already low-resolution: no reference, no scores")
    p.add_argument("--frames", type=int, default=12, help="frames of IN to code (default 12)")
    p.add_argument("--crop", help="X,Y,W,H in output pixels (default: where the most detail is)")
    p.add_argument("--size", type=int, default=96, help="side of the automatic crop (default 96)")
    p.add_argument("--zoom", type=int, default=4, help="nearest-neighbour enlargement (default 4)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from vidsr.errors import ConfigError

    if (args.output is None) == (args.video is None):
        raise ConfigError("give OUT.png, or --video OUT for a split-screen clip")
    if args.video is not None:
        return _split(args, ui)
    if args.output.suffix.lower() != ".png":
        raise ConfigError(f"{args.output}: the picture is written as PNG (name it .png)")
    return _picture(args, ui)


def _split(args: argparse.Namespace, ui: UI) -> int:
    from vidsr.api import upscale
    from vidsr.backends.eager import EagerBackend
    from vidsr.backends.select import resolve_device
    from vidsr.compare import SplitScreen
    from vidsr.models import load_model
    from vidsr.models.graph import inference_graph

    device = resolve_device("auto")
    model = model_names(args.model, args.scale)[0]
    engine = SplitScreen(EagerBackend(inference_graph(load_model(model, args.scale)), device),
                         args.scale)
    try:
        with ui.progress("split-screen", None) as bar:
            stats = upscale(
                args.input, args.video, scale=args.scale, model=model, backend=engine,
                overwrite=args.overwrite or None,
                on_progress=lambda done, total: bar.update(TaskID(0), completed=done,
                                                           total=total, rate="", extra=""))
    finally:
        engine.close()
    ui.result(f"wrote {stats.output}: {stats.frames} frames, {stats.width}x{stats.height}, "
              f"bicubic left, {model} right", stats.as_dict())
    return 0


def _picture(args: argparse.Namespace, ui: UI) -> int:
    from vidsr.dataset import IMAGE_SUFFIXES, read_rgb
    from vidsr.errors import OutputError
    from vidsr.video_eval import pan_clip, pipeline_upscaler, read_clip, upscaled

    if args.output.exists() and not args.overwrite:
        raise OutputError(f"{args.output} exists (add --overwrite to replace it)")
    rows = [(n, pipeline_upscaler(n, args.scale)) for n in model_names(args.model, args.scale)]
    if args.lr:
        return _picture_of(args, ui, None, *_lr_rows(args, rows))
    still = args.input.suffix.lower() in IMAGE_SUFFIXES
    clip = (pan_clip(args.input.stem, read_rgb(args.input), args.scale, frames=args.frames)
            if still else read_clip(args.input, args.scale, args.frames))
    kbps, frames = upscaled(clip, args.scale, "bicubic", args.crf, rows)
    return _picture_of(args, ui, clip.frames, kbps, frames)


def _lr_rows(args: argparse.Namespace, rows: list[tuple[str, Upscale]]) -> tuple[None, Rows]:
    """No reference: the input itself is the stream."""
    from vidsr.probe import open_input, video_stream
    from vidsr.video_eval import upscaled_file

    with open_input(args.input) as container:
        stream = video_stream(container, str(args.input))
        size = (stream.width * args.scale, stream.height * args.scale)
    return None, upscaled_file(args.input, size, rows, args.frames)


def _picture_of(args: argparse.Namespace, ui: UI, reference: list[av.VideoFrame] | None,
                kbps: float | None, frames: Rows) -> int:
    import numpy as np

    from vidsr.compare import Panel, detail_crop, sheet
    from vidsr.degrade import luma
    from vidsr.video_eval import PLAYER, score

    with_vmaf = importlib.util.find_spec("vmaf_torch") is not None
    shown = len(frames[PLAYER]) - 1  # the last frame: a predicted one, as most of a stream is
    panels = [] if reference is None else [Panel("original", _rgb(reference[shown]))]
    scores = {}
    for name, out in frames.items():
        label = name.removesuffix(" (player)")
        if reference is not None:
            # The clip's mean, as `vidsr eval --video` reports it.
            s = score([luma(f) for f in reference], [luma(f) for f in out], args.scale, with_vmaf)
            scores[name] = vars(s)
            label += f"  {s.psnr:.2f} dB" + (f" · NEG {s.vmaf_neg:.1f}" if s.vmaf_neg else "")
        panels.append(Panel(label, _rgb(out[shown])))
    y = luma((reference or frames[PLAYER])[shown])
    crop = _crop(args.crop, y.shape) if args.crop else detail_crop(y, args.size)
    picture = sheet(panels, crop, args.zoom)
    _write_png(args.output, picture)
    stream = f"; stream {kbps:.0f} kbit/s" if kbps is not None else ""
    ui.result(f"wrote {args.output}: {len(panels)} panels of {crop[2]}x{crop[3]} at "
              f"({crop[0]}, {crop[1]}), ×{args.zoom}{stream}",
              {"output": str(args.output), "crop": list(crop), "psnr": scores,
               "kbps": kbps, "frame": shown, "size": list(np.shape(picture))})
    return 0


def _rgb(frame: av.VideoFrame) -> NDArray[np.uint8]:
    return cast("NDArray[np.uint8]", frame.to_ndarray(format="rgb24"))


def _crop(text: str, frame: tuple[int, ...]) -> tuple[int, int, int, int]:
    from vidsr.errors import ConfigError

    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError as exc:
        raise ConfigError(f"--crop takes X,Y,W,H, not {text!r}") from exc
    if min(x, y) < 0 or min(w, h) < 1 or x + w > frame[1] or y + h > frame[0]:
        raise ConfigError(f"--crop {text} is not inside the {frame[1]}x{frame[0]} output")
    return x, y, w, h


def _write_png(path: Path, rgb: NDArray[np.uint8]) -> None:
    from PIL import Image

    tmp = path.with_name(f".{path.name}.part")
    Image.fromarray(rgb).save(tmp, format="PNG")
    tmp.replace(path)
