"""clean-fid's own feature extractor built from our verified weights, for cross-checks only.

``cleanfid.inception_torchscript.InceptionV3W(folder, download=False)`` loads
``folder/inception-2015-12-05.pt`` and uses its ``.layers``. default_1.pt cannot be linked there
as is: its top module has ``.net.layers``, not ``.layers``. Saving its ``net`` submodule (the
same tensors, bit for bit) under clean-fid's file name gives clean-fid what it expects, and
clean-fid's unmodified code path then runs on it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from enot.evaluation.metrics.weights import locate_inception_weights

CLEANFID_FILENAME = "inception-2015-12-05.pt"


def cleanfid_extractor(folder: str | os.PathLike, weights: str | os.PathLike | None = None):
    """clean-fid's ``InceptionV3W`` (clean mode), with ``folder`` holding its weights file."""
    from cleanfid.inception_torchscript import InceptionV3W

    target = Path(folder) / CLEANFID_FILENAME
    if not target.is_file():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.* deprecation notices
            module = torch.jit.load(str(locate_inception_weights(weights)), map_location="cpu")
            target.parent.mkdir(parents=True, exist_ok=True)
            torch.jit.save(module.net, str(target))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return InceptionV3W(str(folder), download=False, resize_inside=False).eval()
