"""The inference export: T (and its EMA, and g) as safetensors + config.json, plus a export card.

Written by training, read by evaluation, the demo, ``enot-translate`` and ``enot-export``; it
imports nothing of training or evaluation, so each of them may load an export.

Layout of an export folder:
    translator.json      export card (enot.export.card.ExportCard): preset, image size, cost,
                         domains, steps, full config, test-split figures, the ONNX file's facts
    T/                   the map, `save_pretrained` format (config.json + safetensors)
    T_ema/               the EMA of the map, when trained with --ema-decay > 0
    g/                   the potential
    README.md            the model card (enot.export.model_card), with YAML front matter
    samples.png          the last sample grid of training, when there is one
    evaluation.json      what scripts/evaluate.py measured on the export's own data, if run
    T.onnx               the map for onnxruntime, when ``enot-export --format onnx`` made it
"""

from enot.export.loading import HUB_ID, ExportError, LoadedExport, load_export, resolve_export
from enot.export.writing import record_test_split, rewrite_card, update_card, write_export

__all__ = [
    "HUB_ID",
    "ExportError",
    "LoadedExport",
    "load_export",
    "record_test_split",
    "resolve_export",
    "rewrite_card",
    "update_card",
    "write_export",
]
