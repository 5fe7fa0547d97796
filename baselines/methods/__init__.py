"""The method registry: every module in this folder (except base) holds one method, named by its
file; a module may also register variants (subclasses with their own `name`, e.g. ablations).

Nothing is imported until a method is asked for: `available_modules()` only lists file names,
`get_method(name)` imports the one module it needs (or all of them for a variant's name).
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from baselines.methods.base import Method

_HERE = Path(__file__).resolve().parent
_NOT_METHODS = {"__init__", "base"}


def available_modules() -> list[str]:
    """Method module names (file names), sorted."""
    return sorted(p.stem for p in _HERE.glob("*.py") if p.stem not in _NOT_METHODS and not p.stem.startswith("_"))


def methods_in(module_name: str) -> dict[str, type[Method]]:
    """The Method subclasses that module `module_name` defines, by their `name`."""
    module = importlib.import_module(f"baselines.methods.{module_name}")
    found = {}
    for obj in vars(module).values():
        if (inspect.isclass(obj) and issubclass(obj, Method) and not inspect.isabstract(obj)
                and obj.__module__ == module.__name__ and "name" in vars(obj)):
            found[obj.name] = obj
    if module_name not in found:
        raise RuntimeError(f"baselines/methods/{module_name}.py must define a Method subclass named {module_name!r}")
    return found


def all_methods() -> dict[str, type[Method]]:
    """Every registered method (variants included), by name, sorted."""
    found: dict[str, type[Method]] = {}
    for module_name in available_modules():
        found.update(methods_in(module_name))
    return dict(sorted(found.items()))


def get_method(name: str) -> type[Method]:
    if name in available_modules():
        return methods_in(name)[name]
    methods = all_methods()
    if name not in methods:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(methods)}")
    return methods[name]


def method_summary(cls: type[Method]) -> str:
    """The first paragraph of the method module's docstring (what `ls` and the site show)."""
    module = importlib.import_module(cls.__module__)
    doc = inspect.cleandoc(module.__doc__ or "")
    return " ".join(doc.split("\n\n", 1)[0].split())
