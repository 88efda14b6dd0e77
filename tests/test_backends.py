"""Backends agree with eager fp32, selection explains itself, the engine cache survives damage."""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vidsr.backends import agreement_db, run_fixed
from vidsr.backends import cache as engine_cache
from vidsr.backends.compiled import CompiledBackend
from vidsr.backends.eager import EagerBackend
from vidsr.backends.select import select
from vidsr.cli import main
from vidsr.errors import BackendUnavailable, ConfigError, EngineError
from vidsr.models import SHIPPED, load_model
from vidsr.models.graph import inference_graph

CPU = torch.device("cpu")


def frames(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, h, w, generator=torch.Generator().manual_seed(seed))


def reference(name: str, scale: int, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return load_model(name, scale)(x.float().cpu())  # the shipped model as trained


@pytest.mark.parametrize(("name", "scale"), [("espcn", 2), ("fsrcnn", 2), ("fsrcnn", 3)])
def test_eager_cpu_matches_shipped_model(name: str, scale: int) -> None:
    x = frames(3, 19, 23)
    backend = select(name, scale, backend="eager", device=CPU, batch=3, height=19, width=23).backend
    out = backend.infer(x)
    assert out.shape == (3, 1, 19 * scale, 23 * scale) and out.dtype == torch.float32
    assert agreement_db(out, reference(name, scale, x)) >= 50


def test_run_fixed_pads_short_batches_and_drops_padding() -> None:
    seen: list[int] = []

    def fn(chunk: torch.Tensor) -> torch.Tensor:
        seen.append(chunk.shape[0])
        return chunk * 2 + chunk.mean()  # depends on the whole chunk, so padding is visible

    x = frames(5, 4, 4)
    out = run_fixed(fn, x, 2)
    assert seen == [2, 2, 2] and out.shape == x.shape
    padded = torch.cat([x[4:], torch.zeros_like(x[4:])])
    assert torch.equal(out, torch.cat([fn(x[0:2]), fn(x[2:4]), fn(padded)[:1]]))


@pytest.fixture(scope="module")
def compiled_cpu() -> object:
    # One CPU compile for the whole module: Inductor takes tens of seconds even at tiny shapes.
    return select("espcn", 2, backend="compile", device=CPU, batch=2, height=12, width=20)


def test_auto_on_cpu_skips_compile_and_says_why() -> None:
    chosen = select("espcn", 2, device=CPU, batch=2, height=12, width=20)
    assert chosen.backend.name == "eager"
    assert chosen.reason.startswith("tensorrt unavailable: needs an NVIDIA GPU")
    assert "→ compile skipped on cpu: 5–11 % faster than eager, 5–50 s to compile →" in (
        chosen.reason
    )
    assert chosen.reason.endswith("→ eager (fp32, cpu)")


def test_compiled_cpu_matches_eager_and_pads_last_batch(compiled_cpu) -> None:
    assert compiled_cpu.backend.name == "compile"
    assert compiled_cpu.reason == "compile (fp32, cpu)"
    x = frames(3, 12, 20, seed=3)  # 3 frames through a batch-2 graph: one full, one padded
    out = compiled_cpu.backend.infer(x)
    assert out.shape == (3, 1, 24, 40)
    assert agreement_db(out, reference("espcn", 2, x)) >= 50


def test_without_a_compiler_compile_is_unavailable(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine with no C++ compiler on PATH
    monkeypatch.setenv("CXX", "no-such-compiler")
    with pytest.raises(BackendUnavailable, match="'compile' unavailable: no C\\+\\+ compiler"):
        select("fsrcnn", 2, backend="compile", device=CPU, batch=1, height=8, width=8)


def test_explicit_tensorrt_on_cpu_names_the_problem() -> None:
    with pytest.raises(BackendUnavailable, match="'tensorrt' unavailable: needs an NVIDIA GPU"):
        select("espcn", 2, backend="tensorrt", device=CPU, batch=1, height=8, width=8)


def test_missing_torch_tensorrt_names_the_install() -> None:
    from vidsr.backends import tensorrt

    try:
        import torch_tensorrt  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("torch_tensorrt is installed here")
    if not torch.cuda.is_available():
        assert tensorrt.unavailable(torch.device("cuda")) == "no CUDA device visible to torch"
    else:
        assert "pip install 'vidsr[tensorrt]'" in str(tensorrt.unavailable(torch.device("cuda")))


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown backend 'onnx'"):
        select("espcn", 2, backend="onnx", device=CPU, batch=1, height=8, width=8)  # type: ignore[arg-type]


# --- engine cache, generic over build/load/verify (exercised here with a tensor "engine") -------

KEY = engine_cache.EngineKey(
    model="fsrcnn", scale=2, weights_sha256=SHIPPED[("fsrcnn", 2)].sha256, batch=8, height=540,
    width=960, precision="fp16", gpu="NVIDIA H100", cuda="12.8", torch="2.13.0",
    torch_tensorrt="2.13.0",
)


def test_cache_key_changes_with_every_input() -> None:
    digests = {KEY.digest}
    for field in dataclasses.fields(KEY):
        value = getattr(KEY, field.name)
        changed = value + 1 if isinstance(value, int) else value + "-other"
        digests.add(dataclasses.replace(KEY, **{field.name: changed}).digest)
    assert len(digests) == 1 + len(dataclasses.fields(KEY))
    assert KEY.filename.startswith("fsrcnn_x2_b8_960x540_fp16-") and KEY.filename.endswith(".ep")


class FakeEngine:
    """A tensor saved with torch.save stands in for a TensorRT engine file."""

    def __init__(self, payload: torch.Tensor) -> None:
        self.payload, self.builds = payload, 0

    def build(self, path: Path) -> None:
        self.builds += 1
        torch.save(self.payload, path)

    def get(self, directory: Path) -> torch.Tensor:
        def verify(t: torch.Tensor) -> None:
            if not torch.equal(t, self.payload):
                raise EngineError("engine output differs from eager")

        return engine_cache.get_or_build(KEY, directory, build=self.build,
                                         load=lambda p: torch.load(p, weights_only=True),
                                         verify=verify)


def test_cache_builds_once_then_loads(tmp_path: Path) -> None:
    fake = FakeEngine(torch.arange(4.0))
    assert torch.equal(fake.get(tmp_path), fake.payload)
    assert torch.equal(fake.get(tmp_path), fake.payload)
    assert fake.builds == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [KEY.filename, KEY.filename.replace(".ep", ".json")])  # no partial files left behind


def test_corrupt_or_stale_engine_is_rebuilt(tmp_path: Path) -> None:
    fake = FakeEngine(torch.arange(4.0))
    fake.get(tmp_path)
    (tmp_path / KEY.filename).write_bytes(b"\x00garbage")
    assert torch.equal(fake.get(tmp_path), fake.payload) and fake.builds == 2
    torch.save(torch.zeros(4), tmp_path / KEY.filename)  # loads, but fails verification
    assert torch.equal(fake.get(tmp_path), fake.payload) and fake.builds == 3


def test_freshly_built_engine_failing_verification_is_an_error(tmp_path: Path) -> None:
    fake = FakeEngine(torch.arange(4.0))
    fake.build = lambda path: torch.save(torch.zeros(4), path)  # type: ignore[method-assign]
    with pytest.raises(EngineError, match="differs from eager"):
        fake.get(tmp_path)


def test_default_dir_prefers_local_engines_folder(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert engine_cache.default_dir() == tmp_path / "xdg" / "vidsr" / "engines"
    (tmp_path / "engines").mkdir()
    assert engine_cache.default_dir() == Path("engines")


def test_engines_cli_lists_and_clears(tmp_path: Path, capsys) -> None:
    FakeEngine(torch.arange(4.0)).get(tmp_path)
    assert main(["engines", "list", "--engine-dir", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["file"] for e in listed["engines"]] == [KEY.filename]
    assert listed["engines"][0]["key"]["gpu"] == "NVIDIA H100"
    assert main(["engines", "clear", "--engine-dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == [KEY.filename]
    assert list(tmp_path.iterdir()) == []


def test_engines_build_without_tensorrt_is_a_clear_error(tmp_path: Path, capsys) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine may build engines")
    assert main(["engines", "build", "--engine-dir", str(tmp_path), "--batch", "1"]) == 1
    assert "'tensorrt' unavailable" in capsys.readouterr().err


# --- CUDA and TensorRT (run on the GPU machine; VIDSR_REQUIRE_CUDA=1 makes them mandatory) ---

GPU = torch.device("cuda")


@pytest.mark.cuda
@pytest.mark.parametrize(("name", "scale"), [("fsrcnn", 2), ("espcn", 3)])
def test_cuda_eager_graph_fp16_matches_fp32(name: str, scale: int) -> None:
    graph = inference_graph(load_model(name, scale))
    backend = EagerBackend(graph, GPU, batch=4, height=36, width=64)
    assert backend.graph is not None and backend.dtype == torch.float16
    x = frames(6, 36, 64)  # one full batch and one padded to 4
    out = backend.infer(x.to(GPU, torch.float16))
    again = backend.infer(frames(6, 36, 64, seed=9).to(GPU, torch.float16))  # replay overwrites
    assert out.shape == (6, 1, 36 * scale, 64 * scale) and again.shape == out.shape
    assert agreement_db(out.float().cpu(), reference(name, scale, x)) >= 45


@pytest.mark.cuda
def test_cuda_compile_matches_fp32() -> None:
    graph = inference_graph(load_model("fsrcnn", 2))
    backend = CompiledBackend(graph, GPU, batch=2, height=36, width=64)
    x = frames(3, 36, 64)
    out = backend.infer(x.to(GPU, torch.float16))
    assert agreement_db(out.float().cpu(), reference("fsrcnn", 2, x)) >= 45


@pytest.mark.cuda
@pytest.mark.tensorrt
def test_tensorrt_engine_builds_caches_and_matches_fp32(tmp_path: Path) -> None:
    chosen = select("fsrcnn", 2, backend="tensorrt", device=GPU, batch=2, height=36, width=64,
                    engine_dir=tmp_path)
    assert chosen.backend.name == "tensorrt" and chosen.reason == "tensorrt (fp16, cuda)"
    x = frames(3, 36, 64)
    out = chosen.backend.infer(x.to(GPU, torch.float16))
    assert agreement_db(out.float().cpu(), reference("fsrcnn", 2, x)) >= 45
    [engine] = engine_cache.entries(tmp_path)
    engine.path.write_bytes(b"corrupt")  # rebuilt, not a crash
    again = select("fsrcnn", 2, backend="tensorrt", device=GPU, batch=2, height=36, width=64,
                   engine_dir=tmp_path)
    assert agreement_db(again.backend.infer(x.to(GPU, torch.float16)).float().cpu(),
                        reference("fsrcnn", 2, x)) >= 45


_FREED_RSS = """
import sys, torch
from vidsr.backends import keep_freed_memory
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
if sys.argv[1] == "keep":
    keep_freed_memory()
x = torch.ones(256 * 2**20 // 4)  # 256 MiB, every page touched
before = rss_mb()
del x
print(before - rss_mb())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc only")
def test_cpu_backends_keep_freed_activations_instead_of_unmapping_them() -> None:
    def returned_mb(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", _FREED_RSS, mode], capture_output=True,
                             text=True, check=True, timeout=120)
        return float(out.stdout)

    assert returned_mb("default") > 200  # glibc unmaps a big block as soon as it is freed
    assert returned_mb("keep") < 10  # kept, so the next frame's activation reuses its pages
