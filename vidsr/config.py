"""Run options: defaults, TOML config files (`configs/*.toml`) and their validation.

A config file sets any `Options` field at top level and `StreamOptions` fields under `[stream]`;
an unknown key is an error that names it. CLI flags override the file (`Options.override`).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from vidsr.catalog import MODELS, SCALES
from vidsr.errors import ConfigError
from vidsr.geometry import parse_target

Device = Literal["auto", "cpu", "cuda"]
BackendName = Literal["auto", "tensorrt", "compile", "eager"]
WhenBehind = Literal["drop", "block"]


@dataclass(frozen=True)
class StreamOptions:
    """Live I/O (`vidsr stream`): latency against throughput."""

    max_batch: int = 4  # frames per inference call at most
    max_wait_ms: float = 20.0  # how long a partial batch waits for more frames
    when_behind: WhenBehind = "drop"  # drop frames, or block the source (latency grows)
    reconnect: int = 3  # attempts to reopen a live source that drops (0: never)
    timeout: float = 10.0  # seconds without data before a live source counts as gone

    def __post_init__(self) -> None:
        _positive(self, "max_batch")
        if self.reconnect < 0 or self.max_wait_ms < 0 or self.timeout <= 0:
            raise ConfigError("stream reconnect and max_wait_ms must be >= 0 and timeout > 0")
        _choice(self, "when_behind", WhenBehind)


@dataclass(frozen=True)
class Options:
    model: str = "auto"  # a shipped model, or auto: best quality (files), keeps up (streams)
    scale: int | None = 2  # model scale; or give `target` instead
    target: str | None = None  # 1080p | 720p | 1440p | 2160p | WxH
    device: Device = "auto"
    backend: BackendName = "auto"
    batch: int = 8  # frames per inference call
    codec: str = "libx264"
    crf: int = 18
    preset: str = "veryfast"
    frames: int | None = None  # first N frames only (a preview)
    overwrite: bool = False
    strict: bool = False  # undecodable video packets are an error instead of skipped and counted
    tile: int | str | None = None  # run frames in overlapping tiles: a core size, or "auto"
    resume: bool = False  # write in journaled segments; a rerun continues an interrupted job
    realtime: bool = False  # model auto: pick as for a live source (keeps up with its frame rate)
    stream: StreamOptions = field(default_factory=StreamOptions)

    def __post_init__(self) -> None:
        if self.model not in ("auto", *MODELS):
            raise ConfigError(
                f"unknown model {self.model!r}; choose one of: auto, {', '.join(MODELS)}")
        if (self.scale is None) == (self.target is None):
            raise ConfigError("give exactly one of scale and target")
        if self.scale is not None and self.scale not in SCALES:
            choices = ", ".join(map(str, SCALES))
            raise ConfigError(f"scale must be one of {choices}, not {self.scale}")
        if self.target is not None:
            parse_target(self.target)
        _positive(self, "batch")
        if self.frames is not None:
            _positive(self, "frames")
        if self.crf < 0:
            raise ConfigError(f"crf must be >= 0, not {self.crf}")
        _choice(self, "device", Device)
        _choice(self, "backend", BackendName)
        if self.tile not in (None, "auto"):
            _positive(self, "tile")

    def override(self, **changes: Any) -> Options:
        """These options with `changes` applied (None values are ignored). Setting one of
        scale/target clears the other, so a flag always beats the config file."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if "target" in changes:
            changes.setdefault("scale", None)
        elif "scale" in changes:
            changes["target"] = None
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)


def load(path: Path) -> Options:
    """Options from a TOML file, on top of the defaults."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable TOML file ({exc})") from exc
    stream = data.pop("stream", {})
    if not isinstance(stream, dict):
        raise ConfigError(f"{path}: 'stream' must be a [stream] table")
    _check_keys(path, data, Options, exclude=frozenset({"stream"}))
    _check_keys(path, stream, StreamOptions, prefix="stream.")
    try:
        base = Options(stream=StreamOptions(**stream))
        return base.override(**data) if data else base
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _check_keys(path: Path, data: dict[str, Any], cls: type, *,
                exclude: frozenset[str] = frozenset(), prefix: str = "") -> None:
    hints = {k: v for k, v in get_type_hints(cls).items() if k not in exclude}
    for key, value in data.items():
        if key not in hints:
            known = ", ".join(prefix + k for k in hints)
            raise ConfigError(f"{path}: unknown key '{prefix}{key}' (known: {known})")
        if not _type_ok(value, hints[key]):
            raise ConfigError(f"{path}: {prefix}{key} = {value!r} has the wrong type")


def _type_ok(value: Any, hint: Any) -> bool:
    if get_origin(hint) is Literal:
        return value in get_args(hint)
    if isinstance(value, bool):  # TOML's true/false must not pass for a number
        return hint is bool
    if hint is float:
        return isinstance(value, int | float)
    return isinstance(value, hint)


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, not {value!r}")


def _choice(obj: object, name: str, literal: Any) -> None:
    choices = get_args(literal)
    if getattr(obj, name) not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {getattr(obj, name)!r}")
