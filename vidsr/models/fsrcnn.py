"""FSRCNN: Dong, Loy and Tang, "Accelerating the Super-Resolution Convolutional Neural Network",
ECCV 2016. Luma only. Also the exact rewrite of its strided deconvolution as a stride-1
convolution on the low-resolution grid followed by PixelShuffle (`to_subpixel`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

KERNEL = 9  # the deconvolution's kernel size, fixed by the paper for every scale
PADDING = KERNEL // 2


def _conv_prelu(c_in: int, c_out: int, k: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.PReLU(c_out)]


class FSRCNN(nn.Module):
    """FSRCNN(d, s, m): feature extraction 5×5 1→d, shrink 1×1 d→s, m mapping 3×3 s→s,
    expand 1×1 s→d (each followed by PReLU), then a 9×9 deconvolution d→1 with stride r.

    Takes N×1×H×W float luma in [0, 1]; returns N×1×(rH)×(rW). Defaults are FSRCNN(56, 12, 4);
    FSRCNN-s is (32, 5, 1).
    """

    def __init__(self, scale: int, d: int = 56, s: int = 12, m: int = 4) -> None:
        super().__init__()
        self.scale = scale
        layers = _conv_prelu(1, d, 5) + _conv_prelu(d, s, 1)
        for _ in range(m):
            layers += _conv_prelu(s, s, 3)
        layers += _conv_prelu(s, d, 1)
        self.body = nn.Sequential(*layers)
        self.tail = nn.ConvTranspose2d(
            d, 1, KERNEL, stride=scale, padding=PADDING, output_padding=scale - 1
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # The paper's initialisation: He-normal for the convolutions (PReLU), and a Gaussian of
        # std 0.001 for the deconvolution, whose output must start near zero.
        for module in self.body:
            if isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
                nn.init.normal_(module.weight, std=math.sqrt(2.0 / fan_in))
                assert module.bias is not None
                nn.init.zeros_(module.bias)
        self.reset_tail()

    def reset_tail(self) -> None:
        nn.init.normal_(self.tail.weight, std=0.001)
        nn.init.zeros_(self.tail.bias)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(x))


def _offsets(r: int) -> tuple[int, int]:
    """Offsets j = i − q that the rewritten convolution reads, for output phase φ of input q: the
    deconvolution's tap k = φ + PADDING − j·r must lie in [0, KERNEL)."""
    j_min = -((KERNEL - 1 - PADDING) // r)  # ceil((PADDING − KERNEL + 1) / r), phase 0
    j_max = (r - 1 + PADDING) // r  # phase r − 1
    return j_min, j_max


def _tap_index(r: int) -> torch.Tensor:
    """For each (phase, offset), the deconvolution tap it uses, or KERNEL where there is none."""
    j_min, j_max = _offsets(r)
    index = torch.full((r, j_max - j_min + 1), KERNEL, dtype=torch.long)
    for phase in range(r):
        for j in range(j_min, j_max + 1):
            if 0 <= (k := phase + PADDING - j * r) < KERNEL:
                index[phase, j - j_min] = k
    return index


def subpixel_weight(deconv_weight: torch.Tensor, r: int) -> torch.Tensor:
    """Re-arrange a (d, 1, 9, 9) stride-r deconvolution weight into the (r², d, T, T) weight of
    the equivalent low-resolution convolution. Differentiable: a gather, no arithmetic.

    A stride-r transposed convolution writes output pixel o = q·r + φ from inputs i with kernel
    tap k = (q − i)·r + φ + PADDING. For a fixed phase φ that is an ordinary stride-1 correlation
    on the low-resolution grid, so all r² phases together are one convolution with r² output
    channels, which PixelShuffle interleaves.
    """
    index = _tap_index(r)
    padded = F.pad(deconv_weight[:, 0], (0, 1, 0, 1))  # tap KERNEL reads this zero row/column
    rows = padded[:, index]  # (d, r, T, K+1): rows picked per (phase_y, offset_y)
    taps = rows[..., index]  # (d, r, T, r, T)
    d, t = deconv_weight.shape[0], index.shape[1]
    return taps.permute(1, 3, 0, 2, 4).reshape(r * r, d, t, t)


def subpixel_tail(x: torch.Tensor, deconv: nn.ConvTranspose2d, r: int) -> torch.Tensor:
    """`deconv(x)` as pad → stride-1 conv → PixelShuffle: the same result, faster on a CPU."""
    j_min, j_max = _offsets(r)
    x = F.pad(x, (-j_min, j_max, -j_min, j_max))
    bias = deconv.bias.expand(r * r)  # type: ignore[union-attr]
    return F.pixel_shuffle(F.conv2d(x, subpixel_weight(deconv.weight, r), bias), r)


def to_subpixel(model: FSRCNN) -> nn.Sequential:
    """The same function as `model` as a plain Sequential whose tail is pad → conv → PixelShuffle,
    the weights re-arranged, not retrained. Outputs agree to float rounding."""
    r = model.scale
    j_min, j_max = _offsets(r)
    weight = subpixel_weight(model.tail.weight.detach(), r)
    conv = nn.Conv2d(weight.shape[1], r * r, weight.shape[2])
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(model.tail.bias.detach().expand(r * r))  # type: ignore[union-attr]
    pad = nn.ZeroPad2d((-j_min, j_max, -j_min, j_max))
    return nn.Sequential(*model.body, pad, conv, nn.PixelShuffle(r))
