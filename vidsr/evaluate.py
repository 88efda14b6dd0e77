"""The papers' evaluation protocol: for each image, degrade (dataset.degrade), super-resolve the
LR luma, and measure PSNR / SSIM on luma with `scale` pixels shaved from every border, against
MATLAB-bicubic upsampling of the same LR luma as the reference row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from vidsr.color import to_u8
from vidsr.dataset import Pair
from vidsr.metrics import psnr, ssim
from vidsr.resize import imresize


@dataclass(frozen=True)
class ImageScore:
    name: str
    psnr: float
    ssim: float
    bicubic_psnr: float
    bicubic_ssim: float


@dataclass(frozen=True)
class EvalReport:
    scale: int
    images: tuple[ImageScore, ...]

    def mean(self, field: str) -> float:
        return float(np.mean([getattr(s, field) for s in self.images]))


@torch.inference_mode()
def super_resolve(model: nn.Module, lr_y: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Run a luma model on one uint8 plane and quantise its output back to uint8."""
    x = torch.from_numpy(lr_y).float().div_(255.0)[None, None]
    y = model(x)[0, 0].clamp_(0.0, 1.0).mul_(255.0)
    return to_u8(y.numpy())


def evaluate(model: nn.Module, pairs: Sequence[Pair], scale: int) -> EvalReport:
    was_training = model.training
    model.eval()
    scores = []
    for pair in pairs:
        sr = super_resolve(model, pair.lr_y)
        lr: NDArray[np.float64] = pair.lr_y.astype(np.float64)
        bicubic = to_u8(imresize(lr, scale))
        scores.append(
            ImageScore(
                pair.name,
                psnr(sr, pair.hr_y, shave=scale),
                ssim(sr, pair.hr_y, shave=scale),
                psnr(bicubic, pair.hr_y, shave=scale),
                ssim(bicubic, pair.hr_y, shave=scale),
            )
        )
    model.train(was_training)
    return EvalReport(scale, tuple(scores))
