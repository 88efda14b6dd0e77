"""`vidsr train`: fit a luma SR model on still images, under the papers' bicubic degradation
(`--degrade bicubic`) or the way real streams are degraded (`--degrade video`, `vidsr.degrade`).

Deterministic on the CPU for a given seed and thread count: patches come from one seeded numpy
generator, initial weights from one seeded torch generator, and checkpoints carry both states, so
`--resume` continues the same run rather than a new one.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from vidsr import degrade, models
from vidsr.dataset import HR_SCALES, Image, Pair, load_images, make_pairs
from vidsr.degrade import CRF_RANGE, SCALERS, SOFT_SHARE
from vidsr.errors import ConfigError
from vidsr.evaluate import EvalReport, evaluate
from vidsr.models import weights
from vidsr.models.collapsible import Collapsible
from vidsr.models.fsrcnn import FSRCNN, subpixel_tail
from vidsr.resize import imresize


@dataclass(frozen=True)
class TrainConfig:
    model: str
    scale: int
    data: tuple[Path, ...]
    out_dir: Path
    val: Path | None = None
    iterations: int = 20_000
    batch: int = 64
    patch: int = 16  # LR patch side; the HR patch is patch · scale
    lr: float = 1e-3
    min_lr: float = 1e-5
    seed: int = 0
    threads: int = 1  # results are bit-reproducible for a given seed *and* thread count
    init: Path | None = None  # start from these weights (e.g. x3 weights for an x2/x4 model)
    val_every: int = 1000
    checkpoint: Path | None = None
    resume: bool = False
    command: str = ""  # recorded in the weights' metadata
    degrade: Literal["bicubic", "video"] = "bicubic"
    clips: int = 4000  # --degrade video: panning clips drawn (CLIP_FRAMES training frames each)
    loss: Literal["l2", "l1"] = "l2"
    soft_share: float = SOFT_SHARE  # --degrade video: clips with a blurred source
    crf_range: tuple[int, int] = CRF_RANGE  # --degrade video: x264 CRFs drawn, inclusive
    scalers: tuple[str, ...] = SCALERS  # --degrade video: drawn uniformly (repeats weigh more)

    def __post_init__(self) -> None:
        if self.iterations < 1 or self.batch < 1 or self.patch < 4 or self.clips < 1:
            raise ConfigError("iterations, batch and clips must be ≥ 1 and patch ≥ 4")
        if self.degrade not in ("bicubic", "video"):
            raise ConfigError(f"unknown degradation {self.degrade!r}; choose bicubic or video")
        if self.loss not in ("l2", "l1"):
            raise ConfigError(f"unknown loss {self.loss!r}; choose l2 or l1")
        if not 0 <= self.soft_share <= 1:
            raise ConfigError(f"soft_share must be in [0, 1], not {self.soft_share}")
        lo, hi = self.crf_range
        if not 0 <= lo <= hi <= 51:
            raise ConfigError(f"crf_range must be two x264 CRFs 0 ≤ low ≤ high ≤ 51, "
                              f"not {lo}, {hi}")
        if not self.scalers or not set(self.scalers) <= set(SCALERS):
            raise ConfigError(f"scalers must name some of {', '.join(SCALERS)}, "
                              f"not {', '.join(self.scalers) or 'none'}")
        if self.degrade == "video" and self.patch > degrade.LR_WINDOW:
            raise ConfigError(f"degrade='video' needs patch ≤ {degrade.LR_WINDOW}")


# Fields added after the first shipped weights: recorded only when set, so that the commands in
# the model card still reproduce those files byte for byte.
_RECORDED_WHEN_SET: dict[str, object] = {"degrade": "bicubic", "clips": 4000, "loss": "l2",
                                          "soft_share": SOFT_SHARE, "crf_range": CRF_RANGE,
                                          "scalers": SCALERS}


@dataclass(frozen=True)
class Progress:
    iteration: int
    total: int
    loss: float
    val_psnr: float | None


@dataclass
class _Patches:
    """Random LR/HR patch pairs drawn from all images, with the 8 flips/rotations."""

    pairs: Sequence[Pair]
    patch: int
    scale: int
    rng: np.random.Generator
    weights: NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        # Sample images in proportion to how many patch positions they hold.
        counts = np.array(
            [
                (p.lr_y.shape[0] - self.patch + 1) * (p.lr_y.shape[1] - self.patch + 1)
                for p in self.pairs
            ],
            dtype=np.float64,
        )
        self.weights = counts / counts.sum()

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        p, s = self.patch, self.scale
        idx = self.rng.choice(len(self.pairs), size=n, p=self.weights)
        lrs, hrs = [], []
        for i in idx:
            pair = self.pairs[i]
            y = int(self.rng.integers(pair.lr_y.shape[0] - p + 1))
            x = int(self.rng.integers(pair.lr_y.shape[1] - p + 1))
            lr = pair.lr_y[y : y + p, x : x + p]
            hr = pair.hr_y[y * s : (y + p) * s, x * s : (x + p) * s]
            # Flips and rotations commute with the symmetric bicubic kernel, so transforming the
            # patches equals degrading a transformed image.
            k, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
            lr, hr = np.rot90(lr, k), np.rot90(hr, k)
            if flip:
                lr, hr = lr[:, ::-1], hr[:, ::-1]
            lrs.append(lr)
            hrs.append(hr)
        return _to_tensor(lrs), _to_tensor(hrs)


def _to_tensor(planes: list[NDArray[np.uint8]]) -> torch.Tensor:
    return torch.from_numpy(np.stack(planes)[:, None].astype(np.float32) / 255.0)


def training_pairs(images: Sequence[Image], scale: int, patch: int) -> list[Pair]:
    """Every image at every HR_SCALES size, degraded; those too small for a patch are skipped."""
    pairs = []
    for image in images:
        for factor in HR_SCALES:
            rgb = image.rgb if factor == 1.0 else imresize(image.rgb, factor)
            pairs += [
                p for p in make_pairs([Image(image.name, rgb)], scale) if min(p.lr_y.shape) >= patch
            ]
    return pairs


def _init_from(model: nn.Module, path: Path) -> None:
    """Copy every tensor whose name and shape match (an x3 model's body into an x2 model).
    Body blocks a shallower file lacks start as the identity."""
    state, _ = weights.load(path)
    own = model.state_dict()
    own.update({k: v for k, v in state.items() if k in own and own[k].shape == v.shape})
    model.load_state_dict(own)
    if isinstance(model, Collapsible):
        have = sum(1 for k in state if k.startswith("body.") and k.endswith(".wide.weight"))
        model.pass_through(range(have, len(model.body)))


def _fast_forward(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """FSRCNN's deconvolution computed as its exact sub-pixel convolution: the same function and
    the same parameters, but ~20 % faster to train on a CPU than ConvTranspose2d."""
    if isinstance(model, FSRCNN):
        return lambda x: subpixel_tail(model.body(x), model.tail, model.scale)
    return model


def _lr_at(cfg: TrainConfig, it: int) -> float:
    # Cosine decay from lr to min_lr over the run.
    t = it / max(cfg.iterations, 1)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * t))


def train(cfg: TrainConfig, on_progress: Callable[[Progress], None] = lambda p: None) -> Path:
    """Train, save `{model}_x{scale}-{sha8}.pt` into cfg.out_dir, and return its path."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = models.build(cfg.model, cfg.scale)
    if cfg.init is not None:
        _init_from(model, cfg.init)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    start = 0
    if cfg.resume and cfg.checkpoint is not None and cfg.checkpoint.exists():
        ckpt = torch.load(cfg.checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        rng.bit_generator.state = ckpt["rng"]
        start = int(ckpt["iteration"])

    images = load_images(cfg.data)
    if cfg.degrade == "video":
        # Its own seed: the clips are the data, the same whatever the run has drawn so far.
        pairs = degrade.video_pairs(images, cfg.scale, cfg.clips, seed=cfg.seed,
                                    soft_share=cfg.soft_share, crf_range=cfg.crf_range,
                                    scalers=cfg.scalers)
    else:
        pairs = training_pairs(images, cfg.scale, cfg.patch)
    patches = _Patches(pairs, cfg.patch, cfg.scale, rng)
    val_pairs = _validation(cfg)
    loss_fn = nn.MSELoss() if cfg.loss == "l2" else nn.L1Loss()
    forward = _fast_forward(model)
    model.train()
    val_psnr: float | None = None
    loss_avg = float("nan")
    for it in range(start, cfg.iterations):
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(cfg, it)
        lr, hr = patches.batch(cfg.batch)
        loss = loss_fn(forward(lr), hr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = loss.item()
        loss_avg = value if math.isnan(loss_avg) else 0.98 * loss_avg + 0.02 * value
        done = it + 1
        if done % cfg.val_every == 0 or done == cfg.iterations:
            if val_pairs:
                val_psnr = evaluate(model, val_pairs, cfg.scale).mean("psnr")
            if cfg.checkpoint is not None:
                _save_checkpoint(cfg.checkpoint, model, optimizer, rng, done)
        on_progress(Progress(done, cfg.iterations, loss_avg, val_psnr))

    report = evaluate(model, val_pairs, cfg.scale) if val_pairs else None
    meta = _metadata(cfg, model, report)
    return weights.save(model.state_dict(), meta, cfg.out_dir, f"{cfg.model}_x{cfg.scale}")


def _validation(cfg: TrainConfig) -> list[Pair]:
    """The validation images degraded as the training data is (video: one fixed CRF 23 stream)."""
    if cfg.val is None:
        return []
    images = load_images([cfg.val])
    if cfg.degrade == "video":
        return degrade.stream_pairs(images, cfg.scale)
    return make_pairs(images, cfg.scale)


def _save_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
    it: int,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": rng.bit_generator.state,
        "iteration": it,
    }
    torch.save(state, tmp)
    os.replace(tmp, path)


def _metadata(cfg: TrainConfig, model: nn.Module, report: EvalReport | None) -> dict[str, Any]:
    # Nothing time- or machine-dependent goes in here: the file's bytes must follow from the
    # weights and the recipe alone, so that the documented command reproduces its hash.
    # Where files go and whether a run was resumed do not change the weights: leave them out.
    config = {
        k: _plain(v)
        for k, v in asdict(cfg).items()
        if k not in {"out_dir", "checkpoint", "resume", "command"}
        and not (k in _RECORDED_WHEN_SET and v == _RECORDED_WHEN_SET[k])
    }
    meta: dict[str, Any] = {
        "arch": cfg.model,
        "scale": cfg.scale,
        "params": sum(p.numel() for p in model.parameters()),
        "command": cfg.command or shlex.join(["vidsr", "train"]),
        "config": config,
        "torch": str(torch.__version__),
    }
    if report is not None:
        meta["val"] = {
            "set": str(cfg.val.name) if cfg.val else "",
            **({"degrade": "stream crf 23"} if cfg.degrade == "video" else {}),
            "psnr": round(report.mean("psnr"), 4),
            "ssim": round(report.mean("ssim"), 5),
            "bicubic_psnr": round(report.mean("bicubic_psnr"), 4),
            "bicubic_ssim": round(report.mean("bicubic_ssim"), 5),
        }
    return meta


def _plain(value: Any) -> Any:
    """A config value as plain data for the metadata: paths as text, tuples as lists."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
