"""The fast tiers: training form and collapsed form compute one function; untrained is bicubic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vidsr.models import build
from vidsr.models.collapsible import Collapsible, LinearBlock, SRNet, macs_per_pixel
from vidsr.models.graph import inference_graph
from vidsr.resize import imresize


def _expanded(block: LinearBlock, x: torch.Tensor) -> torch.Tensor:
    """The block as it is written down, without collapsing: wide conv, 1×1 conv, + identity."""
    y = block.narrow(block.wide(x))
    return y + x if block.residual else y


def _expanded_forward(net: Collapsible, x: torch.Tensor) -> torch.Tensor:
    skip = net.head_act(_expanded(net.head, x))  # type: ignore[arg-type]
    h = skip
    for block, act in zip(net.body, net.acts, strict=True):
        h = act(_expanded(block, h))  # type: ignore[arg-type]
    base = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), net.base)  # type: ignore[arg-type]
    return F.pixel_shuffle(_expanded(net.tail, h + skip) + base, net.scale)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["tiny", "small"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_collapse_is_exact(name: str, scale: int) -> None:
    torch.manual_seed(scale)
    net = build(name, scale)
    for p in net.parameters():  # every branch non-trivial, the zero-initialised tail included
        nn.init.normal_(p, std=0.05)
    x = torch.rand(2, 1, 23, 19)
    graph = inference_graph(net)
    with torch.no_grad():
        plain, long_way = graph(x), _expanded_forward(net, x)  # type: ignore[arg-type]
    assert plain.shape == (2, 1, 23 * scale, 19 * scale)
    assert (plain - long_way).abs().max() < 1e-5
    assert isinstance(graph, SRNet) and not isinstance(graph, Collapsible)
    kinds = {type(m) for m in graph.modules()} - {SRNet, nn.ModuleList}
    assert kinds == {nn.Conv2d, nn.PReLU}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_an_untrained_model_is_bicubic_in_the_interior(scale: int) -> None:
    lr = np.random.default_rng(0).random((30, 26))
    with torch.no_grad():
        out = build("small", scale)(torch.from_numpy(lr).float()[None, None])[0, 0].numpy()
    expected = imresize(lr, scale)
    m = 3 * scale  # MATLAB mirrors at the border, the base replicates: compare the interior
    assert np.abs(out - expected)[m:-m, m:-m].max() < 1e-5
    assert np.abs(out - expected).max() > 1e-3  # and the border really differs: the test can fail


def test_tiers_stay_within_their_budgets() -> None:
    # Multiply-adds per LR pixel at x2 (the tiers): tiny ≤ 3 k, small ≤ 7 k.
    assert macs_per_pixel(inference_graph(build("tiny", 2))) <= 3_000
    assert macs_per_pixel(inference_graph(build("small", 2))) <= 7_000
    assert macs_per_pixel(inference_graph(build("espcn", 2))) > 20_000
