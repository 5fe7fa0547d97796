"""Shared pieces of the state-tracking tasks (state_parity, permutation, flipflop): a sequence
of symbols is read and the state it ends in is the answer, with no intermediate token.

Length generalisation through options: training and validation examples have lengths drawn
uniformly from [min_length, `length`] (so short sequences teach the single step), test examples
have exactly `test_length` symbols (0 = `length`): train at n, test at n, 2n, 4n with one option.
Examples are drawn independently per split from a stream fixed by (task, options, split, seed);
splits are not made disjoint: at a length L the chance that a test sequence also occurs in
training is at most n_train / (symbols^L), negligible except for parity at the shortest lengths.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import ClassVar

from baselines.data import check_options
from baselines.tasks.base import SPLITS, Example, Task

COMMON = {"length": 16, "test_length": 0}


class StateTrackingTask(Task):
    """Subclasses set `defaults` (COMMON plus their own), `min_length` and `make(rng, length)`."""

    defaults: ClassVar[dict] = COMMON
    min_length: ClassVar[int] = 1
    max_length: ClassVar[int] = 100_000

    def __init__(self, data_dir: str | Path | None = None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))
        self.length = int(self.options["length"])
        self.test_length = int(self.options["test_length"]) or self.length
        for key, value in (("length", self.length), ("test_length", self.test_length)):
            if not self.min_length <= value <= self.max_length:
                raise ValueError(f"task {self.name}: {key}={value} is out of range "
                                 f"({self.min_length}..{self.max_length})")

    def make(self, rng: random.Random, length: int) -> Example:
        raise NotImplementedError

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        options = ",".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        rng = random.Random(f"{self.name}/{options}/{split}/{seed}")
        out = []
        for _ in range(n):
            length = self.test_length if split == "test" else rng.randint(self.min_length, self.length)
            out.append(self.make(rng, length))
        return out
