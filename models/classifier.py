"""A small convolutional classifier of gray images, for judging translations by class.

Three 3x3 conv blocks (16, 32, 64 channels by default, BatchNorm, ReLU, 2x2 max-pool after the
first two), global average pooling and a linear layer. It knows nothing of optimal transport.
"""

from __future__ import annotations

from torch import Tensor, nn


class SmallClassifier(nn.Module):
    """[B, 1, S, S] gray images in [0, 1] -> [B, num_classes] logits."""

    def __init__(self, num_classes: int = 10, width: int = 16):
        super().__init__()
        self.num_classes, self.width = num_classes, width

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]

        self.features = nn.Sequential(
            *block(1, width),
            nn.MaxPool2d(2),
            *block(width, 2 * width),
            nn.MaxPool2d(2),
            *block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(
                f"SmallClassifier expects [B, 1, H, W] gray images, got {tuple(x.shape)}"
            )
        return self.head(self.features(x))
