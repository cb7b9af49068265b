"""The paired judge on real PNG folders and the real Inception network: the style classifier
sees train images only, the identity cannot win, the true answer does, a map that loses its
input is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

from data.split import in_test_by_name
from enot.evaluation.held_out import EvalData, EvaluationError
from enot.evaluation.judge import judge_type
from enot.evaluation.map_judge import best_score
from enot.evaluation.paired_judge import PairedJudge, derangement, nearest_is_own
from enot.evaluation.split_judge import SplitJudge

SIZE = 32


def _names(n_test: int = 5, n_train: int = 40) -> list[str]:
    test, train, i = [], [], 0
    while len(test) < n_test or len(train) < n_train:
        name = f"e{i:04d}"
        (test if in_test_by_name(name) else train).append(name)
        i += 1
    return sorted(test[:n_test] + train[:n_train])


def _draw(name: str, textured: bool) -> Image.Image:
    """One 'emoji': a coloured disc or square of its own place and size; the source style is
    shaded with noise, the target style flat."""
    rng = np.random.default_rng(int(name[1:]))
    colour = tuple(int(c) for c in rng.integers(40, 220, 3))
    img = Image.new("RGB", (SIZE, SIZE), "white")
    draw = ImageDraw.Draw(img)
    lo, hi = rng.integers(2, 10), rng.integers(20, 30)
    box = (int(lo), int(lo), int(hi), int(hi))
    (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    if not textured:
        return img
    px = np.asarray(img).astype(np.int16)
    shade = np.linspace(-60, 60, SIZE)[None, :, None] + rng.normal(0, 25, (SIZE, SIZE, 1))
    inside = (px != 255).any(axis=2, keepdims=True)
    return Image.fromarray(np.where(inside, px + shade, px).clip(0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("paired")
    for side, textured in (("noto", True), ("twemoji", False)):
        (root / side).mkdir()
        for name in _names():
            _draw(name, textured).save(root / side / f"{name}.png")
    return root


@pytest.fixture(scope="module")
def judge(task, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("ENOT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    data = EvalData("paired_folder", str(task / "noto"), str(task / "twemoji"), SIZE)
    yield PairedJudge(data, fit_images=30, log=lambda _: None)
    mp.undo()


class Identity(nn.Module):
    def forward(self, x):
        return x


class Truth(nn.Module):
    """Returns each test image's true counterpart: the answer the judge must rank first."""

    def __init__(self, judge: PairedJudge):
        super().__init__()
        self.x = torch.stack([judge.source[i] for i in range(len(judge.source))])
        self.y = judge.y

    def forward(self, x):
        match = (x[:, None] - self.x[None]).abs().flatten(2).amax(2).argmin(1)
        return self.y[match]


class Constant(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)  # mid-gray: keeps nothing of x


def test_the_style_classifier_never_sees_a_test_image(judge):
    assert judge.fit_names and not judge.fit_names & set(judge.names)
    assert all(in_test_by_name(n) for n in judge.names)
    assert not any(in_test_by_name(n) for n in judge.fit_names)


def test_identity_reads_as_source_and_real_targets_as_target(judge):
    report = judge(Identity())
    assert report.style_rate == report.style_rate_identity <= 0.2
    assert report.style_rate_ceiling >= 0.8
    assert report.mse_truth == pytest.approx(report.mse_truth_identity)


def test_the_true_answer_beats_the_identity_and_a_lost_input_is_refused(judge):
    truth, same, lost = judge(Truth(judge)), judge(Identity()), judge(Constant())
    assert truth.mse_truth < 1e-6 < same.mse_truth
    assert truth.feat_truth < same.feat_truth and truth.retrieval == 1.0
    assert truth.style_rate == truth.style_rate_ceiling
    guard = 0.75
    score = {
        name: best_score("style_rate", r.metrics(), guard)
        for name, r in (("truth", truth), ("identity", same), ("lost", lost))
    }
    assert score["truth"] > score["identity"]
    assert lost.content_ratio() > guard and score["lost"] == float("-inf")


def test_folders_that_do_not_correspond_are_refused(task, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    missing = next(n for n in _names() if in_test_by_name(n))
    for name in _names():
        if name != missing:  # one test emoji lacks its counterpart
            _draw(name, False).save(other / f"{name}.png")
    data = EvalData("paired_folder", str(task / "noto"), str(other), SIZE)
    with pytest.raises(EvaluationError, match="files correspond by name"):
        PairedJudge(data, fit_images=30, log=lambda _: None)


def test_random_pairs_and_retrieval_helpers():
    perm = derangement(7)
    assert sorted(perm) == list(range(7)) and all(perm != np.arange(7))
    g = np.eye(4, dtype=np.float32)
    assert nearest_is_own(g, g) == 1.0 and nearest_is_own(g, g[::-1].copy()) == 0.0


def test_judge_for_picks_the_paired_judge_only_for_the_whole_test_split(task):
    data = EvalData("paired_folder", str(task / "noto"), str(task / "twemoji"), SIZE)
    assert judge_type(data) is PairedJudge
    assert judge_type(data, "test", max_images=3) is SplitJudge
    assert judge_type(data, "train") is SplitJudge
    assert judge_type(EvalData("folder", data.source, data.target, SIZE)) is SplitJudge


def test_a_logged_report_is_read_back_whole(judge):
    report = judge(Identity())
    logged = {**report.metrics(), "best_by": "style_rate"}
    assert logged["identity_fid"] == report.identity_fid and "fid_identity" not in logged
    again = PairedJudge.known_report(logged)
    assert again == report and again.lines() == report.lines()
