"""p-hop induction: follow p induction-head hops back through a random sequence.

The task of Sanford et al. 2024 (arXiv 2402.09268) used by Saunshi et al. 2025 (arXiv 2502.17416)
to show that depth, not parameters, is what p-hop needs. A sequence v_1..v_n of letters from an
alphabet of size a is given; a hop from position i goes to the position right after the last
earlier occurrence of v_i: hop(i) = 1 + max{j < i : v_j = v_i}. Starting at the last position, the
answer is the letter reached after p hops. A transformer needs about log2(p) + 2 layers for it
(an induction head per doubling), so a shallow model fails where a deeper or looped one succeeds.

    question  "c a d b a c d a c b"      (the sequence; with hops=2)
    steps     the letter at each hop      ("d", "a")
    answer    "a"

Sequences whose chain of hops runs off the start are redrawn. Train, valid and test are disjoint:
a sequence belongs to the split picked by a hash of its letters (80 / 10 / 10). Chance level is
1 / alphabet. Options: hops (p), length (n), alphabet (a).
"""

from __future__ import annotations

import hashlib
import random
from typing import ClassVar

from baselines.data import check_options
from baselines.tasks.base import SPLITS, Example, Task

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def hop_chain(seq: list[str], hops: int) -> list[int] | None:
    """The positions visited from the last one (hops + 1 of them), or None when a hop has no
    earlier occurrence to follow."""
    i, chain = len(seq) - 1, [len(seq) - 1]
    for _ in range(hops):
        j = next((j for j in range(i - 1, -1, -1) if seq[j] == seq[i]), None)
        if j is None:
            return None
        i = j + 1
        chain.append(i)
    return chain


def split_of(seq: list[str]) -> str:
    bucket = int.from_bytes(hashlib.blake2b(" ".join(seq).encode(), digest_size=8).digest(), "big") % 10
    return "valid" if bucket == 0 else "test" if bucket == 1 else "train"


class PHop(Task):
    name: ClassVar[str] = "p_hop"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("p-hop induction: the letter reached after p induction-head hops back through "
                                  "a random sequence (Sanford et al. 2024; Saunshi et al. 2025).")
    defaults: ClassVar[dict] = {"hops": 4, "length": 32, "alphabet": 4}

    def __init__(self, data_dir=None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))
        self.hops, self.length, self.alphabet = (int(self.options[k]) for k in ("hops", "length", "alphabet"))
        if not 1 <= self.hops < self.length or not 2 <= self.alphabet <= len(LETTERS) or self.length > 1000:
            raise ValueError(f"task p_hop: need 1 <= hops < length <= 1000 and 2 <= alphabet <= 26, "
                             f"got hops={self.hops}, length={self.length}, alphabet={self.alphabet}")

    chance: ClassVar[float | None] = None  # depends on the options: chance_accuracy()

    def chance_accuracy(self) -> float:
        return 1.0 / self.alphabet

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        rng = random.Random(f"p_hop/{self.hops}/{self.length}/{self.alphabet}/{split}/{seed}")
        letters = LETTERS[: self.alphabet]
        out, attempts = [], 0
        while len(out) < n:
            attempts += 1
            if attempts > 100 * n + 1000:
                raise ValueError(f"task p_hop: cannot draw {n} {split} sequences with hops={self.hops} in "
                                 f"length={self.length}; use longer sequences or fewer hops")
            seq = [rng.choice(letters) for _ in range(self.length)]
            chain = hop_chain(seq, self.hops) if split_of(seq) == split else None
            if chain is None:
                continue
            out.append(Example(question=" ".join(seq), steps=tuple(seq[i] for i in chain[1:]), answer=seq[chain[-1]],
                               meta={"chain": chain}))
        return out
