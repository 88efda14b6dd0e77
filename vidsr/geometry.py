"""The pure geometry of output sizes: how much a frame grows, and to exactly what size."""

from __future__ import annotations

from dataclasses import dataclass

from vidsr.errors import ConfigError


@dataclass(frozen=True)
class Geometry:
    """How a frame grows: the model's scale, then an exact resize to `height`×`width`."""

    scale: int
    height: int
    width: int


def parse_target(target: str) -> tuple[int | None, int]:
    """'1080p' -> (None, 1080); '1920x1080' -> (1920, 1080). Width None means 'from aspect'."""
    text = target.strip().lower()
    try:
        if text.endswith("p"):
            width, height = None, int(text[:-1])
        else:
            w, h = text.split("x")
            width, height = int(w), int(h)
    except ValueError:
        raise ConfigError(f"target {target!r} is not like 1080p or 1920x1080") from None
    if height < 2 or (width is not None and width < 2):
        raise ConfigError(f"target {target!r} is too small")
    return width, height


def plan(height: int, width: int, *, scale: int | None = None, target: str | None = None,
         scales: tuple[int, ...] = (2, 3, 4)) -> Geometry:
    """The model scale and exact output size for an input of `height`×`width` (as displayed).

    With `scale`, the output is the input times `scale`. With `target`, it is the largest size
    with the input's aspect ratio that fits the target (a bare height like 1080p fixes the
    height), and the model scale is the smallest one that reaches it (the largest if none does).
    Either way both sides are then rounded down to even numbers, which 4:2:0 encoders require.
    """
    if (scale is None) == (target is None):
        raise ConfigError("give exactly one of scale and target")
    if scale is not None:
        if scale not in scales:
            raise ConfigError(f"scale {scale} is not one of {', '.join(map(str, scales))}")
        return Geometry(scale, _even(height * scale), _even(width * scale))
    assert target is not None
    box_w, box_h = parse_target(target)
    factor = box_h / height if box_w is None else min(box_w / width, box_h / height)
    if factor <= 1:
        raise ConfigError(f"target {target} is not larger than the input ({width}x{height})")
    model_scale = next((s for s in sorted(scales) if s >= factor - 1e-9), max(scales))
    return Geometry(model_scale, _even(round(height * factor)), _even(round(width * factor)))


def plan_stored(height: int, width: int, rotation: int, *, scale: int | None = None,
                target: str | None = None) -> Geometry:
    """`plan` for a picture stored `height`×`width` and turned by `rotation` degrees when shown:
    planned as displayed (a 1080p target means 1080 rows on screen), returned in the stored
    orientation, which is what the frames and the encoder hold."""
    turned = rotation % 180 != 0
    g = plan(width, height, scale=scale, target=target) if turned else plan(
        height, width, scale=scale, target=target)
    return Geometry(g.scale, g.width, g.height) if turned else g


def _even(n: int) -> int:
    return max(2, n - n % 2)
