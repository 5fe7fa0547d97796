"""Parity of a bit string: is the number of ones even or odd?

    question  "1 0 1 1 0"        answer  "odd"        steps: the running parities ("odd even ...")

The simplest state-tracking problem (a two-state automaton, the group Z2): a linear recurrence
whose transition eigenvalues stay in [0, 1] cannot solve it at every length, one with
eigenvalues in [-1, 1] can (Grazzi et al., arXiv 2411.12537). Options `length` (training
lengths 1..length) and `test_length` (test length; 0 = length) as in every state-tracking task
(baselines/tasks/_state.py). Chance: 1/2.
"""

from __future__ import annotations

import random
from typing import ClassVar

from baselines.tasks._state import StateTrackingTask
from baselines.tasks.base import Example

NAMES = ("even", "odd")


class StateParity(StateTrackingTask):
    name: ClassVar[str] = "state_parity"
    version: ClassVar[int] = 1
    chance: ClassVar[float | None] = 0.5  # the answer is one bit
    defaults: ClassVar[dict] = {"length": 16, "test_length": 0}  # literal: the registry reads it
    description: ClassVar[str] = ("Parity of a bit string, trained at lengths 1..length and tested at test_length "
                                  "(state tracking in Z2; chance 1/2).")

    def make(self, rng: random.Random, length: int) -> Example:
        bits = [rng.randint(0, 1) for _ in range(length)]
        running, parity = [], 0
        for bit in bits:
            parity ^= bit
            running.append(NAMES[parity])
        return Example(question=" ".join(map(str, bits)), steps=(" ".join(running),), answer=NAMES[parity],
                       meta={"length": length})
