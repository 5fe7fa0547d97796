"""The Task interface: every task is one file in this folder with one Task subclass.

A task produces examples in the coconut format (question, reasoning steps, answer), generated
locally and deterministically by default, or read from the official files when a data directory
holds them; it scores a predicted answer; its `version` is copied into every result so that a
change to the data or the scorer is visible. `chance` is the accuracy of guessing (recorded in
every result, so charts can draw it), and `provenance` says where a split's examples came from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from baselines.format import SPLITS, Example

__all__ = ["SPLITS", "Example", "Task"]


class Task(ABC):
    """Subclasses set `name`, `version`, `description` and implement generate/score.

    `options` are task parameters (e.g. `digits=4` for multiplication); they are recorded in
    every result together with `version`.
    """

    name: ClassVar[str]
    version: ClassVar[int]
    description: ClassVar[str]
    chance: ClassVar[float | None] = 0.0  # accuracy of guessing; None = computed by `chance_accuracy`
    # kinds of answer `outcome` sorts predictions into (recorded as shares in every result), so
    # that a wrong answer of the wrong *kind* (not one of the options, malformed) is visible
    outcomes: ClassVar[tuple[str, ...]] = ("right", "wrong", "no_answer")

    def __init__(self, data_dir: str | Path | None = None, **options):
        self.data_dir = Path(data_dir) if data_dir else None
        self.options = options

    # -- data -------------------------------------------------------------------------------
    @abstractmethod
    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        """`n` examples of `split`, a pure function of (split, n, seed, options)."""

    def official_path(self, split: str) -> Path | None:
        """The official file of `split` when `data_dir` holds one (tasks with official data override)."""
        return None

    def load(self, split: str) -> list[Example] | None:
        """The official examples of `split` from `data_dir`, or None when not present."""
        return None

    def examples(self, split: str, n: int | None, seed: int) -> list[Example]:
        """Official examples when present (the first `n`), else `n` generated ones."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        official = self.load(split)
        if official is not None:
            return official if n is None else official[:n]
        if n is None:
            raise ValueError(f"task {self.name}: no official {split} files; give a number of examples")
        return self.generate(split, n, seed)

    # -- scoring ----------------------------------------------------------------------------
    def normalize(self, answer: str) -> str:
        return " ".join(answer.strip().split()).rstrip(".").lower()

    def score(self, prediction: str, example: Example) -> bool:
        """True when the predicted answer (text after the answer marker) is correct."""
        return self.normalize(prediction) == self.normalize(example.answer)

    def outcome(self, prediction: str, example: Example) -> str:
        """Which of `outcomes` a predicted answer is: right, wrong, or no answer at all."""
        if self.score(prediction, example):
            return "right"
        return "wrong" if prediction.strip() else "no_answer"

    def chance_accuracy(self) -> float | None:
        """The accuracy of guessing with these options (the class's `chance` unless overridden)."""
        return self.chance

    def provenance(self, split: str, n: int | None, seed: int) -> dict:
        """Where `examples(split, n, seed)` come from: the official file (path under the data
        directory, sha256, examples in it) or the generator (task version, seed)."""
        from baselines.data import sha256_file

        official = self.load(split)
        if official is not None:
            path = self.official_path(split)
            where = path
            if path is not None and self.data_dir is not None and path.is_relative_to(self.data_dir):
                where = path.relative_to(self.data_dir)
            return {"source": "official", "examples": len(official) if n is None else min(n, len(official)),
                    "task_version": self.version, "file": str(where) if where else None,
                    "sha256": sha256_file(path) if path else None, "file_examples": len(official)}
        return {"source": "generated", "examples": n, "task_version": self.version, "generator_seed": seed}

    def info(self) -> dict:
        return {"name": self.name, "version": self.version, "options": dict(self.options),
                "chance": self.chance_accuracy()}
