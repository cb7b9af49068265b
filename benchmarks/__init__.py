"""Measurements of the project, not part of it: one script per measurement, each run as
``python -m benchmarks.<name>`` with its own ``--help``. The library never imports this package."""
