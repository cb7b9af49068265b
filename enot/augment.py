"""Differentiable augmentation of the potential's inputs (DiffAugment, Zhao et al. 2020,
arXiv 2006.10738): translation and cutout, drawn per image.

g sees a randomly shifted, partly masked copy of both T(x) and y, so it cannot score a few
thousand training images by their exact pixels; T's gradient flows through the same shift and
mask. Colour is left alone: in style translation the colours are what g must judge.
"""

from __future__ import annotations

import torch
from torch import Tensor


def translate(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ``ratio`` of its side in each axis; edges are repeated."""
    n, _, h, w = x.shape
    dy = torch.randint(-int(h * ratio), int(h * ratio) + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-int(w * ratio), int(w * ratio) + 1, (n, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy).clamp(0, h - 1)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx).clamp(0, w - 1)
    flat = (rows * w + cols).view(n, 1, h * w).expand(-1, x.shape[1], -1)
    return x.flatten(2).gather(2, flat).view_as(x)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Set a square of ``ratio`` of the side, at a random place per image, to 0 (mid-gray)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio), int(w * ratio)
    top = torch.randint(0, h - ch + 1, (n, 1, 1), device=x.device)
    left = torch.randint(0, w - cw + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: Tensor) -> Tensor:
    """Translation, then cutout: the two DiffAugment policies that leave colour alone."""
    return cutout(translate(x))
