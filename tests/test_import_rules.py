"""The layering README's Layout section states, read from every module's imports (ast, no import).

models/ and data/ know nothing of OT; the method (enot/*.py, enot/lowdim) imports no training,
evaluation, command line, script or app; training imports no evaluation (the trainer is handed
a judge); the app imports no scripts; and no module imports another module's private name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("enot", "models", "data", "app", "benchmarks", "scripts")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, imported names) of every import statement, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" \
        else _module_name(path)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            out.append((module, [alias.name for alias in node.names]))
    return out


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _method_files() -> list[Path]:
    return sorted(ROOT.glob("enot/*.py")) + _sources("enot/lowdim")


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in files:
        for module, _ in _imports(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    return bad


def test_the_parser_sees_the_imports_it_judges():
    # The rules below are only as good as the reader: it must find the trainer's imports.
    found = {m for m, _ in _imports(ROOT / "enot/training/trainer.py")}
    assert {"enot.methods", "enot.training.checkpoints", "accelerate.utils"} <= found
    assert _violations([ROOT / "enot/training/trainer.py"], ("enot.methods",))


@pytest.mark.parametrize("folders, forbidden", [
    (("models", "data"), ("enot", "app", "scripts", "benchmarks")),
    (("app",), ("scripts", "benchmarks")),
    (("enot/training",), ("enot.evaluation", "enot.config.cli", "app", "scripts", "benchmarks")),
    (("enot/evaluation",), ("app", "scripts", "benchmarks")),
], ids=["models-data", "app", "training", "evaluation"])
def test_layers_import_only_downwards(folders, forbidden):
    assert _violations(_sources(*folders), forbidden) == []


def test_the_method_imports_no_machinery():
    files = _method_files()
    assert ROOT / "enot/losses.py" in files and ROOT / "enot/lowdim/fit.py" in files
    forbidden = ("enot.training", "enot.evaluation", "enot.config.cli", "app", "scripts",
                 "benchmarks")
    assert _violations(files, forbidden) == []


def test_config_data_imports_no_machinery():
    files = [ROOT / "enot/config/sections.py", ROOT / "enot/config/presets.py",
             ROOT / "enot/config/__init__.py"]
    assert _violations(files, ("enot.training", "enot.evaluation", "enot.config.cli")) == []


def test_no_module_imports_a_private_name_of_another():
    bad = []
    for path in _sources(*PACKAGES):
        for module, names in _imports(path):
            if module.split(".")[0] in PACKAGES:
                bad += [f"{path.relative_to(ROOT)}: {name} from {module}" for name in names
                        if name.startswith("_") and not name.startswith("__")]
    assert bad == []


def test_the_export_card_reads_without_the_project():
    # Training writes the card; evaluation, the app and the exporter read it: it sits below all.
    imported = {module.split(".")[0] for module, _ in _imports(ROOT / "enot/export_card.py")}
    assert imported and not imported & set(PACKAGES)
