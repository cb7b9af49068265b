"""The export's model card: README.md with YAML front matter, as the Hugging Face Hub reads it.

Written by ``huggingface_hub.ModelCard`` from the export's export card
(``enot.export.card.ExportCard``): what the map does, how it was trained (command, steps,
hardware, run time), how good it is (the training run's judgement of the test split, and the
metrics ``scripts/evaluate.py`` measured, each FID named with its protocol, as ``model-index``
results), a sample grid beside it, a three-line loading snippet and, once ``enot-export`` has
written T.onnx, a five-line onnxruntime snippet with the parity measured at export. The folder
is then a Hub model repository as it stands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from enot.config import Config
from enot.export.card import CARD_FILE, ExportCard

README = "README.md"
SAMPLES = "samples.png"
LIBRARY = "enot-i2i"
TAGS = ["image-to-image", "optimal-transport", "unpaired", "enot"]
# Hub dataset ids of the domains, where one is certain.
HUB_DATASETS = {
    "colored_mnist": ["ylecun/mnist"],
    "fashion_mnist": ["zalando-datasets/fashion_mnist"],
}


def _eval_results(card: ExportCard, evaluations: dict[str, dict[str, Any]]) -> list[EvalResult]:
    found, split = [], None
    if evaluations:
        for protocol, m in evaluations.items():
            found += [
                ("fid", m.get("fid"), f"FID ({protocol} protocol, {m.get('images')} images)"),
                ("kid", m.get("kid"), f"KID ({protocol} protocol)"),
            ]
        m = next(iter(evaluations.values()))
        found.append(("mse", m.get("mse"), "MSE(x, T(x)) per pixel in [-1, 1]"))
        judge = m.get("judge") or {}
        if judge.get("class_rate") is not None:
            found.append(("accuracy", judge["class_rate"], "target-class rate of T(x)"))
        split = m.get("split")
    elif card.test_split is not None:
        judged, split = card.test_split.metrics, card.test_split.split
        named = [
            ("accuracy", "class_rate", "target-class rate of T(x)"),
            ("accuracy", "style_rate", "style rate of T(x) (read as the target set)"),
            ("mse", "mse", "MSE(x, T(x)) per pixel in [-1, 1]"),
            ("mse", "mse_truth", "MSE(T(x), truth) per pixel in [-1, 1]"),
            ("fid", "fid", f"FID against the target {split} split"),
        ]
        found += [(kind, judged.get(key), name) for kind, key, name in named]
    where = f"{card.dataset} {card.source} -> {card.target}, {split} split"
    common = dict(task_type="image-to-image", dataset_type=card.dataset, dataset_name=where)
    return [
        EvalResult(**common, metric_type=t, metric_value=round(float(v), 6), metric_name=n)
        for t, v, n in found
        if v is not None
    ]


def _data_lines(card: ExportCard) -> list[str]:
    """The domains, where their images came from and under which licence."""
    credit = card.attribution
    if not any(credit.values()):
        return []
    lines = ["## Data", ""]
    for role in ("source", "target"):
        lines.append(
            f"- {role}: `{getattr(card, role)}`: {credit.get(role) or 'no licence file found'}"
        )
    return lines + ["", "Translations of these images carry the licences of their inputs.", ""]


def _evaluation_lines(card: ExportCard, evaluations: dict[str, dict[str, Any]] | None) -> list[str]:
    lines = []
    if card.test_split is not None:
        j = card.test_split
        lines += [
            f"Judged at the end of training by `{j.judge}` on the whole {j.split} split "
            f"({j.images} source images):",
            "",
        ]
        lines += [f"- {line}" for line in j.lines] + [""]
    if evaluations:
        m = next(iter(evaluations.values()))
        lines += [
            f"`scripts/evaluate.py` on the {m.get('split')} split, {m.get('images')} source "
            f"images. FID protocols: clean (clean-fid: T(x) as uint8, bicubic resize) and "
            f"paper (the NOT family's, which the ENOT paper's table follows: floats, "
            f"bilinear resize).",
            "",
            "| metric | value |",
            "| --- | ---: |",
        ]
        for protocol, e in evaluations.items():
            lines += [
                f"| FID, {protocol} protocol | {e['fid']:.2f} |",
                f"| FID of the identity map, {protocol} protocol | {e['identity_fid']:.2f} |",
                f"| KID, {protocol} protocol | {e['kid']:.5f} |",
            ]
        lines.append(f"| MSE(x, T(x)) | {m['mse']:.4f} |")
        judge = m.get("judge") or {}
        if judge.get("class_rate") is not None:
            lines.append(f"| target-class rate of T(x) | {judge['class_rate']:.1%} |")
    elif card.test_split is None:
        lines.append("Not evaluated yet: `python scripts/evaluate.py --model THIS_FOLDER`.")
    else:
        lines.append("FID and KID: `python scripts/evaluate.py --model THIS_FOLDER`.")
    return lines


def _onnx_lines(card: ExportCard) -> list[str]:
    """How to run T.onnx with onnxruntime alone, and how close it is to PyTorch."""
    if card.onnx is None:
        return []
    o, p = card.onnx, card.onnx.preprocessing
    return [
        "## ONNX",
        "",
        f"`{o.file}` ({o.bytes / 2**20:.1f} MiB, opset {o.opset}) is `{o.weights}` with its "
        f"BatchNorms folded, for onnxruntime (checked with {o.onnxruntime}). Its input "
        f"`{o.input_name}` is [batch, {card.channels}, {p['size']}, {p['size']}] float32 RGB: "
        f"{p['crop']}, {p['resize']} resize to {p['size']} px, transparency on "
        f"{p['background']}, then {p['normalisation']}. The output `{o.output_name}` has the "
        f"same shape and range.",
        "",
        "```python",
        "import numpy as np, onnxruntime as ort",
        "from PIL import Image, ImageOps",
        f'img = ImageOps.fit(Image.open("in.png").convert("RGB"), ({p["size"]}, '
        f"{p['size']}), Image.BILINEAR)",
        "x = (np.asarray(img, np.float32) / 127.5 - 1).transpose(2, 0, 1)[None]",
        f'tx = ort.InferenceSession("{o.file}").run(None, {{"{o.input_name}": x}})[0]'
        f"  # [1, 3, {p['size']}, {p['size']}] in [-1, 1]",
        "```",
        "",
        f"Parity at export: max |onnxruntime - PyTorch| = {o.parity['max_abs_diff']:.2e} on "
        f"{o.parity['images']} images ({o.parity['inputs']}); tolerance "
        f"{o.parity['tolerance']:.0e}. `enot-translate --backend onnx` and "
        f"`python -m app --backend onnx` run it with the training preprocessing.",
        "",
    ]


def render_card(
    card: ExportCard, evaluations: dict[str, dict[str, Any]] | None = None
) -> ModelCard:
    """``evaluations``: what scripts/evaluate.py measured, keyed by FID protocol."""
    cfg = Config.from_dict(card.config)
    name = f"ENOT {card.dataset} {card.source} -> {card.target} ({card.preset})"
    results = _eval_results(card, evaluations or {})
    data = ModelCardData(
        library_name=LIBRARY,
        pipeline_tag="image-to-image",
        tags=TAGS,
        license="mit",
        datasets=HUB_DATASETS.get(card.dataset),
        model_name=name,
        eval_results=results or None,
    )
    run = card.provenance
    precision = cfg.train.mixed_precision.replace("no", "fp32")
    lines = [
        f"# {name}",
        "",
        f"An unpaired image-to-image map T from `{card.source}` to `{card.target}` "
        f"({card.dataset}, {card.image_size} px), trained by neural optimal transport "
        f"with the method `{cfg.method.method}` (ENOT: Buzun, Bobrin, Dylov 2024, "
        f"arXiv 2403.03777), cost `{card.cost}`.",
        "",
        f"![T(x) on held-out source images]({SAMPLES})" if card.samples else "",
        "",
        "## Use",
        "",
        "```python",
        "from enot.export import load_export",
        'tr = load_export("PATH_OR_HUB_ID")  # a folder, or a Hub repo id',
        "tx = tr.T(x)  # x: [B, 3, S, S] in [-1, 1], as data.normalization.to_model makes it",
        "```",
        "",
        "Or from the shell: `enot-translate --model PATH_OR_HUB_ID --input images/ --output out/`.",
        "",
        *_onnx_lines(card),
        *_data_lines(card),
        "## Training",
        "",
        f"- steps: {card.step} of {cfg.train.steps}, batch {cfg.train.batch_size} per process",
        f"- command: `{run.get('command', 'unknown')}`",
        f"- hardware: {run.get('hardware', 'unknown')}, {run.get('num_processes', 1)} "
        f"process(es), precision {precision}",
        f"- run time: {run['seconds'] / 60:.1f} min" if "seconds" in run else "- run time: unknown",
        f"- the full configuration is in `{CARD_FILE}`",
        "",
        "## Evaluation",
        "",
        *_evaluation_lines(card, evaluations),
    ]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")


def write_card(
    folder: Path, card: ExportCard, evaluations: dict[str, dict[str, Any]] | None = None
) -> Path:
    path = Path(folder) / README
    render_card(card, evaluations).save(path)
    return path
