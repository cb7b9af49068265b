"""The classifier judge: how many translations a classifier reads as the target class. FID on a
few dozen images cannot tell a translation from none; a classifier of the task's classes, fitted
on its *training* split only (colored MNIST, Fashion-MNIST; the brightest channel, the digit's
own gray under its tint) can, and the identity scores only its error rate. Fitted classifiers
are cached under ``<cache>/classifiers/`` by a fingerprint of their data and this code."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor

import models.classifier as classifier_module
from data import to_unit
from data.atomic import atomic_file
from data.colored_mnist import labelled_digits
from data.errors import UserError
from data.fashion_mnist import CLASSES as FASHION_CLASSES
from data.fashion_mnist import labelled_train_file, parse_classes
from models import SmallClassifier

CLASSIFIER_SIZE = 32  # the classifier's input size; other sizes are resized to it
DRAWS = 64_000  # training images drawn (with augmentation) per fit
BATCH = 128
LR = 2e-3
SEED = 0


class JudgeError(UserError, ValueError):
    """The task has no classifier, or its classifier cannot be fitted."""


@dataclass(frozen=True)
class ClassTask:
    """Which classifier judges a task, and which of its classes count as the target."""

    name: str
    class_names: tuple[str, ...]
    source_classes: tuple[int, ...]
    target_classes: tuple[int, ...]
    load_train: Callable[[], tuple[Tensor, Tensor]]  # gray [N, 1, 32, 32] in [0, 1], labels

    def describe(self) -> str:
        names = "+".join(self.class_names[c] for c in self.target_classes)
        return f"{self.name} classifier, target class {names}"


def class_task(kind: str, source: str, target: str) -> ClassTask | None:
    """The classifier task of a (dataset kind, source spec, target spec); None if none exists."""
    if kind == "colored_mnist":
        digits = tuple(str(d) for d in range(10))
        if source not in digits or target not in digits:
            raise JudgeError(f"colored_mnist domains are digits 0..9, got {source!r} -> {target!r}")
        return ClassTask(
            "mnist_digits",
            digits,
            (int(source),),
            (int(target),),
            lambda: labelled_digits("train", CLASSIFIER_SIZE),
        )
    if kind == "fashion_mnist":
        _, _, folder = target.partition("@")
        return ClassTask(
            "fashion_mnist",
            FASHION_CLASSES,
            parse_classes(source.partition("@")[0]),
            parse_classes(target.partition("@")[0]),
            lambda: labelled_train_file(folder or None, CLASSIFIER_SIZE),
        )
    return None


def to_gray(images: Tensor) -> Tensor:
    """[B, 3, S, S] in [-1, 1] -> the classifier's [B, 1, 32, 32] in [0, 1] (brightest channel)."""
    gray = to_unit(images.float()).amax(dim=1, keepdim=True)
    if gray.shape[-1] != CLASSIFIER_SIZE or gray.shape[-2] != CLASSIFIER_SIZE:
        gray = F.interpolate(
            gray,
            size=(CLASSIFIER_SIZE, CLASSIFIER_SIZE),
            mode="bilinear",
            align_corners=False,
            antialias=True,
        ).clamp(0, 1)
    return gray


class DomainClassifier:
    """A fitted classifier and the target classes of its task."""

    def __init__(self, net: SmallClassifier, task: ClassTask, val_accuracy: float, path: Path):
        self.net, self.task = net.eval(), task
        self.val_accuracy, self.path = val_accuracy, path
        self._target = torch.tensor(task.target_classes)

    @torch.inference_mode()
    def is_target(self, images: Tensor) -> Tensor:
        """[B, 3, S, S] model-space images -> [B] bool: read as one of the target classes."""
        return torch.isin(self.net(to_gray(images.cpu())).argmax(dim=1), self._target)


def _augment(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random affine per image: rotation +-12 deg, scale 0.9-1.1, shift +-2 px at 32 px."""
    b = x.shape[0]
    u = torch.rand(b, 4, generator=gen) * 2 - 1
    angle, scale, shift = (
        u[:, 0] * math.radians(12),
        1 + 0.1 * u[:, 1],
        u[:, 2:] * (4 / CLASSIFIER_SIZE),
    )
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def fit_classifier(
    images: Tensor, labels: Tensor, num_classes: int, log: Callable[[str], None] = print
) -> tuple[SmallClassifier, float]:
    """Fit on 9 of every 10 images, report accuracy on the tenth; all from the train split."""
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    val = torch.arange(len(images)) % 10 == 9
    x, y = images[~val], labels[~val]
    net = SmallClassifier(num_classes)
    steps = DRAWS // BATCH
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    net.train()
    for _ in range(steps):
        idx = torch.randint(len(x), (BATCH,), generator=gen)
        loss = F.cross_entropy(net(_augment(x[idx], gen)), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    with torch.inference_mode():
        correct = sum(
            (net(images[val][i : i + 512]).argmax(1) == labels[val][i : i + 512]).sum()
            for i in range(0, int(val.sum()), 512)
        )
    accuracy = float(correct) / int(val.sum())
    log(
        f"fitted the classifier on {len(x)} training images: {accuracy:.1%} on {int(val.sum())} "
        f"held-out training images"
    )
    return net, accuracy


def _fingerprint(images: Tensor, labels: Tensor) -> str:
    h = hashlib.sha256()
    for code in (__file__, classifier_module.__file__):
        h.update(Path(code).read_bytes())
    h.update(json.dumps([CLASSIFIER_SIZE, DRAWS, BATCH, LR, SEED, list(images.shape)]).encode())
    h.update(images.contiguous().numpy().tobytes())
    h.update(labels.contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def load_classifier(task: ClassTask, log: Callable[[str], None] = print) -> DomainClassifier:
    """The task's classifier from the cache, fitted and cached first if absent."""
    from enot.evaluation.stats_cache import cache_root  # the project's one cache folder

    images, labels = task.load_train()
    folder = cache_root() / "classifiers"
    path = folder / f"{task.name}-{_fingerprint(images, labels)}.safetensors"
    num_classes = len(task.class_names)
    net = SmallClassifier(num_classes)
    if path.is_file():
        try:
            net.load_state_dict(load_file(path))
            meta = json.loads((path.with_suffix(".json")).read_text())
            return DomainClassifier(net, task, float(meta["val_accuracy"]), path)
        except (OSError, RuntimeError, ValueError, KeyError) as err:
            log(f"cached classifier {path} is unreadable ({err}); fitting it again")
    log(f"fitting the {task.name} classifier (once; cached in {folder})")
    net, accuracy = fit_classifier(images, labels, num_classes, log)
    with atomic_file(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps({"val_accuracy": accuracy, "train_images": len(images)}) + "\n")
    with atomic_file(path) as tmp:  # the weights land last, so a present file has its metadata
        save_file(net.state_dict(), str(tmp))
    return DomainClassifier(net, task, accuracy, path)
