"""The engine cache: built artefacts stored under a key of everything that invalidates them.

Generic over how an engine is built, loaded and checked, so it works (and is tested) without
TensorRT. Files are written atomically; a file that fails to load or verify is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from vidsr.errors import EngineError

log = logging.getLogger("vidsr")

T = TypeVar("T")
LOCAL_DIR = Path("engines")


@dataclass(frozen=True)
class EngineKey:
    model: str
    scale: int
    weights_sha256: str
    batch: int  # the shape range: batch 1…batch of height×width frames
    height: int
    width: int
    precision: str
    gpu: str
    cuda: str
    torch: str
    torch_tensorrt: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    @property
    def filename(self) -> str:
        return (f"{self.model}_x{self.scale}_b{self.batch}_{self.width}x{self.height}"
                f"_{self.precision}-{self.digest}.ep")


def default_dir() -> Path:
    """`engines/` in the working directory when it exists, else the user cache directory."""
    if LOCAL_DIR.is_dir():
        return LOCAL_DIR
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vidsr" / "engines"


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """`write(tmp)` beside `path`, then rename it into place: readers never see half a file."""
    # Keep the suffix on the temporary name: savers pick the format from it.
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.part{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def get_or_build(
    key: EngineKey, directory: Path, *, build: Callable[[Path], None],
    load: Callable[[Path], T], verify: Callable[[T], None],
) -> T:
    """The cached engine for `key`, built (and stored) when missing, corrupt or failing `verify`.

    `build(path)` writes an engine file, `load(path)` reads it, `verify(engine)` raises when the
    engine's output is wrong. A freshly built engine that fails to load or verify is an EngineError.
    """
    path = directory / key.filename
    if path.exists():
        try:
            engine = load(path)
            verify(engine)
            return engine
        # A damaged or stale file can fail inside any deserialiser in any way; it is only a cache.
        except Exception as exc:
            log.warning("engine %s unusable (%s); rebuilding", path, exc)
    directory.mkdir(parents=True, exist_ok=True)
    log.info("building engine %s", path)
    write_atomic(path, build)
    write_atomic(path.with_suffix(".json"),
                  lambda p: p.write_text(json.dumps(asdict(key), indent=1)))
    try:
        engine = load(path)
        verify(engine)
    except EngineError:
        raise
    except Exception as exc:
        raise EngineError(f"{path}: freshly built engine failed to load ({exc})") from exc
    return engine


@dataclass(frozen=True)
class Entry:
    path: Path
    size: int
    key: dict[str, Any] | None  # None when the metadata file is missing or unreadable


def entries(directory: Path) -> list[Entry]:
    """The engines stored in `directory`, sorted by name."""
    found = []
    for path in sorted(directory.glob("[!.]*.ep")):  # not the hidden partial writes
        try:
            key = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError):
            key = None
        found.append(Entry(path, path.stat().st_size, key))
    return found


def clear(directory: Path) -> list[Path]:
    """Delete every engine (and its metadata) in `directory`; returns the engines removed."""
    removed = []
    for entry in entries(directory):
        entry.path.unlink(missing_ok=True)
        entry.path.with_suffix(".json").unlink(missing_ok=True)
        removed.append(entry.path)
    return removed
