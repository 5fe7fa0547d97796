"""The tasks, as classes: every task file (baselines/tasks/*.py, and the folders of
LATENT_TASK_DIRS) holds one Task subclass named by its file.

The list of names comes from baselines/registry.py, which reads the files without importing
them; `get_task_class(name)` imports the one module it needs.
"""

from __future__ import annotations

import inspect

from baselines import registry
from baselines.tasks.base import Task


def available_tasks() -> list[str]:
    """Task names (file names), sorted."""
    return list(registry.tasks())


def get_task_class(name: str) -> type[Task]:
    """The Task subclass defined in the task file `name`."""
    entry = registry.task(name)
    module = registry.load_module(entry.path, "tasks")
    found = [obj for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, Task) and obj is not Task
             and obj.__module__ == module.__name__ and getattr(obj, "name", None) == name]
    if len(found) != 1:
        raise RuntimeError(f"{entry.path} must define exactly one Task subclass named {name!r}")
    return found[0]


def get_task(name: str, data_dir=None, **options) -> Task:
    """An instance of task `name` with `options` (checked by the task)."""
    return get_task_class(name)(data_dir=data_dir, **options)
