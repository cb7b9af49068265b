"""The potential's DiffAugment views: what each policy does to pixels, and that T's gradient
passes through them."""

import torch

from enot.augment import cutout, diff_augment, translate


def test_translation_shifts_content_and_repeats_the_edge():
    x = torch.arange(64.0).view(1, 1, 8, 8).repeat(200, 1, 1, 1)
    out = translate(x, ratio=0.25)
    for img in out[:, 0]:
        # Each output is the input read at (row + dy, col + dx), clamped to the border.
        dy = int(img[4, 4].item()) // 8 - 4
        dx = int(img[4, 4].item()) % 8 - 4
        assert -2 <= dy <= 2 and -2 <= dx <= 2
        rows = (torch.arange(8) + dy).clamp(0, 7)
        cols = (torch.arange(8) + dx).clamp(0, 7)
        assert torch.equal(img, x[0, 0][rows][:, cols])
    shifts = {(int(v) // 8, int(v) % 8) for v in out[:, 0, 4, 4]}
    assert len(shifts) > 10  # drawn per image


def test_cutout_masks_one_square_of_half_the_side_per_image():
    x = torch.ones(50, 3, 16, 16)
    out = cutout(x)
    zeros = (out == 0).all(dim=1)  # the same mask on every channel
    assert torch.equal(zeros.sum(dim=(1, 2)), torch.full((50,), 64))
    assert len({tuple(z.nonzero()[0].tolist()) for z in zeros}) > 5


def test_gradient_flows_through_the_views():
    x = torch.randn(4, 3, 8, 8, requires_grad=True)
    diff_augment(x).square().sum().backward()
    assert x.grad.abs().sum() > 0
