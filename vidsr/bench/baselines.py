"""What vidsr is compared with: the loop the tutorials teach, and OpenCV's DNN module running
the same weights (as a model stage alone and as a dnn_superres-style frame loop)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
import torch.nn.functional as F

from vidsr.bench.clips import Plane
from vidsr.errors import BackendUnavailable
from vidsr.models import load_model
from vidsr.models.collapsible import Collapsible


def naive_loop(src: Path, dst: Path, model: str, scale: int, *, frames: int | None = None) -> float:
    """The loop the tutorials teach, for comparison: decode → RGB → the model on the Y of YCbCr →
    RGB → encode, one thread, one frame at a time. Returns its frames/s."""
    net = load_model(model, scale)
    t0 = time.perf_counter()
    count = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = None
        for frame in inp.decode(vin):
            ycc = (
                frame.to_ndarray(format="rgb24") / np.float32(255.0)
            ) @ _RGB_TO_YCC.T + _YCC_OFFSET
            planes = torch.from_numpy(np.ascontiguousarray(ycc.transpose(2, 0, 1), np.float32))
            with torch.inference_mode():
                y = net(planes[None, :1])
                cc = F.interpolate(
                    planes[None, 1:], size=y.shape[-2:], mode="bicubic", align_corners=False
                )
            up = torch.cat([y, cc], 1)[0].permute(1, 2, 0).numpy()
            rgb = (
                np.clip((up - _YCC_OFFSET) @ _YCC_TO_RGB.T * 255.0, 0, 255).round().astype(np.uint8)
            )
            if vout is None:
                vout = out.add_stream("libx264", rate=vin.average_rate or 30)
                vout.width, vout.height, vout.pix_fmt = rgb.shape[1], rgb.shape[0], "yuv420p"
            out.mux(vout.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            count += 1
            if frames is not None and count >= frames:
                break
        if vout is not None:
            out.mux(vout.encode(None))
    return count / (time.perf_counter() - t0)


# BT.601 full-range RGB <-> YCbCr on [0, 1] values, as the tutorials' cv2.cvtColor does.
_RGB_TO_YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
    dtype=np.float32,
)
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC).astype(np.float32)
_YCC_OFFSET = np.array([0.0, 0.5, 0.5], dtype=np.float32)


def opencv_net(model: str, scale: int, height: int, width: int, onnx_path: Path) -> Any:
    """OpenCV's DNN module loaded with the shipped weights, exported to ONNX for h×w frames."""
    try:
        import cv2
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError as exc:
        raise BackendUnavailable(
            f"{exc.name} is not installed: pip install 'vidsr[bench]'"
        ) from exc
    net = load_model(model, scale)
    if isinstance(net, Collapsible):  # its plain convolutions, as every vidsr backend runs it
        net = net.collapse()
    # The TorchScript exporter: the dynamo one would also need onnxscript, for the same graph.
    # Its deprecation and constant-folding warnings are torch's business, not the user's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(net, (torch.zeros(1, 1, height, width),), str(onnx_path),
                          dynamo=False, input_names=["y"], output_names=["out"])
    return cv2.dnn.readNetFromONNX(str(onnx_path))


def opencv_dnn_fps(lumas: Sequence[Plane], model: str, scale: int, onnx_path: Path) -> float:
    """Frames/s of OpenCV's DNN module running the shipped weights (exported to ONNX) on each
    uint8 Y plane, one frame at a time, as `dnn_superres` does."""
    h, w = lumas[0].shape
    dnn = opencv_net(model, scale, h, w, onnx_path)
    blobs = [y.astype(np.float32)[None, None] / 255.0 for y in lumas]
    dnn.setInput(blobs[0])
    dnn.forward()  # warm-up
    t0 = time.perf_counter()
    for blob in blobs:
        dnn.setInput(blob)
        dnn.forward()
    return len(blobs) / (time.perf_counter() - t0)


def opencv_loop_fps(src: Path, dst: Path, model: str, scale: int, onnx_path: Path, *,
                    frames: int | None = None) -> float:
    """The frame loop `dnn_superres` users write, end to end: cv2.VideoCapture → BGR → YCrCb →
    the net on Y, bicubic on CrCb (what `DnnSuperResImpl.upsample` does for these models) →
    BGR → cv2.VideoWriter. The same weights as vidsr; returns its frames/s."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    dnn = opencv_net(model, scale, h, w, onnx_path)
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter.fourcc(*"mp4v"),
                          cap.get(cv2.CAP_PROP_FPS) or 30, (w * scale, h * scale))
    t0, count = time.perf_counter(), 0
    try:
        while frames is None or count < frames:
            ok, bgr = cap.read()
            if not ok:
                break
            ycc = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
            dnn.setInput(ycc[None, None, :, :, 0].astype(np.float32) / 255.0)
            y = np.clip(dnn.forward()[0, 0] * 255.0, 0, 255).astype(np.uint8)
            cc = cv2.resize(ycc[..., 1:], (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)
            out.write(cv2.cvtColor(np.dstack([y, cc]), cv2.COLOR_YCrCb2BGR))
            count += 1
    finally:
        cap.release()
        out.release()
    return count / (time.perf_counter() - t0)
