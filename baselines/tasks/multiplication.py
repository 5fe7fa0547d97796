"""Multi-digit multiplication (k x k digits) in the format of Implicit CoT / Stepwise Internalization.

Numbers are written digit by digit, space separated, least-significant digit first (as in
Deng et al., arXiv 2311.01460 and 2405.14838). The chain of thought lists the partial products
a * b_i * 10^i, one per digit of b, each followed (except the first and the last) by the running
sum in parentheses; partial product i and its running sum have k+1+i digits, the answer 2k. A
line of the official files reads

    5 6 3 2 * 7 4 3 4||5 5 5 6 1 + 0 0 6 4 9 0 ( 5 5 1 1 1 1 ) + ... #### 5 5 6 0 8 2 0 1

Here the steps of an example are the " + "-separated parts of the chain; `official_line`
rebuilds the exact line. Operands have exactly k digits (leading digit 1-9). Generated examples
are split between train/valid/test by a hash of the operand pair, so the generated splits never
share a pair; generated training data also skips every pair of the official valid/test files
when those are present. Official files: `<data>/Internalize_CoT_Step_by_Step/<k>_by_<k>_mult/`
(valid.txt, test_bigbench.txt as "test", train.txt when it is not a Git LFS pointer).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import ClassVar

from baselines.data import check_options, find_data_file, parallel_generate, read_examples
from baselines.tasks.base import SPLITS, Example, Task

FILES = {"train": "train.txt", "valid": "valid.txt", "test": "test_bigbench.txt"}


def digits(number: int, width: int) -> str:
    """`number` as `width` space-separated digits, least significant first (zero-padded)."""
    text = str(number).rjust(width, "0")
    if len(text) > width:
        raise ValueError(f"{number} has more than {width} digits")
    return " ".join(reversed(text))


def chain_of_thought(a: int, b: int, k: int) -> list[str]:
    """Partial products of a * b (one per digit of b), with running sums in between."""
    steps, running = [], 0
    for i, digit in enumerate(reversed(str(b).rjust(k, "0"))):
        partial = a * int(digit) * 10**i
        running += partial
        step = digits(partial, k + 1 + i)
        if 0 < i < k - 1:
            step += f" ( {digits(running, k + 1 + i)} )"
        steps.append(step)
    return steps


def make_example(a: int, b: int, k: int) -> Example:
    return Example(question=f"{digits(a, k)} * {digits(b, k)}", steps=tuple(chain_of_thought(a, b, k)),
                   answer=digits(a * b, 2 * k), meta={"a": a, "b": b})


def official_line(example: Example) -> str:
    """The example as a line of the official files (without the newline)."""
    return f"{example.question}||{' + '.join(example.steps)} #### {example.answer}"


def parse_line(line: str, where: str) -> Example:
    try:
        question, rest = line.split("||")
        cot, answer = rest.split(" #### ")
        left, right = question.split(" * ")
        a, b = (int("".join(reversed(x.split()))) for x in (left, right))
    except ValueError:
        raise ValueError(f"{where}: not a multiplication line ('a * b||steps #### answer'): {line[:80]!r}") from None
    return Example(question=question, steps=tuple(cot.split(" + ")), answer=answer, meta={"a": a, "b": b})


def split_of(a: int, b: int) -> str:
    """The split an operand pair belongs to when generated: 1% valid, 1% test, 98% train."""
    bucket = int.from_bytes(hashlib.blake2b(f"{a}*{b}".encode(), digest_size=8).digest(), "big") % 100
    return "valid" if bucket == 0 else "test" if bucket == 1 else "train"


class Multiplication(Task):
    name: ClassVar[str] = "multiplication"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("k x k digit multiplication with partial products as steps "
                                  "(iCoT format; official valid/test files for k = 4, 5, 7, 9, 11).")
    defaults: ClassVar[dict] = {"digits": 4}

    def __init__(self, data_dir: str | Path | None = None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))
        self.k = int(self.options["digits"])
        if not 1 <= self.k <= 40:
            raise ValueError(f"task multiplication: digits={self.k} is out of range (1..40)")

    def normalize(self, answer: str) -> str:
        return "".join(answer.split())  # digits only: spacing does not matter

    def official_path(self, split: str) -> Path | None:
        if self.data_dir is None:
            return None
        folder = f"{self.k}_by_{self.k}_mult"
        return find_data_file(base / FILES[split] for base in (self.data_dir / "Internalize_CoT_Step_by_Step" / folder,
                                                                self.data_dir / folder))

    def load(self, split: str) -> list[Example] | None:
        path = self.official_path(split)
        if path is None:
            return None
        return read_examples(path, parse_line)

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        excluded: frozenset[tuple[int, int]] = frozenset()
        if split == "train":
            excluded = frozenset((ex.meta["a"], ex.meta["b"])
                                 for other in ("valid", "test") for ex in self.load(other) or [])
        available = (9 * 10 ** (self.k - 1)) ** 2 // (100 if split != "train" else 1)  # ~1% per eval split
        if 2 * n > available:
            raise ValueError(f"task multiplication: digits={self.k} gives about {available} distinct {split} "
                             f"examples, too few for {n}; ask for at most {available // 2} or use more digits")
        return parallel_generate(_draw, (self.k, split, seed, excluded), n, chunk=CHUNK)


CHUNK = 5000


def _draw(k: int, split: str, seed: int, excluded: frozenset, start: int, stop: int) -> list[Example]:
    """Examples start..stop-1 of a generated split, `start` a multiple of CHUNK. Each chunk has
    its own random stream, so workers can share the work and the first n examples do not
    depend on how many are asked for; pairs are distinct within a chunk."""
    rng = random.Random(f"multiplication/{k}/{split}/{seed}/{start // CHUNK}")
    low, high = 10 ** (k - 1), 10**k - 1
    seen: set[tuple[int, int]] = set()
    out: list[Example] = []
    attempts = 0
    while len(out) < stop - start:
        attempts += 1
        if attempts > 200 * (stop - start) + 1000:
            raise ValueError(f"task multiplication: cannot draw {stop - start} distinct {split} examples "
                             f"with digits={k}; ask for fewer examples or more digits")
        a, b = rng.randint(low, high), rng.randint(low, high)
        if (a, b) in seen or (a, b) in excluded or split_of(a, b) != split:
            continue
        seen.add((a, b))
        out.append(make_example(a, b, k))
    return out
