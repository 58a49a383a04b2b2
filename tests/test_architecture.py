"""The package's shape: data flows up the floors of the paper's stages, with no circle.

Floors (README, "Package layout"): the ground modules, then face < gallery < synthesis <
datasets < augmentation < learning < run < experiments < bench and explorer < pipeline and
the command line. A module imports only its own floor or lower ones (imports inside functions
count too), modules import one another without a circle, and only ``affect/run.py`` turns a
profile's name into its sizes.
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "affect"

#: The floor of each top-level module or subpackage of ``affect``.
FLOORS = {
    **dict.fromkeys(
        ("vocabulary", "metrics", "paper", "profiles", "files", "image", "png", "reporting", "data_paths", "_compat"), 0
    ),
    "face": 1,
    "gallery": 2,
    "va_paths": 2,
    "synthesis": 3,
    "video": 3,
    "datasets": 4,
    "augmentation": 5,
    "learning": 6,
    "run": 7,
    "experiments": 8,
    "bench": 9,
    "explorer": 9,
    "pipeline": 10,
    "notebook_needs": 10,
    "cli": 10,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(facades: bool) -> dict[str, set[str]]:
    """Module -> the modules of ``affect`` it imports; with ``facades``, the packages'
    ``__init__`` modules too (as importers and as imported)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if _module_name(p) != "affect"}
    if not facades:
        modules = {name: path for name, path in modules.items() if path.name != "__init__.py"}
    graph = defaultdict(set)
    for name, path in modules.items():
        package = name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _floor(module: str) -> int:
    unit = module.split(".")[1]
    if unit not in FLOORS:
        pytest.fail(f"{module}: no floor; add affect.{unit} to FLOORS")
    return FLOORS[unit]


def test_no_module_imports_a_higher_floor():
    upward = sorted(
        f"{a} -> {b}" for a, targets in _imports(facades=True).items() for b in targets if _floor(a) < _floor(b)
    )
    assert upward == []


def test_the_modules_import_one_another_without_a_circle():
    graph = _imports(facades=False)
    state: dict[str, int] = {}
    circles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append(" -> ".join(trail[trail.index(target) :] + [target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_only_the_run_turns_a_profile_name_into_sizes():
    callers = sorted(
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if "profiles.get(" in path.read_text() or "from affect.profiles import get" in path.read_text()
    )
    assert callers == ["affect/run.py"]


def test_the_package_never_imports_unittest():
    assert [str(p) for p in PACKAGE.rglob("*.py") if "unittest" in p.read_text()] == []
