"""Run configuration: dataclass sections (``sections``), named presets (``presets``) and the
command line (``cli``, imported on its own: it is the boundary, the rest is data)."""

from enot.config.presets import DATA_ROOT, PRESETS, get_preset
from enot.config.sections import (
    AE_COST_NAMES,
    BEST_BY,
    COST_NAMES,
    METHODS,
    Config,
    ConfigError,
    DataConfig,
    ENOTConfig,
    GNetConfig,
    MethodConfig,
    OptimConfig,
    TNetConfig,
    TrainConfig,
    load_config,
    save_config,
)

__all__ = [
    "AE_COST_NAMES",
    "BEST_BY",
    "COST_NAMES",
    "DATA_ROOT",
    "METHODS",
    "PRESETS",
    "Config",
    "ConfigError",
    "DataConfig",
    "ENOTConfig",
    "GNetConfig",
    "MethodConfig",
    "OptimConfig",
    "TNetConfig",
    "TrainConfig",
    "get_preset",
    "load_config",
    "save_config",
]
