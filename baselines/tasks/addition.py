"""n-ary addition: the sum of n numbers of d digits, digits written least significant first.

The looped-transformer papers' arithmetic task (Saunshi et al. 2025, arXiv 2502.17416: addition of
n numbers, where the depth a model needs grows with n). Each operand has exactly `digits` digits
(leading digit 1-9), written digit by digit, space separated, least significant first (as in
the multiplication task); the answer has digits + len(str(operands)) digits, zero-padded, in the
same order; the steps are the running sums.

    question  "3 2 + 5 1 + 9 9"          (23 + 15 + 99; operands=3, digits=2)
    steps     "3 2 0", "8 3 0", "7 3 1"  (23, 38, 137)
    answer    "7 3 1 0"                    (137 in 4 digits)

Train, valid and test are disjoint by a hash of the operands (80 / 10 / 10). A uniform guess of
the answer is right with probability 10^-(answer digits). Options: operands (n), digits (d).
"""

from __future__ import annotations

import hashlib
import random
from typing import ClassVar

from baselines.data import check_options
from baselines.tasks.base import SPLITS, Example, Task


def digits_of(number: int, width: int) -> str:
    text = str(number).rjust(width, "0")
    if len(text) > width:
        raise ValueError(f"{number} has more than {width} digits")
    return " ".join(reversed(text))


def split_of(numbers: list[int]) -> str:
    key = "+".join(map(str, numbers)).encode()
    bucket = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % 10
    return "valid" if bucket == 0 else "test" if bucket == 1 else "train"


class Addition(Task):
    name: ClassVar[str] = "addition"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("n-ary addition: the sum of n d-digit numbers, digits least significant first "
                                  "(the looped-transformer papers' arithmetic task).")
    defaults: ClassVar[dict] = {"operands": 8, "digits": 2}

    def __init__(self, data_dir=None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))
        self.n, self.d = int(self.options["operands"]), int(self.options["digits"])
        if not 2 <= self.n <= 64 or not 1 <= self.d <= 12:
            raise ValueError(f"task addition: need 2 <= operands <= 64 and 1 <= digits <= 12, got {self.n}, {self.d}")
        self.width = self.d + len(str(self.n))

    chance: ClassVar[float | None] = None  # depends on the options: chance_accuracy()

    def chance_accuracy(self) -> float:
        return 10.0 ** -self.width

    def normalize(self, answer: str) -> str:
        return "".join(answer.split())

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        rng = random.Random(f"addition/{self.n}/{self.d}/{split}/{seed}")
        low, high = 10 ** (self.d - 1), 10**self.d - 1
        if (high - low + 1) ** self.n < 40 * n:
            raise ValueError(f"task addition: operands={self.n}, digits={self.d} have too few distinct sums for {n} "
                             "examples; use more digits or operands")
        out, seen = [], set()
        while len(out) < n:
            numbers = [rng.randint(low, high) for _ in range(self.n)]
            key = tuple(numbers)
            if key in seen or split_of(numbers) != split:
                continue
            seen.add(key)
            running = [sum(numbers[: i + 1]) for i in range(1, self.n)]
            out.append(Example(question=" + ".join(digits_of(x, self.d) for x in numbers),
                               steps=tuple(digits_of(s, self.width) for s in running),
                               answer=digits_of(sum(numbers), self.width), meta={"operands": numbers}))
        return out
