"""No module of baselines/ imports one above it, and no method file imports another method file.

The floors, bottom up: the text format; the plumbing every layer may use; tasks, tokenizers and
models; methods (their interface, then the engines, then the method files); what a run is made
of (splits, selection, suites, environment); the harness. A method or task added as one file
only ever imports from below, so it can be added, moved or removed alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "baselines"
FLOORS = {
    "format": 0,
    "data": 1, "registry": 1, "results": 1, "attention": 1, "ddp": 1, "checkpoint": 1, "batching": 1,
    "tasks": 2, "tokenizer": 2, "backbone": 2, "generation": 2, "models": 2, "compute": 2,
    "methods.base": 3, "methods.engines": 3.5, "methods": 4,
    "splits": 5, "selection": 5, "suites": 5, "environment": 5,
    "harness": 6,
}


def floor(module: str) -> float:
    """The floor of `baselines.<module>` (its longest listed prefix)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in FLOORS:
            return FLOORS[prefix]
    raise KeyError(module)


def modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            out.append(".".join(parts))
    return out


def imported(module: str) -> list[tuple[int, str]]:
    """(line, module under baselines) of every import in the module's file, lazy ones included."""
    path = PACKAGE.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("baselines"):
            names = [node.module] if node.module != "baselines" else [f"baselines.{a.name}" for a in node.names]
            out += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("baselines.")]
    return [(line, name.removeprefix("baselines.")) for line, name in out]


@pytest.mark.parametrize("module", modules())
def test_imports_only_from_below(module):
    try:
        own = floor(module)
    except KeyError:
        pytest.fail(f"baselines/{module}: not on a floor; add it to FLOORS in {Path(__file__).name}")
    for line, target in imported(module):
        if target == module or target.startswith(module + "."):
            continue  # a package's own modules
        assert floor(target) <= own, f"baselines/{module} line {line} imports baselines.{target}, a floor above it"


def test_method_files_import_no_other_method_file():
    files = [m for m in modules() if m.startswith("methods.") and floor(m) == FLOORS["methods"]]
    assert "methods.coconut" in files and "methods.codi" in files
    for module in files:
        for line, target in imported(module):
            assert target not in files, f"baselines/{module} line {line} imports the method file baselines.{target}"
