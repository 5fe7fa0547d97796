"""The task registry: every module in this folder (except base) is one task, named by its file.

Modules are imported only when a task is asked for, so listing names costs nothing.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from baselines.tasks.base import Task

_HERE = Path(__file__).resolve().parent
_NOT_TASKS = {"__init__", "base"}


def available_tasks() -> list[str]:
    """Task names (file names), sorted."""
    return sorted(p.stem for p in _HERE.glob("*.py") if p.stem not in _NOT_TASKS and not p.stem.startswith("_"))


def get_task_class(name: str) -> type[Task]:
    """The Task subclass defined in baselines/tasks/<name>.py."""
    if name not in available_tasks():
        raise ValueError(f"unknown task {name!r}; available: {', '.join(available_tasks())}")
    module = importlib.import_module(f"baselines.tasks.{name}")
    found = [obj for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, Task) and obj is not Task
             and obj.__module__ == module.__name__ and getattr(obj, "name", None) == name]
    if len(found) != 1:
        raise RuntimeError(f"baselines/tasks/{name}.py must define exactly one Task subclass named {name!r}")
    return found[0]


def get_task(name: str, data_dir=None, **options) -> Task:
    """An instance of task `name` with `options` (checked by the task)."""
    return get_task_class(name)(data_dir=data_dir, **options)
