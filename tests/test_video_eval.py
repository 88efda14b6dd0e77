"""`vidsr eval --video`: the player row is reproducible, a lossless stream gives the clean
figure, model rows run the real pipeline, and VMAF is wired the right way round."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from tests.conftest import SAMPLE
from vidsr.cli import main
from vidsr.color import to_u8
from vidsr.degrade import gaussian_blur, luma
from vidsr.metrics import psnr
from vidsr.models import build, weights
from vidsr.video_eval import PLAYER, evaluate_stream, pan_clip, pipeline_upscaler, read_clip


def _still() -> np.ndarray:
    yy, xx = np.mgrid[0:150, 0:180]
    rings = 127 + 110 * np.sin(np.hypot(yy - 75, xx - 90) / 2.5)
    return to_u8(np.stack([rings, 255 - rings, rings * 0.5 + 60], -1))


def test_the_player_row_is_reproducible() -> None:
    clip = pan_clip("rings", _still(), 2, frames=8)
    a = evaluate_stream(clip, 2, "bicubic", 30, [], with_vmaf=False)
    b = evaluate_stream(clip, 2, "bicubic", 30, [], with_vmaf=False)
    assert a.rows == b.rows and a.kbps == b.kbps > 0


def test_a_lossless_stream_gives_the_clean_figure() -> None:
    clip = pan_clip("rings", _still(), 2, frames=6)
    w, h = clip.frames[0].width, clip.frames[0].height
    clean = [
        psnr(luma(f.reformat(w // 2, h // 2, "yuv420p", interpolation="BICUBIC")
                  .reformat(w, h, "yuv420p", interpolation="BICUBIC")), luma(f), shave=2)
        for f in clip.frames
    ]
    lossless = evaluate_stream(clip, 2, "bicubic", 0, [], with_vmaf=False)  # x264 CRF 0
    assert lossless.rows[PLAYER].psnr == pytest.approx(np.mean(clean), abs=1e-4)
    coded = evaluate_stream(clip, 2, "bicubic", 35, [], with_vmaf=False)
    assert coded.rows[PLAYER].psnr < lossless.rows[PLAYER].psnr - 1


def test_model_rows_run_the_upscale_pipeline_and_keep_every_frame() -> None:
    clip = read_clip(SAMPLE, 2, frames=6)
    assert len(clip.frames) == 6 and clip.frames[0].width % 4 == 0
    result = evaluate_stream(clip, 2, "bicubic", 23, [("espcn", pipeline_upscaler("espcn", 2))],
                             with_vmaf=False)
    assert set(result.rows) == {PLAYER, "espcn"}
    # Real water at CRF 23: the paper model is measurably different from the player.
    assert result.rows["espcn"].psnr != result.rows[PLAYER].psnr


def test_the_command_reports_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", "--video", str(SAMPLE), "--scale", "2", "--model", "espcn",
                 "--frames", "4", "--crf", "23,30", "--no-vmaf", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and [s["crf"] for s in out["streams"]] == [23, 30]
    rows = out["streams"][0]["rows"]
    assert set(rows) == {PLAYER, "espcn"} and set(rows["espcn"]) == {"psnr", "ssim", "vmaf",
                                                                       "vmaf_neg"}
    assert [g["crf"] for g in out["mean_gain"]] == [23, 30]


def test_a_weight_file_runs_on_its_own_backend(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # fsrcnn-s ships no weights: scoring a file of it must not need a shipped model of its name.
    torch.manual_seed(0)
    path = weights.save(build("fsrcnn-s", 2).state_dict(), {"arch": "fsrcnn-s", "scale": 2},
                        tmp_path, "fsrcnn-s_x2")
    code = main(["eval", "--video", str(SAMPLE), "--scale", "2", "--weights", str(path),
                 "--frames", "3", "--crf", "30", "--no-vmaf", "--json"])
    rows = json.loads(capsys.readouterr().out)["streams"][0]["rows"]
    assert code == 0 and set(rows) == {PLAYER, path.stem}
    # Untrained, it is far from the player's picture: its own weights ran, not a shipped model.
    assert rows[path.stem]["psnr"] < rows[PLAYER]["psnr"] - 3


def _lumas(n: int) -> list[np.ndarray]:
    with av.open(str(SAMPLE)) as c:
        return [luma(f.reformat(format="yuv420p")) for f in islice(c.decode(video=0), n)]


def test_vmaf_scores_identical_clips_near_100_and_penalises_blur() -> None:
    pytest.importorskip("vmaf_torch")
    from vidsr.metrics import vmaf_scores

    ref = _lumas(6)
    same = vmaf_scores(ref, ref)
    blurred = [gaussian_blur(y[..., None], 1.5)[..., 0] for y in ref]
    worse = vmaf_scores(ref, blurred)
    assert same[0] > 97 and same[1] > 97
    assert worse[0] < same[0] - 10 and worse[1] < same[1] - 10


def test_sharpening_gains_less_under_vmaf_neg() -> None:
    pytest.importorskip("vmaf_torch")
    from vidsr.metrics import vmaf_scores

    ref = _lumas(6)
    soft = [gaussian_blur(y[..., None], 1.0)[..., 0] for y in ref]
    sharpened = [to_u8(2.0 * s - gaussian_blur(s[..., None], 1.0)[..., 0]) for s in soft]
    (v_soft, n_soft), (v_sharp, n_sharp) = vmaf_scores(ref, soft), vmaf_scores(ref, sharpened)
    assert v_sharp - v_soft > n_sharp - n_soft  # NEG does not reward plain sharpening as much


def test_without_vmaf_torch_eval_says_how_to_get_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def no_vmaf(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("vmaf_torch"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_vmaf)
    code = main(["eval", "--video", str(SAMPLE), "--scale", "2", "--model", "espcn",
                 "--frames", "3", "--crf", "23"])
    captured = capsys.readouterr()
    assert code == 0 and "pip install 'vidsr[vmaf]'" in captured.err
    assert "espcn CRF 23" in captured.out


def _ffmpeg_psnr_y(ref: av.VideoFrame, dist: av.VideoFrame) -> float:
    """FFmpeg's own `psnr` filter (libavfilter), an independent computation of the figure."""
    from fractions import Fraction

    from av.filter import Graph

    graph = Graph()
    sources = [graph.add_buffer(width=ref.width, height=ref.height, format="yuv420p",
                                time_base=Fraction(1, 30)) for _ in range(2)]
    measure, sink = graph.add("psnr"), graph.add("buffersink")
    sources[0].link_to(measure, 0, 0)
    sources[1].link_to(measure, 0, 1)
    measure.link_to(sink)
    graph.configure()
    for source, frame in zip(sources, (dist, ref), strict=True):
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = 0, Fraction(1, 30)
        source.push(frame)
    return float(sink.pull().metadata["lavfi.psnr.psnr.y"])


def test_the_psnr_of_a_stream_agrees_with_ffmpegs_psnr_filter() -> None:
    from vidsr.video_eval import upscaled

    clip = read_clip(SAMPLE, 2, frames=4)
    _, rows = upscaled(clip, 2, "bicubic", 30, [])
    for ref, dist in zip(clip.frames, rows[PLAYER], strict=True):
        ours = psnr(luma(dist), luma(ref))
        assert ours == pytest.approx(_ffmpeg_psnr_y(ref, dist), abs=1e-4)
        assert 20 < ours < 45  # a real, lossy stream: the check compares something
