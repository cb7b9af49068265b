"""benchmarks.time_to_quality's report: its table and verdict must follow from the curves."""

from __future__ import annotations

from benchmarks.time_to_quality import QualityCurve, report

IDENTITY = {
    "style_rate": 0.13,
    "style_rate_ceiling": 0.9,
    "style_rate_identity": 0.13,
    "content_ratio": 0.77,
    "fid": 92.7,
    "identity_fid": 92.7,
}


def _curve(method: str, judged: list[tuple[float, float, float]]) -> QualityCurve:
    """(seconds, style rate, content ratio) per judgement after the untrained map's."""
    c = QualityCurve(
        method,
        t_iters=1 if method == "enot" else 10,
        lr_scale=1.0,
        guard=0.75,
        rate="style_rate",
        seconds=[0.0],
        iterations=[0],
        metrics=[IDENTITY],
    )
    for i, (s, rate, content) in enumerate(judged, start=1):
        c.seconds.append(s)
        c.iterations.append(100 * i)
        c.metrics.append(
            {**IDENTITY, "style_rate": rate, "content_ratio": content, "fid": 90.0 - i}
        )
    return c


def test_no_map_within_the_guard_is_said_so_not_raced_to():
    curves = [_curve("enot", [(100, 0.12, 0.79)]), _curve("not", [(100, 0.11, 0.80)])]
    lines = report(curves, [])
    text = "\n".join(lines)
    assert "No judgement of either method passed the content guard" in text
    assert "reaches NOT" not in text and "inf" not in text
    assert [line.split()[:6] for line in lines if line.startswith("full")] == [
        ["full", "ENOT", "1", "100", "100", "none"],
        ["full", "NOT", "1", "100", "1000", "none"],
    ]
    assert not any(line.startswith("search") for line in lines)  # nothing was searched


def test_a_guarded_rate_gives_the_time_to_reach_it():
    enot = _curve("enot", [(50, 0.5, 0.6), (100, 0.8, 0.6)])
    not_ = _curve("not", [(50, 0.3, 0.6), (100, 0.5, 0.6)])
    text = "\n".join(report([enot, not_], []))
    assert "ENOT 0.80 at 100 s, NOT 0.50 at 100 s" in text
    assert "ENOT reaches NOT's best rate at 50 s: 2.00x NOT's time to it." in text


def test_the_search_runs_come_first_with_their_rate_at_the_end():
    searched = [_curve("enot", [(50, 0.4, 0.6)]), _curve("enot", [(50, 0.7, 0.9)])]
    searched[1].lr_scale = 3.0
    full = [_curve("enot", [(100, 0.8, 0.6)]), _curve("not", [(100, 0.5, 0.6)])]
    rows = [line.split() for line in report(full, searched)[2:6]]
    assert [r[:3] for r in rows] == [
        ["search", "ENOT", "1"],
        ["search", "ENOT", "3"],
        ["full", "ENOT", "1"],
        ["full", "NOT", "1"],
    ]
    # best: guarded (content 0.9 > 0.75 gives none); final: the rate and content at the end.
    assert [(r[5], r[8], r[9]) for r in rows[:2]] == [
        ("0.40", "0.40", "0.600"),
        ("none", "0.70", "0.900"),
    ]
