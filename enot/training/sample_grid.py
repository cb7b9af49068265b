"""The sample grid of a run: a fixed row of source test images above their translations."""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator
from torchvision.utils import save_image

from data import build_domain, to_unit
from enot.config import Config
from enot.training.artifacts import LATEST_SAMPLES

GRID_IMAGES = 8  # source test images in the grid's top row


class SampleGrid:
    def __init__(self, cfg: Config, accelerator: Accelerator, folder: Path):
        d = cfg.data
        source = build_domain(
            d.dataset, d.source, d.image_size, "test", seed=cfg.train.seed, background=d.background
        )
        n = min(GRID_IMAGES, len(source))
        self.x = torch.stack([source[i] for i in range(n)]).to(accelerator.device)
        self.accelerator, self.folder = accelerator, Path(folder)

    @torch.no_grad()
    def translate(self, model: torch.nn.Module) -> torch.Tensor:
        was_training = model.training
        model.eval()
        with self.accelerator.autocast():
            out = model(self.x).float()
        model.train(was_training)
        return out

    def save(self, model: torch.nn.Module, step: int) -> None:
        """``step_NNNNNNNN.png`` and ``latest.png``; main process only."""
        if not self.accelerator.is_main_process:
            return
        grid = to_unit(torch.cat([self.x, self.translate(model)]).cpu())
        for name in (f"step_{step:08d}.png", LATEST_SAMPLES):
            save_image(grid, self.folder / name, nrow=len(self.x), padding=1)
