"""The model zoo: architectures by name, and the weights vidsr ships for them.

Shipped weights are listed by hand in `SHIPPED` (no folder scanning): each entry names its file
and the file's full sha256, checked on every load. The files are made by `vidsr train`; the
commands are in MODEL_CARD.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from torch import nn

from vidsr.errors import ConfigError, ModelError
from vidsr.models import weights
from vidsr.models.espcn import ESPCN
from vidsr.models.fsrcnn import FSRCNN

SCALES = (2, 3, 4)

ARCHS: dict[str, Callable[[int], nn.Module]] = {
    "espcn": ESPCN,
    "fsrcnn": FSRCNN,
    "fsrcnn-s": lambda scale: FSRCNN(scale, d=32, s=5, m=1),
}


@dataclass(frozen=True)
class Shipped:
    arch: str
    scale: int
    sha256: str  # of the whole file, whose name carries its first 8 hex digits

    @property
    def file(self) -> str:
        return f"{self.arch}_x{self.scale}-{self.sha256[:8]}.pt"

    @property
    def path(self) -> Path:
        return Path(str(resources.files("vidsr.models") / "weights" / self.file))


_SHIPPED_FILES = (
    Shipped("espcn", 2, "a33759f4c7ae697ce3806fe7de0e033cadaac85f5f4701ee9d120f0160e71df3"),
    Shipped("espcn", 3, "a2f5c78c5f0b2529a9c9b9c04363e04691399fa74e38f50c799c420ad4a3f2e8"),
    Shipped("espcn", 4, "ef39723d71bef0d50e6a94d20377c8ca9636e13026d2b0e04f5a22de838a5d69"),
    Shipped("fsrcnn", 2, "a49f053b9d8fc5d17ca83ffb148d596c0099375c89441d184bc6eccdec634c84"),
    Shipped("fsrcnn", 3, "a2621da98a781d2268827a526285576a83cb4ffb237e15cd84ee9777672a3399"),
    Shipped("fsrcnn", 4, "cf17400af544ef484c22339a4434e8da16b81dbac573237a82d649e7e48e6fb7"),
)

SHIPPED: dict[tuple[str, int], Shipped] = {(s.arch, s.scale): s for s in _SHIPPED_FILES}


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
    model = build(name, scale)
    entry = SHIPPED.get((name, scale))
    if entry is None:
        have = ", ".join(f"{a} x{s}" for a, s in sorted(SHIPPED)) or "none"
        raise ModelError(f"no shipped weights for {name} x{scale} (shipped: {have})")
    state, meta = weights.load(entry.path, entry.sha256)
    model.load_state_dict(state)
    return model.eval(), meta


def load_model(name: str, scale: int) -> nn.Module:
    """The shipped `name` model for `scale`, in eval mode on the CPU.

    Takes N×1×H×W float luma in [0, 1]; returns N×1×(scale·H)×(scale·W).
    """
    return load_with_meta(name, scale)[0]
