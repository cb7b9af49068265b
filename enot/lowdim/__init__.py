"""ENOT as a solver on arrays: `fit(source, target, cost=..., bidirectional=...)`.

See `enot.lowdim.solver` for the method and `enot.lowdim.result` for what it returns.
"""

from enot.lowdim.config import FitConfig, paper_2d, paper_table4
from enot.lowdim.result import TransportResult
from enot.lowdim.solver import fit

__all__ = ["FitConfig", "TransportResult", "fit", "paper_2d", "paper_table4"]
