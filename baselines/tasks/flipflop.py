"""Flip-flop language modelling: remember the last written bit through noise (Liu et al., arXiv 2306.00946).

    question  "w 1 i 0 i 1 r 1 w 0 i 1 r"      answer  "0"

A sequence of instruction-bit pairs: `w b` writes b, `i b` is to be ignored, `r b` reads the
last written bit (b equals it). The question ends with a bare `r`; the answer is the bit it
reads. The first instruction is a write; the others are ignore with probability `p_ignore`
(0.8 in the paper's sparse setting), write or read with half the rest each. Transformers make
rare, length-dependent errors here ("attention glitches"); a recurrence needs one bit of state.
`length` counts instructions (the final read included; 2 tokens each), `test_length` as in every
state-tracking task (baselines/tasks/_state.py). Chance: 1/2.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import ClassVar

from baselines.tasks._state import StateTrackingTask
from baselines.tasks.base import Example


class FlipFlop(StateTrackingTask):
    name: ClassVar[str] = "flipflop"
    version: ClassVar[int] = 1
    chance: ClassVar[float | None] = 0.5  # the answer is one bit
    description: ClassVar[str] = ("Flip-flop language: read the last written bit after ignore noise "
                                  "(p_ignore), trained at lengths 2..length, tested at test_length; chance 1/2.")
    defaults: ClassVar[dict] = {"length": 32, "test_length": 0, "p_ignore": 0.8}  # literal: the registry reads it
    min_length: ClassVar[int] = 2

    def __init__(self, data_dir: str | Path | None = None, **options):
        super().__init__(data_dir, **options)
        self.p_ignore = float(self.options["p_ignore"])
        if not 0.0 <= self.p_ignore < 1.0:
            raise ValueError(f"task flipflop: p_ignore={self.p_ignore} must be in [0, 1)")

    def make(self, rng: random.Random, length: int) -> Example:
        memory = rng.randint(0, 1)
        words = ["w", str(memory)]
        for _ in range(length - 2):
            u = rng.random()
            if u < self.p_ignore:
                words += ["i", str(rng.randint(0, 1))]
            elif u < self.p_ignore + (1 - self.p_ignore) / 2:
                memory = rng.randint(0, 1)
                words += ["w", str(memory)]
            else:
                words += ["r", str(memory)]
        words.append("r")
        return Example(question=" ".join(words), steps=(), answer=str(memory), meta={"length": length})
