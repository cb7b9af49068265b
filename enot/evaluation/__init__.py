"""Judging maps: FID/KID (``metrics``) with cached reference statistics, the target-class rate
of a task classifier, the split judge used during training, and the report of an export
(``export_report``, behind ``scripts/evaluate.py``)."""
