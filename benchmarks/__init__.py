"""Measurements of the project, not part of it: ENOT against NOT (time per outer iteration and
time to quality), FID feature-extraction throughput, and clean-fid as a reference.
`scripts/benchmark.py` runs them; the library never imports this package."""
