"""The methods, as classes: every method file (baselines/methods/*.py, and the folders of
LATENT_METHOD_DIRS) holds one method named by its file, and may register variants (subclasses
with their own `name`, e.g. ablations).

The list of names comes from baselines/registry.py, which reads the files without importing
them; `get_method(name)` imports the one module that defines `name`.
"""

from __future__ import annotations

import inspect

from baselines import registry
from baselines.methods.base import Method


def available_modules() -> list[str]:
    """Method module names (file stems), sorted."""
    return list(registry.method_modules())


def methods_in(module_name: str) -> dict[str, type[Method]]:
    """The Method subclasses that module `module_name` defines, by their `name`."""
    modules = registry.method_modules()
    if module_name not in modules:
        raise ValueError(f"unknown method module {module_name!r}; available: {', '.join(modules)}")
    path = modules[module_name].path
    module = registry.load_module(path, "methods")
    found = {}
    for obj in vars(module).values():
        if (inspect.isclass(obj) and issubclass(obj, Method) and not inspect.isabstract(obj)
                and obj.__module__ == module.__name__ and "name" in vars(obj)):
            found[obj.name] = obj
    if module_name not in found:
        raise RuntimeError(f"{path} must define a Method subclass named {module_name!r}")
    return found


def all_methods() -> dict[str, type[Method]]:
    """Every registered method (variants included), by name, sorted."""
    found: dict[str, type[Method]] = {}
    for module_name in available_modules():
        found.update(methods_in(module_name))
    return dict(sorted(found.items()))


def get_method(name: str) -> type[Method]:
    """The class of method `name` (a file's main method or a variant); imports only its module."""
    entry = registry.method(name)
    found = methods_in(entry.module)
    if name not in found:
        raise RuntimeError(f"{entry.path}: the registry reads a method {name!r} there, but importing it defines "
                           f"only {', '.join(found)}")
    return found[name]


def method_summary(cls: type[Method]) -> str:
    """The first paragraph of the method module's docstring (what `ls` and the site show)."""
    module = inspect.getmodule(cls)
    doc = inspect.cleandoc((module.__doc__ if module else None) or "")
    return " ".join(doc.split("\n\n", 1)[0].split())
