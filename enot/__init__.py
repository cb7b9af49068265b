"""ENOT: expectile-regularised neural optimal transport (arXiv 2403.03777).

`enot.fit` and `enot.TransportResult` (the solver on arrays, `enot.lowdim`) are loaded on first
use, so that importing the image path's modules does not import the low-dimensional solver.
"""

__all__ = ["TransportResult", "fit"]


def __getattr__(name: str):
    if name in __all__:
        from enot import lowdim

        return getattr(lowdim, name)
    raise AttributeError(f"module 'enot' has no attribute {name!r}")
