"""Countdown: combine all the given numbers with + - * / to reach the target, written as one
equation per operation; any valid sequence of equations is accepted.

The setting of Gandhi et al. 2024 (Stream of Search, arXiv 2404.03683) and Ye et al. 2024 (arXiv
2410.14157; Countdown-3 and -4): `numbers` (3 or 4) numbers in 1..99 and a target in 10..100.
A line reads

    question  "44 15 79 target 50"
    answer    "44 - 15 = 29 , 79 - 29 = 50"

The verifier replays the equations: each combines two numbers still available (given or earlier
results; each used once), states its result correctly, and keeps to the game's rules (results
are non-negative integers, division exact); after numbers - 1 equations the one number left must
be the target. No reasoning steps: the equations are the answer.

Generation: draw the numbers, combine them in a random order with random operations, and keep
the draw when every result is a non-negative integer and the last one is in 10..100; the target
is that last result and the equations that made it are the reference answer. Splits are decided
by a hash of (sorted numbers, target), so the splits never share a puzzle (1% valid, 1% test).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from pathlib import Path
from typing import ClassVar

from baselines.data import check_options, parallel_generate
from baselines.tasks.base import SPLITS, Example, Task

EQUATION = re.compile(r"^\s*(\d+)\s*([-+*/])\s*(\d+)\s*=\s*(\d+)\s*$")
QUESTION = re.compile(r"^((?:\d+ )+)target (\d+)$")
TARGETS = (10, 100)


def apply(a: int, op: str, b: int) -> int | None:
    """a op b under the game's rules (non-negative integers, exact division), else None."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b if a >= b else None
    if op == "*":
        return a * b
    return a // b if b and a % b == 0 else None


def parse_question(question: str) -> tuple[list[int], int]:
    match = QUESTION.match(question)
    if match is None:
        raise ValueError(f"task countdown: not a countdown question ('n1 n2 ... target t'): {question!r}")
    return [int(x) for x in match.group(1).split()], int(match.group(2))


def verify(answer: str, numbers: list[int], target: int) -> bool:
    """True when `answer` is numbers - 1 valid equations that use every number once and end at target."""
    parts = [p for p in answer.split(",")]
    if len(parts) != len(numbers) - 1:
        return False
    available = Counter(numbers)
    result = None
    for part in parts:
        match = EQUATION.match(part)
        if match is None:
            return False
        a, op, b, result = int(match.group(1)), match.group(2), int(match.group(3)), int(match.group(4))
        available[a] -= 1
        available[b] -= 1
        if available[a] < 0 or available[b] < 0 or apply(a, op, b) != result:
            return False
        available[result] += 1
    return result == target and +available == Counter([target])


def split_of(numbers: list[int], target: int) -> str:
    key = f"{sorted(numbers)}->{target}".encode()
    bucket = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % 100
    return "valid" if bucket == 0 else "test" if bucket == 1 else "train"


def draw(rng: random.Random, count: int) -> tuple[list[int], int, list[str]] | None:
    """(numbers, target, equations) from one random draw, or None when it breaks the rules."""
    numbers = [rng.randint(1, 99) for _ in range(count)]
    pool = list(numbers)
    equations = []
    while len(pool) > 1:
        a, b = pool.pop(rng.randrange(len(pool))), pool.pop(rng.randrange(len(pool)))
        op = rng.choice("+-*/")
        if op in "-/" and a < b:
            a, b = b, a
        result = apply(a, op, b)
        if result is None:
            return None
        equations.append(f"{a} {op} {b} = {result}")
        pool.append(result)
    target = pool[0]
    return (numbers, target, equations) if TARGETS[0] <= target <= TARGETS[1] else None


class Countdown(Task):
    name: ClassVar[str] = "countdown"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("Countdown with 3 or 4 numbers: equations that combine every number once with "
                                  "+ - * / to reach the target (any valid answer accepted).")
    defaults: ClassVar[dict] = {"numbers": 4}

    def __init__(self, data_dir: str | Path | None = None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))
        self.count = int(self.options["numbers"])
        if self.count not in (3, 4):
            raise ValueError(f"task countdown: numbers={self.count} must be 3 or 4")

    def normalize(self, answer: str) -> str:
        return " ".join(answer.split())

    def score(self, prediction: str, example: Example) -> bool:
        numbers, target = parse_question(example.question)
        return verify(prediction, numbers, target)

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        return parallel_generate(_draw, (self.count, split, seed), n, chunk=CHUNK)


CHUNK = 5000


def _draw(count: int, split: str, seed: int, start: int, stop: int) -> list[Example]:
    """Examples start..stop-1 of a split (`start` a multiple of CHUNK), one random stream per
    chunk; puzzles are distinct within a chunk."""
    rng = random.Random(f"countdown/{count}/{split}/{seed}/{start // CHUNK}")
    seen: set[tuple[tuple[int, ...], int]] = set()
    out: list[Example] = []
    while len(out) < stop - start:
        made = draw(rng, count)
        if made is None:
            continue
        numbers, target, equations = made
        key = (tuple(sorted(numbers)), target)
        if key in seen or split_of(numbers, target) != split:
            continue
        seen.add(key)
        out.append(Example(question=f"{' '.join(map(str, numbers))} target {target}", steps=(),
                           answer=" , ".join(equations), meta={"numbers": numbers, "target": target}))
    return out
