"""Parity with length generalisation: is the number of ones in a bit string odd? Trained on short strings, tested on longer ones.

Parity is the classic task on which a fixed-depth transformer fails to generalise in length while
recurrence in depth can (Dehghani et al. 2019; the looped-transformer papers). Train and valid
strings have a length drawn uniformly from 1..`length`; test strings have exactly `test_length`
bits (longer than any in training, by default), so test accuracy measures length generalisation.
The steps are the running parities; the answer is "1" for an odd number of ones, else "0".

    question  "1 0 1 1"        steps "1", "1", "0", "1"        answer "1"

Train and valid are disjoint by a hash of the string (90 / 10); test strings are longer. Chance
level is 1/2. Options: length, test_length.
"""

from __future__ import annotations

import hashlib
import random
from typing import ClassVar

from baselines.data import check_options
from baselines.tasks.base import SPLITS, Example, Task


def in_valid(bits: list[int]) -> bool:
    return int.from_bytes(hashlib.blake2b(bytes(bits), digest_size=8).digest(), "big") % 10 == 0


def make_example(bits: list[int]) -> Example:
    running, parity = [], 0
    for b in bits:
        parity ^= b
        running.append(str(parity))
    return Example(question=" ".join(map(str, bits)), steps=tuple(running), answer=str(parity))


class Parity(Task):
    name: ClassVar[str] = "parity"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("Parity of a bit string; train on strings of 1..length bits, test on "
                                  "test_length bits (length generalisation).")
    defaults: ClassVar[dict] = {"length": 16, "test_length": 32}

    def __init__(self, data_dir=None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))
        self.length, self.test_length = int(self.options["length"]), int(self.options["test_length"])
        if not 1 <= self.length <= 1000 or not 1 <= self.test_length <= 1000:
            raise ValueError(f"task parity: length and test_length must be in 1..1000, got {self.length}, "
                             f"{self.test_length}")

    chance = 0.5

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        rng = random.Random(f"parity/{self.length}/{self.test_length}/{split}/{seed}")
        out = []
        while len(out) < n:
            size = self.test_length if split == "test" else rng.randint(1, self.length)
            bits = [rng.randint(0, 1) for _ in range(size)]
            if split != "test" and in_valid(bits) != (split == "valid"):
                continue
            out.append(make_example(bits))
        return out
