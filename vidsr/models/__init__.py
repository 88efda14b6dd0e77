"""The model zoo: architectures by name (`ARCHS`, what `vidsr train` builds), and loading the
weights vidsr ships for them (listed in `vidsr.catalog`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from vidsr.catalog import MODELS, SCALES, SHIPPED, Shipped
from vidsr.errors import ConfigError, ModelError
from vidsr.models import weights
from vidsr.models.collapsible import Collapsible
from vidsr.models.espcn import ESPCN
from vidsr.models.fsrcnn import FSRCNN

ARCHS: dict[str, Callable[[int], nn.Module]] = {
    "espcn": ESPCN,
    "fsrcnn": FSRCNN,
    "fsrcnn-s": lambda scale: FSRCNN(scale, d=32, s=5, m=1),
    # The fast tiers: ≤ 3 k and ≤ 7 k multiply-adds per LR pixel at x2 once collapsed.
    "tiny": lambda scale: Collapsible(scale, features=8, blocks=3),
    "small": lambda scale: Collapsible(scale, features=16, blocks=2),
    # For files and GPUs, where the picture matters more than the CPU's frame rate: 39 k at x2.
    "medium": lambda scale: Collapsible(scale, features=32, blocks=4),
}


def build(name: str, scale: int) -> nn.Module:
    """A freshly initialised architecture (for training)."""
    if name not in ARCHS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(ARCHS)}")
    if scale not in SCALES:
        raise ConfigError(
            f"unsupported scale {scale}; choose one of: {', '.join(map(str, SCALES))}"
        )
    return ARCHS[name](scale)


def load_with_meta(name: str, scale: int) -> tuple[nn.Module, dict[str, Any]]:
    """The shipped model (eval mode, CPU, float32) and its metadata."""
    entry = SHIPPED.get((name, scale))
    if entry is None:
        if name not in MODELS and name not in ARCHS:
            raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
        have = ", ".join(f"{a} x{s}" for a, s in sorted(SHIPPED)) or "none"
        raise ModelError(f"no shipped weights for {name} x{scale} (shipped: {have})")
    model = build(entry.arch, scale)
    state, meta = weights.load(entry.path, entry.sha256)
    model.load_state_dict(state)
    return model.eval(), meta


def load_model(name: str, scale: int) -> nn.Module:
    """The shipped `name` model for `scale`, in eval mode on the CPU.

    Takes N×1×H×W float luma in [0, 1]; returns N×1×(scale·H)×(scale·W).
    """
    return load_with_meta(name, scale)[0]


__all__ = ["ARCHS", "MODELS", "SCALES", "SHIPPED", "Shipped", "build", "load_model",
           "load_with_meta"]
