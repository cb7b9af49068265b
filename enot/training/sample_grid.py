"""The sample grid of a run: source test images, their translations and, where known, the truth.

The images are spread evenly over the source test split, not taken from its start: splits in
sorted-name order begin with runs of similar items (for emoji, all keycaps and flags), which
would hide what the task asks. Where the task has true pairs (``paired_folder``: the two
folders' files correspond by name), a third row shows the target image of the same name, so
a glance tells whether T(x) is the right answer and not merely in the target style.
"""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator
from torchvision.utils import save_image

from data import DatasetError, build_domain, paired_by_name, spread_indices, to_unit
from enot.config import Config
from enot.training.artifacts import LATEST_SAMPLES

GRID_IMAGES = 16  # source test images per row, at most


def _names(dataset, spec: str) -> list[str]:
    names = getattr(dataset, "names", None)
    if names is None:
        raise DatasetError(f"{spec}: a paired domain must be a folder whose files have names")
    return list(names)


class SampleGrid:
    """The grid written every ``--sample-every`` steps: source row, T(x) row, truth row if any.

    Built once per run from the test splits, which training never sees, so the grid shows the
    map on held-out images. ``x`` holds the chosen source images on the accelerator's device,
    ``names`` their names where the domain has them, and ``truth`` the target images of the
    same names (on the CPU) for a paired task, else None.
    """

    def __init__(self, cfg: Config, accelerator: Accelerator, folder: Path):
        d = cfg.data

        def test_split(spec: str):
            return build_domain(
                d.dataset, spec, d.image_size, "test", seed=cfg.train.seed, background=d.background
            )

        source = test_split(d.source)
        picked = spread_indices(len(source), GRID_IMAGES)
        self.x = torch.stack([source[i] for i in picked]).to(accelerator.device)
        self.names: list[str] | None = None
        self.truth: torch.Tensor | None = None
        if paired_by_name(d.dataset, d.source, d.target):
            # The by-name split puts each name on the same side in both folders; the target
            # test split is looked up by name, and a name it lacks means the folders differ.
            self.names = [_names(source, d.source)[i] for i in picked]
            target = test_split(d.target)
            where = {name: i for i, name in enumerate(_names(target, d.target))}
            missing = [name for name in self.names if name not in where]
            if missing:
                raise DatasetError(
                    f"paired_folder needs files that correspond by name: {d.target} has no test "
                    f"image named {', '.join(missing[:5])} (from {d.source})"
                )
            self.truth = torch.stack([target[where[name]] for name in self.names])
        self.accelerator, self.folder = accelerator, Path(folder)

    @torch.no_grad()
    def translate(self, model: torch.nn.Module) -> torch.Tensor:
        """T(x) of the grid's source images, in eval mode; the model's mode is restored."""
        was_training = model.training
        model.eval()
        with self.accelerator.autocast():
            out = model(self.x).float()
        model.train(was_training)
        return out

    def rows(self, model: torch.nn.Module) -> torch.Tensor:
        """The grid's images in [0, 1] on the CPU, row after row: x, T(x), then the truth."""
        rows = [self.x.cpu(), self.translate(model).cpu()]
        if self.truth is not None:
            rows.append(self.truth)
        return to_unit(torch.cat(rows))

    def save(self, model: torch.nn.Module, step: int) -> None:
        """``step_NNNNNNNN.png`` and ``latest.png``, one image per column; main process only."""
        if not self.accelerator.is_main_process:
            return
        grid = self.rows(model)
        for name in (f"step_{step:08d}.png", LATEST_SAMPLES):
            save_image(grid, self.folder / name, nrow=len(self.x), padding=1)
