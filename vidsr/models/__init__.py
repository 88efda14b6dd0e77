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
    file: str
    sha256: str

    @property
    def path(self) -> Path:
        return Path(str(resources.files("vidsr.models") / "weights" / self.file))


_SHIPPED_FILES = (
    Shipped("espcn", 2, "espcn_x2-497aabf3.pt", "497aabf3f9e0d09c84597bd265b33d4c38b349af4d9d3c85917bd9879d887dc7"),
    Shipped("espcn", 3, "espcn_x3-f0260fa4.pt", "f0260fa4f189e4de9c891dc12b6e96b38dae0302f7d724b563ea23df443810ce"),
    Shipped("espcn", 4, "espcn_x4-42971bd8.pt", "42971bd8c4c7a8c5b81124d5b8dc1263458eedb5b76f313e31a79ff7c538b992"),
    Shipped("fsrcnn", 2, "fsrcnn_x2-cc3aaabc.pt", "cc3aaabcc027557cdbb79a9f12fb5ed8b27a0ce6c5886e40f80e383f89f720f5"),
    Shipped("fsrcnn", 3, "fsrcnn_x3-6efb9f15.pt", "6efb9f1504de6fe5b3166ed3116775b8f8c428516ab1e981c32ecf25152914d9"),
    Shipped("fsrcnn", 4, "fsrcnn_x4-2347962a.pt", "2347962ac84366e478dda385276c68252baf56419f4bfa8d79575a3c58ac1c02"),
)

SHIPPED: dict[tuple[str, int], Shipped] = {(s.arch, s.scale): s for s in _SHIPPED_FILES}


def build(name: str, scale: int) -> nn.Module:
    """A freshly initialised architecture (for training)."""
    if name not in ARCHS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(ARCHS)}")
    if scale not in SCALES:
        raise ConfigError(f"unsupported scale {scale}; choose one of: {', '.join(map(str, SCALES))}")
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
