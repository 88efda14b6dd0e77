"""ESPCN: Shi et al., "Real-Time Single Image and Video Super-Resolution Using an Efficient
Sub-Pixel Convolutional Neural Network", CVPR 2016. Luma only; every convolution runs on the
low-resolution grid and PixelShuffle does the upsampling."""

from __future__ import annotations

import torch
from torch import nn


class ESPCN(nn.Module):
    """conv 5×5 1→64, tanh, conv 3×3 64→32, tanh, conv 3×3 32→r², PixelShuffle(r).

    Takes N×1×H×W float luma in [0, 1]; returns N×1×(rH)×(rW).
    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 5, padding=2),
            nn.Tanh(),
            nn.Conv2d(64, 32, 3, padding=1),
            nn.Tanh(),
        )
        self.tail = nn.Conv2d(32, scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.tail(self.body(x)))
