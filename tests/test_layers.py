"""The package's layers: no module imports from a higher layer, none exceeds 450 lines.

Data flows one way (README, "Package map"):

    model < design < search < {calibration, fleet} < plots < cli

calibration sits above search because the benchmark picks each measured point's
operating point (search.operating_points, search.mapping_choice). Packages of one layer
(calibration, fleet) do not import each other. explorer/__init__.py re-exports the
public API from model and design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "explorer"
LAYERS = {
    "model": 0,
    "design": 1,
    "search": 2,
    "calibration": 3,
    "fleet": 3,
    "plots": 4,
    "cli": 5,
}
MAX_LINES = 450
MODULES = sorted(PACKAGE.rglob("*.py"))


def _package(dotted: str) -> str | None:
    """The subpackage of an ``explorer.*`` module name (None for ``explorer`` itself)."""
    parts = dotted.split(".")
    return parts[1] if parts[0] == "explorer" and len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import of explorer in the file, local ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: use absolute imports"
            if node.module == "explorer":  # from explorer import model, ...
                found += [(node.lineno, f"explorer.{a.name}") for a in node.names]
            elif node.module:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "explorer"]


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def test_every_subpackage_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(LAYERS)
    flat = {p.name for p in PACKAGE.glob("*.py")}
    assert flat == {"__init__.py"}, "modules live in subpackages"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_imports_go_down(path: Path):
    own = path.relative_to(PACKAGE).parts[0]
    if own == "__init__.py":
        return  # the public API may re-export any layer
    wrong = []
    for line, name in _imports(path):
        other = _package(name)
        if other is None or other == own:
            continue
        if other not in LAYERS:
            wrong.append(f"line {line}: {name} is in no layer")
        elif LAYERS[other] >= LAYERS[own]:
            wrong.append(f"line {line}: {own} (layer {LAYERS[own]}) imports {name}")
    assert not wrong, f"{_rel(path)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_module_size(path: Path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{_rel(path)}: {lines} lines (at most {MAX_LINES})"
