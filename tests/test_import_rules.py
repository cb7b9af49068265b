"""The layering README's Layout section states, read from every module's imports (ast, no import).

models/ and data/ know nothing of OT; dataset_tools/ (which builds datasets on disk) builds on
data/, never the reverse, and imports nothing of enot; the config imports nothing of the method,
training or evaluation (only the data kinds' names); the method (enot/*.py, enot/lowdim) imports
no config, training, evaluation, script or app; the export (enot/export) imports no training or
evaluation; training imports no evaluation (the loop is handed a callback); the app imports no
scripts; the import graph, of modules and of packages, has no cycle; and no module imports
another module's private name.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("enot", "models", "data", "dataset_tools", "app", "benchmarks", "scripts")
LOOP = "enot/training/loop.py"  # the training loop


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, imported names) of every import statement, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = (
        _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    )
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
    # The rules below are only as good as the reader: it must find the loop's imports.
    found = {m for m, _ in _imports(ROOT / LOOP)}
    assert {"enot.training.updates", "enot.training.checkpoints", "accelerate.utils"} <= found
    assert _violations([ROOT / LOOP], ("enot.training.updates",))
    # ...function-level imports included, and `from package import module` read as the module.
    graph = _module_graph()
    assert "enot.lowdim" in graph["enot"]
    assert "enot.evaluation.training_run" in graph["scripts.train"]


@pytest.mark.parametrize(
    "folders, forbidden",
    [
        (("models", "data"), ("enot", "dataset_tools", "app", "scripts", "benchmarks")),
        (("dataset_tools",), ("enot", "app", "scripts", "benchmarks")),
        (("app",), ("scripts", "benchmarks")),
        (("enot/export",), ("enot.training", "enot.evaluation", "app", "scripts", "benchmarks")),
        (
            ("enot/training",),
            ("enot.evaluation", "enot.config.cli", "app", "scripts", "benchmarks"),
        ),
        (("enot/evaluation",), ("app", "scripts", "benchmarks")),
        (("scripts",), ("benchmarks",)),
    ],
    ids=["models-data", "dataset_tools", "app", "export", "training", "evaluation", "scripts"],
)
def test_layers_import_only_downwards(folders, forbidden):
    assert _violations(_sources(*folders), forbidden) == []


def test_benchmarks_take_from_the_loop_only_the_loop_itself():
    # A benchmark runs the methods' iterations through enot.training.updates, never a copy.
    found = {}
    for path in _sources("benchmarks"):
        for module, names in _imports(path):
            if module == "enot.training.loop":
                found[str(path.relative_to(ROOT))] = set(names)
    assert found and all(names <= {"train"} for names in found.values()), found


def test_the_method_imports_no_machinery():
    files = _method_files()
    assert ROOT / "enot/losses.py" in files and ROOT / "enot/lowdim/solver.py" in files
    forbidden = ("enot.config", "enot.training", "enot.evaluation", "app", "scripts", "benchmarks")
    assert _violations(files, forbidden) == []


def test_config_imports_nothing_of_the_method_training_or_evaluation():
    files = _sources("enot/config")
    assert ROOT / "enot/config/cli.py" in files  # the command line too: no exemption
    others = sorted({_module_name(p) for p in _sources("enot")} - {"enot"})
    forbidden = tuple(m for m in others if not m.startswith("enot.config")) + (
        "enot",
        "models",
        "app",
        "scripts",
        "benchmarks",
    )
    bad = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files
        for module, names in _imports(path)
        if any(module == f or module.startswith(f + ".") for f in forbidden)
        and not module.startswith("enot.config")
    ]
    assert bad == []


def _module_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports (anywhere in the file, TYPE_CHECKING
    too). ``from a import b`` is an edge to ``a.b`` where that is a module, else to ``a``."""
    modules = {_module_name(p): p for p in _sources(*PACKAGES)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for module, names in _imports(path):
            subs = {f"{module}.{n}" for n in names} & modules.keys()
            edges |= subs
            if module in modules and (not names or len(subs) < len(names)):
                edges.add(module)
        graph[name] = edges - {name}
    return graph


def _package(module: str) -> str:
    """enot's subpackages and its facade (enot/__init__.py) are nodes of their own; the method's
    modules (enot/*.py) are "enot.core"; every other top-level package is one node."""
    parts = module.split(".")
    if parts[0] != "enot":
        return parts[0]
    if len(parts) == 1:
        return "enot (facade)"
    return "enot." + parts[1] if (ROOT / "enot" / parts[1]).is_dir() else "enot.core"


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        return err.args[1]
    return []


def test_the_module_import_graph_is_a_dag():
    graph = _module_graph()
    assert {
        "enot.config.cli",
        "enot.not_step",
        "models",
        "data",
        "app",
        "scripts.train",
        "benchmarks.time_to_quality",
    } <= graph.keys()
    assert _cycle(graph) == []


def test_the_package_import_graph_is_a_dag():
    packages: dict[str, set[str]] = {}
    for module, edges in _module_graph().items():
        node = _package(module)
        packages.setdefault(node, set()).update(_package(e) for e in edges)
        packages[node].discard(node)
    assert {
        "enot.config",
        "enot.core",
        "enot.training",
        "enot.evaluation",
        "enot.lowdim",
        "enot.export",
        "models",
        "data",
        "dataset_tools",
        "app",
        "scripts",
        "benchmarks",
    } <= packages.keys()
    assert _cycle(packages) == []
    # The reader finds a cycle where there is one.
    assert _cycle({**packages, "enot.config": packages["enot.config"] | {"enot.training"}})


def test_no_module_imports_a_private_name_of_another():
    bad = []
    for path in _sources(*PACKAGES):
        for module, names in _imports(path):
            if module.split(".")[0] in PACKAGES:
                bad += [
                    f"{path.relative_to(ROOT)}: {name} from {module}"
                    for name in names
                    if name.startswith("_") and not name.startswith("__")
                ]
    assert bad == []


def test_the_export_card_reads_without_the_project():
    # Training writes the card; evaluation, the app and the exporter read it: it sits below all.
    imported = {module.split(".")[0] for module, _ in _imports(ROOT / "enot/export/card.py")}
    assert imported and not imported & set(PACKAGES)
