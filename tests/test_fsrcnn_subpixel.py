"""FSRCNN's strided deconvolution and its sub-pixel rewrite compute the same function."""

from __future__ import annotations

import pytest
import torch

from vidsr.models import FSRCNN, load_model
from vidsr.models.fsrcnn import to_subpixel
from vidsr.models.graph import inference_graph


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(7, 11), (16, 16), (13, 5)])
def test_subpixel_equals_deconv_random_weights(scale: int, size: tuple[int, int]) -> None:
    torch.manual_seed(scale)
    model = FSRCNN(scale, d=16, s=6, m=2).eval()
    torch.nn.init.normal_(model.tail.weight, std=0.1)  # the init's 0.001 would hide tap errors
    torch.nn.init.normal_(model.tail.bias, std=0.1)
    x = torch.rand(3, 1, *size)
    with torch.inference_mode():
        expected = model(x)
        for graph in (to_subpixel(model), inference_graph(model)):  # the backends run the latter
            actual = graph(x)
            assert actual.shape == expected.shape == (3, 1, scale * size[0], scale * size[1])
            assert (actual - expected).abs().max().item() < 1e-5


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_subpixel_equals_deconv_shipped_weights(scale: int) -> None:
    model = load_model("fsrcnn", scale)
    x = torch.rand(2, 1, 21, 17, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = model(x)
        for graph in (to_subpixel(model), inference_graph(model)):
            assert (graph(x) - expected).abs().max().item() < 1e-5
