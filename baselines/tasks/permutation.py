"""Word problems of the symmetric groups S3 and S5: compose a sequence of permutations.

    question  "bca acb cab"      answer  "abc"        steps: the running products

Each permutation of n items is written in one-line notation with letters ("cbade": item 0 goes
to position 2, ...), one word per element (6 words for S3, 120 for S5). The answer is the
product of the sequence applied left to right. S3 is solvable; S5 is not, so its word problem
is NC1-complete and no constant-depth transformer solves it at every length (Merrill, Petty,
Sabharwal, arXiv 2404.08819), while a linear recurrence with reflections (negative
eigenvalues) and enough layers can (Grazzi et al., arXiv 2411.12537). Options: `group` (s3 or
s5), `length` and `test_length` as in every state-tracking task (baselines/tasks/_state.py).
Chance: 1/6 (S3), 1/120 (S5).
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import ClassVar

from baselines.tasks._state import StateTrackingTask
from baselines.tasks.base import Example

LETTERS = "abcdefghij"
GROUPS = {"s3": 3, "s5": 5}


def word(perm: tuple[int, ...]) -> str:
    return "".join(LETTERS[i] for i in perm)


def compose(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """a then b: the element that maps i to b[a[i]]."""
    return tuple(b[i] for i in a)


class Permutation(StateTrackingTask):
    name: ClassVar[str] = "permutation"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("Word problems of S3 or S5 (option group): the product of a sequence of "
                                  "permutations, trained at lengths 1..length, tested at test_length.")
    defaults: ClassVar[dict] = {"length": 16, "test_length": 0, "group": "s5"}  # literal: the registry reads it
    chance: ClassVar[float | None] = None  # 1 / |group|: chance_accuracy()

    def __init__(self, data_dir: str | Path | None = None, **options):
        super().__init__(data_dir, **options)
        group = str(self.options["group"]).lower()
        if group not in GROUPS:
            raise ValueError(f"task permutation: group={self.options['group']!r}; expected one of {sorted(GROUPS)}")
        self.options["group"] = group
        self.elements = list(itertools.permutations(range(GROUPS[group])))

    def chance_accuracy(self) -> float:
        return 1.0 / len(self.elements)

    def make(self, rng: random.Random, length: int) -> Example:
        sequence = [rng.choice(self.elements) for _ in range(length)]
        product, running = tuple(range(len(sequence[0]))), []
        for element in sequence:
            product = compose(product, element)
            running.append(word(product))
        return Example(question=" ".join(map(word, sequence)), steps=(" ".join(running),), answer=word(product),
                       meta={"length": length})
