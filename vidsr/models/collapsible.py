"""The `tiny` and `small` models: collapsible linear blocks (after Bhardwaj et al., "Collapsible
Linear Blocks for Super-Efficient Super Resolution", MLSys 2022) on top of a bicubic base.

Training sees each convolution as an over-parameterised linear block — a k×k convolution into
`expand` channels, then a 1×1 back down, plus an identity where shapes allow — with no
nonlinearity inside, so the block *is* one k×k convolution. Its weight is collapsed in every
forward pass: training costs about what the small network costs, while the optimiser works on the
wide factorisation (which is what makes these blocks train better than the plain convolution).
`collapse()` returns that plain network for inference: convolutions, PReLUs, two adds and
PixelShuffle, which every backend runs unchanged.

The output is a residual over bicubic upsampling (Keys, a = −0.5, as MATLAB's imresize), written
as one fixed polyphase convolution on the low-resolution grid: an untrained model is exactly
bicubic, and a model that cannot tell detail from noise can hold back to it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidsr.resize import cubic

BASE_TAPS = 5  # every phase of x2, x3 and x4 bicubic reads LR offsets −2 … +2


def bicubic_phases(scale: int) -> torch.Tensor:
    """The (r², 1, 5, 5) convolution whose PixelShuffle is bicubic ×r upsampling (MATLAB's
    sample positions: HR pixel o reads LR coordinate (o + ½)/r − ½)."""
    taps = np.zeros((scale, BASE_TAPS))
    offsets = np.arange(BASE_TAPS) - BASE_TAPS // 2
    for phase in range(scale):
        u = (phase + 0.5) / scale - 0.5  # the sample's position relative to LR pixel q
        taps[phase] = cubic((u - offsets).astype(np.float64))
        taps[phase] /= taps[phase].sum()
    kernel = np.einsum("ak,bl->abkl", taps, taps).reshape(scale * scale, 1, BASE_TAPS, BASE_TAPS)
    return torch.from_numpy(kernel).float()


def bicubic_channels(x: torch.Tensor, phases: torch.Tensor) -> torch.Tensor:
    """The r² phases of bicubic upsampling of N×1×H×W `x` (PixelShuffle them for the image).
    Replicate padding keeps a flat border flat."""
    pad = BASE_TAPS // 2
    return F.conv2d(F.pad(x, (pad, pad, pad, pad), mode="replicate"), phases)


class LinearBlock(nn.Module):
    """k×k conv c_in → expand, 1×1 conv expand → c_out (+ identity when c_in == c_out and
    `residual`), computed as the one k×k conv c_in → c_out they equal."""

    def __init__(self, c_in: int, c_out: int, k: int, expand: int, *, residual: bool) -> None:
        super().__init__()
        self.k, self.residual = k, residual and c_in == c_out
        self.wide = nn.Conv2d(c_in, expand, k, padding=k // 2)
        self.narrow = nn.Conv2d(expand, c_out, 1)

    def kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        narrow = self.narrow.weight[:, :, 0, 0]
        weight = torch.einsum("oe,eikl->oikl", narrow, self.wide.weight)
        assert self.wide.bias is not None and self.narrow.bias is not None
        bias = narrow @ self.wide.bias + self.narrow.bias
        if self.residual:
            c = self.k // 2
            eye = torch.eye(weight.shape[0], dtype=weight.dtype, device=weight.device)
            weight = weight + F.pad(eye[:, :, None, None], (c, c, c, c))
        return weight, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.kernel()
        return F.conv2d(x, weight, bias, padding=self.k // 2)

    def collapse(self) -> nn.Conv2d:
        weight, bias = self.kernel()
        conv = nn.Conv2d(weight.shape[1], weight.shape[0], self.k, padding=self.k // 2)
        with torch.no_grad():
            conv.weight.copy_(weight)
            conv.bias.copy_(bias)  # type: ignore[union-attr]
        return conv


class SRNet(nn.Module):
    """head 5×5 1→f, `blocks` × (3×3 f→f), a long residual, tail 3×3 f→r², + bicubic, PixelShuffle.

    The same forward for the training form (LinearBlocks) and the collapsed form (Conv2d).
    Takes N×1×H×W float luma in [0, 1]; returns N×1×(rH)×(rW).
    """

    base: torch.Tensor

    def __init__(self, scale: int, head: nn.Module, body: list[nn.Module],
                 tail: nn.Module, features: int) -> None:
        super().__init__()
        self.scale = scale
        self.head = head
        self.head_act = nn.PReLU(features)
        self.body = nn.ModuleList(body)
        self.acts = nn.ModuleList(nn.PReLU(features) for _ in body)
        self.tail = tail
        self.register_buffer("base", bicubic_phases(scale), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.head_act(self.head(x))
        h = skip
        for conv, act in zip(self.body, self.acts, strict=True):
            h = act(conv(h))
        return F.pixel_shuffle(self.tail(h + skip) + bicubic_channels(x, self.base), self.scale)


class Collapsible(SRNet):
    """The training form. `features` f, `blocks` m, linear blocks `expand` wide."""

    head: LinearBlock
    tail: LinearBlock

    def __init__(self, scale: int, features: int, blocks: int, expand: int = 256) -> None:
        super().__init__(
            scale,
            LinearBlock(1, features, 5, expand, residual=False),
            [LinearBlock(features, features, 3, expand, residual=True) for _ in range(blocks)],
            LinearBlock(features, scale * scale, 3, expand, residual=False),
            features,
        )
        # Start as exactly bicubic: the residual branch's last projection is zero.
        nn.init.zeros_(self.tail.narrow.weight)
        assert self.tail.narrow.bias is not None
        nn.init.zeros_(self.tail.narrow.bias)

    def pass_through(self, blocks: range) -> None:
        """Make these body blocks the identity (a zero residual branch, PReLU slope 1): a deeper
        network grown from a shallower one's weights then starts as exactly its function, and
        training goes on from there rather than from a random perturbation of it."""
        with torch.no_grad():
            for i in blocks:
                block = self.body[i]
                assert isinstance(block, LinearBlock) and block.narrow.bias is not None
                block.narrow.weight.zero_()
                block.narrow.bias.zero_()
                self.acts[i].weight.fill_(1.0)  # type: ignore[operator]

    def collapse(self) -> SRNet:
        """The plain-convolution network computing the same function (to float rounding)."""
        f = self.head_act.num_parameters
        net = SRNet(self.scale, _collapsed(self.head), [_collapsed(b) for b in self.body],
                    _collapsed(self.tail), f)
        net.head_act.load_state_dict(self.head_act.state_dict())
        net.acts.load_state_dict(self.acts.state_dict())
        return net.eval()


def _collapsed(block: nn.Module) -> nn.Conv2d:
    assert isinstance(block, LinearBlock), "a Collapsible is built of LinearBlocks"
    return block.collapse()


def macs_per_pixel(model: nn.Module) -> int:
    """Multiply-adds per low-resolution pixel of a stride-1 convolution network (PixelShuffle and
    activations are free at this resolution)."""
    return sum(
        m.weight.numel() if isinstance(m, nn.Conv2d) else 0 for m in model.modules()
    ) + (model.base.numel() if isinstance(model, SRNet) else 0)
