"""A request to stop a run early, made by writing the file ``STOP`` into its run folder.

The demo's Stop button (or ``touch RUN/STOP`` in a shell) asks a running ``scripts/train.py`` to
end as ``--stop-at`` would at the step it has reached: checkpoint, no export, and ``--resume
latest`` continues it exactly. A file works the same under ``python`` and ``accelerate launch``:
the main process looks for it after every step and every process is told its answer, so all of
them checkpoint at the same step. The file is removed once it has been honoured.
"""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast

STOP_FILE = "STOP"


class StopRequest:
    def __init__(self, run_dir: Path, acc: Accelerator):
        self.path, self.acc = Path(run_dir) / STOP_FILE, acc

    def requested(self) -> bool:
        """Whether to stop after this step; the same answer on every process."""
        asked = self.acc.is_main_process and self.path.is_file()
        if self.acc.num_processes > 1:
            flag = torch.tensor([float(asked)], device=self.acc.device)
            asked = bool(broadcast(flag).item())
        if asked and self.acc.is_main_process:
            self.path.unlink(missing_ok=True)
        return asked
