"""The benchmark harness: structure and sanity of what it measures, on tiny real inputs.

Never a wall-clock threshold here: performance numbers live in benchmarks/results/.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import REPO
from tests.media import make_clip
from vidsr import bench
from vidsr.cli import main
from vidsr.pipeline import StageTimes

CPU = torch.device("cpu")


def _readme_table():  # benchmarks/ is scripts, not a package
    spec = importlib.util.spec_from_file_location(
        "readme_table", REPO / "benchmarks" / "readme_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stats_are_median_iqr_and_per_frame_percentiles() -> None:
    s = bench.stats([0.1, 0.2, 0.4, 0.2, 0.1], frames=2)
    assert (s.runs, s.frames) == (5, 2)
    assert s.fps_median == pytest.approx(10.0)  # 2 frames / 0.2 s
    assert s.fps_iqr == pytest.approx(20.0 - 10.0)  # quartiles of fps [20, 10, 5, 10, 20]
    assert s.ms_p50 == pytest.approx(100.0)
    assert 100.0 < s.ms_p95 <= 200.0
    with pytest.raises(ValueError):
        bench.stats([], frames=1)


def test_machine_names_the_software_and_a_file_safe_slug() -> None:
    m = bench.machine()
    assert m.cpu and m.cpu_count >= 1 and m.torch == torch.__version__ and m.ffmpeg
    assert m.slug and all(c.isalnum() or c == "-" for c in m.slug)
    assert (m.gpu is None) == (not torch.cuda.is_available())


def test_tiled_frame_is_the_real_first_frame_not_a_constant() -> None:
    luma = bench.tiled_luma(1000, 500)
    first = bench.read_batches(bench.SAMPLE, 1, 1)[0][0].y[0, 0].numpy()
    assert luma.shape == (500, 1000) and luma.dtype == np.uint8
    np.testing.assert_array_equal(luma[: first.shape[0], : first.shape[1]], first)
    assert luma.std() > 5


def test_model_mode_checks_agreement_then_times() -> None:
    r = bench.bench_model(
        "espcn",
        2,
        backend="eager",
        batch=2,
        width=40,
        height=24,
        device=CPU,
        warmup=1,
        min_runs=3,
        min_time=0.0,
    )
    assert (r.backend, r.batch, r.width, r.height, r.dtype) == ("eager", 2, 40, 24, "float32")
    assert r.agreement_db >= 50.0
    assert r.stats.runs >= 3 and r.stats.frames == 2
    assert r.stats.fps_median > 0 and r.stats.ms_p95 >= r.stats.ms_p50 > 0
    assert r.peak_memory_mb is None and "eager" in r.reason


def test_pipeline_mode_times_every_stage_alone_and_the_baselines(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=8)
    r = bench.bench_pipeline(clip, model="espcn", scale=2, backend="eager", batch=4, device=CPU)
    assert (r.frames, r.out_width, r.out_height) == (8, 128, 96)
    assert [s.name for s in r.stages] == list(StageTimes().as_dict())
    assert all(s.alone_s > 0 and s.alone_fps > 0 and s.busy_s >= 0 for s in r.stages)
    assert r.bottleneck == min(r.stages, key=lambda s: s.alone_fps).name
    assert r.end_to_end_fps > 0 and r.efficiency > 0
    assert r.realtime_factor == pytest.approx(r.end_to_end_fps / 24)
    names = [b.name for b in r.baselines]
    assert names[0].startswith("bicubic") and names[1].startswith("naive loop")
    assert all(b.fps > 0 and math.isfinite(b.vidsr_ratio) for b in r.baselines)


def test_opencv_baseline_runs_the_same_weights(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    pytest.importorskip("onnx")
    luma = bench.tiled_luma(32, 24)
    assert bench.opencv_dnn_fps([luma, luma], "espcn", 2, tmp_path / "m.onnx") > 0
    assert (tmp_path / "m.onnx").stat().st_size > 0


def test_latency_mode_reports_ordered_percentiles(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=8, audio=False)
    r = bench.bench_latency(clip, model="espcn", scale=2, backend="eager", device=CPU, warmup=2)
    assert r.frames == 6  # one packet per frame after the warm-up, none lost in the flush
    assert list(r.ms) == ["p50", "p95", "p99"]
    assert 0 < r.ms["p50"] <= r.ms["p95"] <= r.ms["p99"]


def test_cli_writes_json_with_the_machine(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "--mode",
            "model",
            "--model",
            "espcn",
            "--batch",
            "1",
            "--size",
            "32x24",
            "--min-time",
            "0",
            "--device",
            "cpu",
            "--backend",
            "eager",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert report["mode"] == "model" and report["machine"]["cpu_count"] >= 1
    (r,) = report["results"]
    assert (r["model"], r["width"], r["height"], r["batch"]) == ("espcn", 32, 24, 1)


def test_cli_rejects_a_bad_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--size", "big", "--device", "cpu"]) == 2
    assert "--size" in capsys.readouterr().err


def _report() -> dict:
    model = {
        "model": "espcn",
        "scale": 2,
        "width": 960,
        "height": 540,
        "backend": "eager",
        "dtype": "float32",
        "batch": 4,
        "stats": {"fps_median": 12.5, "fps_iqr": 0.5, "ms_p50": 80.0},
    }
    stage = {"name": "infer", "alone_s": 1.0, "alone_fps": 90.0, "busy_s": 0.9}
    pipeline = {
        "model": "espcn",
        "scale": 2,
        "input": "x/stream-of-water.mp4",
        "width": 480,
        "height": 360,
        "out_width": 960,
        "out_height": 720,
        "end_to_end_fps": 85.0,
        "realtime_factor": 2.8,
        "efficiency": 0.94,
        "bottleneck": "infer",
        "batch": 4,
        "reason": "eager (fp32, cpu)",
        "stages": [stage],
        "baselines": [
            {
                "name": "naive loop (RGB, 1 thread, batch 1)",
                "fps": 20.0,
                "vidsr_ratio": 4.25,
                "measure": "end-to-end",
            }
        ],
    }
    machine = {
        "gpu": None,
        "cpu": "Some CPU",
        "cpu_count": 2,
        "torch": "2",
        "av": "18",
        "ffmpeg": "8",
        "torch_tensorrt": None,
        "opencv": None,
        "gpu_driver": None,
    }
    return {
        "date": "2026-01-01",
        "note": "",
        "machine": machine,
        "command": "benchmarks/run.py",
        "model": [model, {**model, "batch": 1, "stats": {**model["stats"], "fps_median": 9.0}}],
        "pipeline": [pipeline],
        "latency": [{"model": "espcn", "scale": 2, "ms": {"p50": 11.0, "p95": 12.0, "p99": 13.0}}],
    }


def test_readme_table_is_regenerated_between_the_markers(tmp_path: Path) -> None:
    rt = _readme_table()
    results = tmp_path / "2026-01-01-cpu.json"
    results.write_text(json.dumps(_report()))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{rt.START}\nold table\n{rt.END}\n\nafter\n")
    rt.update(readme, [results])
    text = readme.read_text()
    assert "old table" not in text and text.endswith(f"{rt.END}\n\nafter\n")
    assert (
        "| Some CPU (2 cores) | espcn x2 | 960×540 → 1920×1080 | eager (float32) | 4 | 12.5" in text
    )
    assert "| 85.0 | 2.80 | 0.94 | infer | 4.25× | - | - | 11.0 / 13.0 |" in text
    rt.update(readme, [results])
    assert readme.read_text() == text  # idempotent
    assert "| infer | 1.000 | 90.0 | 0.900 |" in rt.summary(_report())


def test_readme_without_markers_is_an_error_naming_them(tmp_path: Path) -> None:
    rt = _readme_table()
    results = tmp_path / "r.json"
    results.write_text(json.dumps(_report()))
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="bench:start"):
        rt.update(readme, [results])


def test_cli_pipeline_mode_prints_stages_efficiency_and_baselines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = make_clip(tmp_path / "in.mp4", width=64, height=48, frames=8)
    args = ["--model", "espcn", "--backend", "eager", "--device", "cpu", "--batch", "4"]
    assert main(["bench", "--mode", "pipeline", "--input", str(clip), *args]) == 0
    out = capsys.readouterr().out
    for word in (*StageTimes().as_dict(), "efficiency", "bicubic", "naive loop", "real time"):
        assert word in out
