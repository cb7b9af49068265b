"""ENOT as a solver on arrays: `fit(source, target, cost=..., bidirectional=...)`.

See `enot.lowdim.fit` for the method and `enot.lowdim.result` for what it returns.
"""

from enot.lowdim.config import FitConfig, paper_2d, paper_table4
from enot.lowdim.fit import fit
from enot.lowdim.result import TransportResult

__all__ = ["FitConfig", "TransportResult", "fit", "paper_2d", "paper_table4"]
