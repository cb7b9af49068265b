"""app.fast_map: BatchNorm folded into convolutions gives the eager model's outputs (1e-4)."""

import pytest
import torch
from app_fixtures import randomise_batchnorm
from torch import nn

from app.fast_map import FastMap, fold_batchnorm
from models import UNet


@pytest.mark.parametrize("base, size", [(4, 32), (48, 128)])  # tiny, and the paper's 128 px
def test_fast_map_equals_eager_unet(base, size):
    torch.manual_seed(0)
    T = UNet(3, 3, base)
    randomise_batchnorm(T)
    T.eval()
    x = torch.rand(2, 3, size, size) * 2 - 1
    with torch.inference_mode():
        expected = T(x)
    got = FastMap(T)(x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() <= 1e-4


def test_folding_removes_every_batchnorm_and_leaves_the_original_alone():
    T = UNet(3, 3, 4)
    folded = fold_batchnorm(T)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in T.modules()) == 18
    T.train()
    assert not folded.training


def test_fast_map_needs_a_batch():
    with pytest.raises(ValueError, match=r"expects a batch \[B, C, H, W\], got shape \(3, 32"):
        FastMap(UNet(3, 3, 4))(torch.zeros(3, 32, 32))
