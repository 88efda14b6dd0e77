"""vidsr's FSRCNN x2 against the FSRCNN that OpenCV users run (`cv2.dnn_superres` with
`FSRCNN_x2.pb` from Saafke/FSRCNN_Tensorflow, the GSoC 2019 models OpenCV's documentation points
to), on the real-stream protocol of `vidsr eval --video`: the same streams, the same player row,
the same scores. The .pb is not vidsr's and is not committed: pass its path.

    .venv/bin/pip install 'vidsr[bench]'
    .venv/bin/python -m benchmarks.opencv_fsrcnn --pb FSRCNN_x2.pb

Writes benchmarks/results/<date>-opencv-fsrcnn-x2-<machine>.json (the streams in the shape of
`vidsr eval --video --json`, and both models' Set5 PSNR under the papers' protocol) and prints the
mean gains.
"""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from vidsr.bench import machine
from vidsr.bench.clips import Plane
from vidsr.dataset import Pair, load_images, make_pairs, read_rgb
from vidsr.evaluate import super_resolve
from vidsr.frames import fill_frame, planes_of
from vidsr.metrics import psnr
from vidsr.models import load_model
from vidsr.video_eval import (
    PLAYER,
    Upscale,
    evaluate_stream,
    pan_clip,
    pipeline_upscaler,
    read_clip,
)

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
CLIPS = ["cockatoo_yuv420.mp4", "car-detection.mp4", "flipping_a_pancake.mkv",
         "stream-of-water.mp4"]
SCALE, CRFS, FRAMES = 2, (23, 30), 20  # as benchmarks/video_eval.sh
OPENCV = "opencv FSRCNN_x2.pb"


def opencv_sr(pb: Path) -> Callable[[Plane], Plane]:
    """`DnnSuperResImpl.upsample` on a uint8 luma plane."""
    import cv2

    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    sr.readModel(str(pb))
    sr.setModel("fsrcnn", SCALE)
    # A grey BGR image: upsample() runs the net on the Y of its YCrCb, which is the plane itself.
    return lambda y: sr.upsample(np.ascontiguousarray(np.dstack([y, y, y])))[:, :, 0]


def set5_psnr(sr: Callable[[Plane], Plane], pairs: list[Pair]) -> float:
    """PSNR under the papers' protocol (`vidsr eval --data`): MATLAB bicubic LR, Y, shave 2."""
    return float(np.mean([psnr(sr(p.lr_y), p.hr_y, shave=SCALE) for p in pairs]))


def opencv_upscaler(sr: Callable[[Plane], Plane]) -> Upscale:
    """`sr` on each frame's luma, swscale bicubic for chroma (only luma is scored), written
    losslessly like the pipeline's rows."""

    def run(src: Path, dst: Path) -> None:
        with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
            vin = inp.streams.video[0]
            vout = out.add_stream("libx264", rate=vin.average_rate)
            vout.width, vout.height = vin.width * SCALE, vin.height * SCALE
            vout.pix_fmt, vout.options = "yuv420p", {"crf": "0", "preset": "ultrafast"}
            for frame in inp.decode(vin):
                up = sr(planes_of(frame, 8)[0])
                hr = frame.reformat(vout.width, vout.height, "yuv420p", interpolation="BICUBIC")
                hr = fill_frame(av.VideoFrame(vout.width, vout.height, "yuv420p"), up,
                                planes_of(hr, 8)[1])
                hr.pts, hr.time_base = frame.pts, frame.time_base
                out.mux(vout.encode(hr))
            out.mux(vout.encode(None))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pb", type=Path, required=True, help="OpenCV's FSRCNN_x2.pb")
    args = parser.parse_args()
    clips = [read_clip(DATA / "video" / name, SCALE, FRAMES) for name in CLIPS]
    clips += [pan_clip(p.stem, read_rgb(p), SCALE, FRAMES)
              for p in sorted((DATA / "val" / "Set5").glob("*.png"))]
    sr = opencv_sr(args.pb)
    rows = [(OPENCV, opencv_upscaler(sr)), ("fsrcnn", pipeline_upscaler("fsrcnn", SCALE))]
    net = load_model("fsrcnn", SCALE)
    set5_pairs = make_pairs(load_images([DATA / "val" / "Set5"]), SCALE)
    set5 = {OPENCV: set5_psnr(sr, set5_pairs),
            "fsrcnn": set5_psnr(lambda y: super_resolve(net, y), set5_pairs)}
    results = [evaluate_stream(clip, SCALE, "bicubic", crf, rows, with_vmaf=False)
               for clip in clips for crf in CRFS]
    report = {"scale": SCALE, "frames": FRAMES, "set5_psnr": set5,
              "streams": [{"clip": r.clip, "scaler": r.scaler, "crf": r.crf, "kbps": r.kbps,
                           "rows": {n: vars(s) for n, s in r.rows.items()}} for r in results]}
    slug = machine().slug
    out = HERE / "results" / f"{datetime.date.today()}-opencv-fsrcnn-x2-{slug}.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out.relative_to(HERE.parent)}")
    print("Set5, papers' protocol: " + ", ".join(f"{n} {v:.2f} dB" for n, v in set5.items()))
    for kind, pans in (("real clips", False), ("crisp pans (Set5)", True)):
        for crf in CRFS:
            streams = [r for r in results if r.crf == crf and r.clip.startswith("pan:") == pans]
            gains = {name: np.mean([r.rows[name].psnr - r.rows[PLAYER].psnr for r in streams])
                     for name, _ in rows}
            print(f"{kind}, CRF {crf}: " + ", ".join(f"{n} {g:+.2f} dB" for n, g in gains.items()))


if __name__ == "__main__":
    main()
