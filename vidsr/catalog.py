"""The models vidsr ships: names, scales and weight files, listed by hand (no folder scanning).

Each entry names its file and the file's full sha256, checked on every load. The files are made
by `vidsr train`; the commands are in MODEL_CARD.md. Nothing here imports torch, so options and
the command line can name the models cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

SCALES = (2, 3, 4)


@dataclass(frozen=True)
class Shipped:
    name: str  # what `--model` takes
    arch: str  # the ARCHS entry the weights are for
    scale: int
    sha256: str  # of the whole file, whose name carries its first 8 hex digits

    @property
    def file(self) -> str:
        return f"{self.arch}_x{self.scale}-{self.sha256[:8]}.pt"

    @property
    def path(self) -> Path:
        return Path(str(resources.files("vidsr") / "models" / "weights" / self.file))


_SHIPPED_FILES = (
    # Trained for real streams (--degrade video): the defaults.
    Shipped("medium", "medium", 2,
            "8718aac85a9d9ee3e01ff07abdaca83b9f77878af015cfeb5ea977caa97834f2"),
    Shipped("medium", "medium", 3,
            "abb9da5d151b51055ba9f4d2895c7f6121f5cf17525e92c49ab1080ff2bd1abe"),
    Shipped("medium", "medium", 4,
            "dc3583a464188da069ee2823de8922fbea1b959319c37d1a8d5bcc8a549ace4e"),
    Shipped("small", "small", 2,
            "57529cba5d3f0058b434d3beafd459a28784b730038f2af2c7c5cc07b9e7d046"),
    Shipped("small", "small", 3,
            "85b06223571c92dce539d7ba1600c6477273ca8e1ceb8f5552fd104d0e59c4a3"),
    Shipped("small", "small", 4,
            "b76008da33f89fe01ed2adf7acfbea9210bd17d776b8eaa21261003c7dcb1f6b"),
    Shipped("tiny", "tiny", 2,
            "66deddf14b61d6f6ee6fe031642dad19ce4879a29ea57571fc8f68ee4bd61586"),
    Shipped("tiny", "tiny", 3,
            "dce1618a605b54b1604d5da1c75a485e2b603acf74418cc4e6c1f3ff1744f822"),
    Shipped("tiny", "tiny", 4,
            "335f65d2ea96eaa3b531cc08963693bafe3f57ed8bd079d3cabafd7f794be0c3"),
    # FSRCNN's network trained for real streams too, for those who want FSRCNN itself.
    Shipped("fsrcnn-video", "fsrcnn", 2,
            "808f4c0b241d6ef598f195061ecf7098c66690124a07a2fca5de4c7a45b175bf"),
    Shipped("fsrcnn-video", "fsrcnn", 3,
            "7c8df07878a070824e32bc1b0b67c45048f10e52d6b32a0d2087d79843945f70"),
    Shipped("fsrcnn-video", "fsrcnn", 4,
            "a0037a62f784a9d9d7a917a743ff30b762e34ada23652a1b54a5dda57295467a"),
    # The papers' protocol (--degrade bicubic).
    Shipped("small-paper", "small", 2,
            "eb38e7dcb3895b77079e56ca91fb04c970fc89d9200de8a78595138645bc77b0"),
    Shipped("small-paper", "small", 3,
            "0583e6db490d6c1bbcb6d0cbe6bbb02f45d5b56a281c6df4ae602dfb1fb83042"),
    Shipped("small-paper", "small", 4,
            "0ffd42b76c9efbd424f2f59974863a00e7550537b57f87cb22860bc1766678e2"),
    Shipped("tiny-paper", "tiny", 2,
            "40b82f8e5e48555bbc0708a30163240600db54e8a3f2451bb39357c2e69a9022"),
    Shipped("tiny-paper", "tiny", 3,
            "75135df25ddba316e89a1b152fccf138b78085486db4fd36e3ea166e0c669031"),
    Shipped("tiny-paper", "tiny", 4,
            "57231b36165bdb395ce48aeed7236a5f77b6bbd16464a2e2888f3c550923c4e8"),
    Shipped("espcn", "espcn", 2,
            "7d1bd8b261e29c22d4942f2f76502ed4dcd007134477d887b1645aed70c4bf8d"),
    Shipped("espcn", "espcn", 3,
            "6f41d1f45c5f61595b0ca658ddc24427024ce631264d1999186641d3677110b2"),
    Shipped("espcn", "espcn", 4,
            "3a83b682cf1a593015a83a9a1d0e4ddeff1c054686c3f75a60a67b311fc014c9"),
    Shipped("fsrcnn", "fsrcnn", 2,
            "9ced77c65c890f9060cd09241e3919b1c474972ba91a285e1345f4a5fa22939f"),
    Shipped("fsrcnn", "fsrcnn", 3,
            "3814e48848043263df0ba5aabc5e35e5810d07fcfe6efb0829db4f6e1da6deef"),
    Shipped("fsrcnn", "fsrcnn", 4,
            "5748252259c7a66ba9f3190e437080d19ec7f51aca12510ee3e3e42793270832"),
)

SHIPPED: dict[tuple[str, int], Shipped] = {(s.name, s.scale): s for s in _SHIPPED_FILES}
# Every name `--model` takes besides auto: the models that ship weights, in the order above.
MODELS: tuple[str, ...] = tuple(dict.fromkeys(s.name for s in _SHIPPED_FILES))
