"""Architectures as published, and the shipped weights: hash, metadata, quality on Set5."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from tests.conftest import SET5, needs
from vidsr.dataset import load_images, make_pairs
from vidsr.degrade import stream_pairs
from vidsr.errors import ConfigError, ModelError
from vidsr.evaluate import evaluate
from vidsr.models import SHIPPED, build, load_model, load_with_meta, weights


def _weight_count(model: torch.nn.Module) -> int:
    # The papers count filter weights only (no biases, no PReLU slopes).
    return sum(
        p.numel() for n, p in model.named_parameters() if n.endswith("weight") and p.dim() == 4
    )


@pytest.mark.parametrize(
    ("name", "scale", "published"),
    [
        # FSRCNN paper, Table 1 / Sec. 3.3: FSRCNN(56,12,4) 12,464 and FSRCNN-s(32,5,1) 3,937
        # parameters, whatever the scale (the deconvolution is 9×9 at every stride).
        ("fsrcnn", 2, 12_464),
        ("fsrcnn", 3, 12_464),
        ("fsrcnn", 4, 12_464),
        ("fsrcnn-s", 3, 3_937),
        # ESPCN (64-5, 32-3, r²-3): 1·64·25 + 64·32·9 + 32·r²·9.
        ("espcn", 2, 1600 + 18_432 + 1_152),
        ("espcn", 3, 1600 + 18_432 + 2_592),
        ("espcn", 4, 1600 + 18_432 + 4_608),
    ],
)
def test_published_parameter_counts(name: str, scale: int, published: int) -> None:
    assert _weight_count(build(name, scale)) == published


@pytest.mark.parametrize("name", ["espcn", "fsrcnn", "fsrcnn-s"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_shape(name: str, scale: int) -> None:
    y = build(name, scale)(torch.rand(2, 1, 9, 13))
    assert y.shape == (2, 1, 9 * scale, 13 * scale)


def test_build_rejects_unknown_names_and_scales() -> None:
    with pytest.raises(ConfigError, match="unknown model 'edsr'; choose one of: espcn, fsrcnn"):
        build("edsr", 2)
    with pytest.raises(ConfigError, match="unsupported scale 5"):
        build("espcn", 5)


def test_every_shipped_model_has_its_file_with_a_matching_hash() -> None:
    names = {"espcn", "fsrcnn", "medium", "small", "tiny", "small-paper", "tiny-paper",
             "fsrcnn-video"}
    assert {n for n, _ in SHIPPED} <= names
    assert {(n, s) for n in ("espcn", "fsrcnn", "small", "tiny") for s in (2, 3, 4)} <= set(SHIPPED)
    for entry in SHIPPED.values():
        assert entry.path.name.startswith(f"{entry.arch}_x{entry.scale}-{entry.sha256[:8]}")
        assert weights.sha256_file(entry.path) == entry.sha256


def test_load_model_returns_eval_cpu_float_models() -> None:
    model = load_model("fsrcnn", 2)
    assert not model.training
    p = next(model.parameters())
    assert p.device.type == "cpu" and p.dtype == torch.float32


def test_a_damaged_weight_file_is_refused(tmp_path: Path) -> None:
    entry = SHIPPED[("espcn", 2)]
    damaged = tmp_path / entry.file
    shutil.copy(entry.path, damaged)
    with damaged.open("r+b") as f:
        f.seek(100)
        f.write(b"\x00" * 8)
    with pytest.raises(ModelError, match="does not match the expected"):
        weights.load(damaged, entry.sha256)
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a readable weight file"):
        weights.load(tmp_path / "junk.pt")


@pytest.mark.parametrize(("name", "scale"), sorted(SHIPPED))
def test_shipped_model_beats_bicubic_on_set5_as_its_metadata_claims(name: str, scale: int) -> None:
    model, meta = load_with_meta(name, scale)
    images = load_images([needs(SET5)])
    # Models trained for streams are validated on Set5 as a CRF 23 stream; the others clean.
    video = meta["config"].get("degrade") == "video"
    pairs = stream_pairs(images, scale) if video else make_pairs(images, scale)
    report = evaluate(model, pairs, scale)
    claimed = meta["val"]
    assert meta["val"]["set"] == "Set5"
    assert report.mean("psnr") == pytest.approx(claimed["psnr"], abs=0.02)
    assert report.mean("bicubic_psnr") == pytest.approx(claimed["bicubic_psnr"], abs=0.02)
    assert report.mean("psnr") > report.mean("bicubic_psnr") + (0.2 if video else 0.5)


def test_models_lists_both_families_with_their_cost(capsys: pytest.CaptureFixture[str]) -> None:
    from vidsr.cli import main

    assert main(["models", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["models"]
    by_name = {(r["model"], r["scale"]): r for r in records}
    assert by_name[("small", 2)]["degrade"] == "video"
    assert by_name[("espcn", 2)]["degrade"] == "bicubic"
    # The fast tier is a quarter of ESPCN's arithmetic, as the model card says.
    assert by_name[("small", 2)]["macs_per_pixel"] * 3.5 < by_name[("espcn", 2)]["macs_per_pixel"]
