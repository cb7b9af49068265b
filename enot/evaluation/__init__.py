"""Judging maps: one judge per task (``judge.judge_for``: the split or the paired judge), FID
and KID (``split_fid`` on the formulas of ``metrics``) with cached reference statistics, and
the report of an export (``export_report``, behind ``scripts/evaluate.py``)."""
