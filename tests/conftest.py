"""Shared fixtures and hardware markers.

`cuda` / `tensorrt` tests skip where the hardware or package is absent, except when
VIDSR_REQUIRE_CUDA=1 is set (the GPU machine): there a missing GPU must fail, not skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
SET5 = SHARED_DATA / "val" / "Set5"
VIDEOS = SHARED_DATA / "video"
SAMPLE = REPO / "vidsr" / "samples" / "stream-of-water.mp4"
REQUIRE_CUDA = os.environ.get("VIDSR_REQUIRE_CUDA") == "1"


def _has_tensorrt() -> bool:
    try:
        import torch_tensorrt  # noqa: F401
    except Exception:  # an install without TensorRT's libraries fails with OSError, not ImportError
        return False
    return True


def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = {
        "cuda": lambda: None if torch.cuda.is_available() else "no CUDA device",
        "tensorrt": lambda: None if _has_tensorrt() else "torch_tensorrt not installed",
    }
    for marker, check in missing.items():
        if marker in item.keywords and (reason := check()):
            if REQUIRE_CUDA:
                pytest.fail(f"VIDSR_REQUIRE_CUDA=1 but {reason}")
            pytest.skip(reason)


def needs(path: Path) -> Path:
    """Skip when a shared asset is absent (a checkout without ../shared)."""
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture(autouse=True)
def _restore_rng() -> object:
    # Tests that seed torch must not change what later tests draw.
    state = torch.random.get_rng_state()
    yield
    torch.random.set_rng_state(state)
