"""Path planning on star graphs: given the shuffled edges of a star and a start and a goal node,
write the path from the centre to the goal; the task where next-token prediction learns a
shortcut and fails (Bachmann & Nagarajan 2024, arXiv 2403.06963), used by Ye et al. 2024 (arXiv
2410.14157) to motivate diffusion.

A star has `degree` arms of `length` nodes each leaving one centre node; node labels are distinct
numbers drawn from 0..`nodes`-1. A line reads (degree 2, length 3)

    question  "7 12 | 30 4 | 12 9 | 7 30 | 4 22 | 9 41 / 7 22"
    answer    "7 30 4 22"

The edges (each "a b", undirected) come in a random order; after "/" are the start (the centre)
and the goal (the end of one arm). The verifier accepts any path that starts at the start, ends
at the goal, moves along edges of the graph and repeats no node (in a star there is one). The
first step is the hard decision: which arm leads to the goal, which a left-to-right writer must
make before it has traced the arm back from the goal. Splits come from separate random streams.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import ClassVar

from baselines.data import check_options, parallel_generate
from baselines.tasks.base import SPLITS, Example, Task


def parse_question(question: str) -> tuple[set[frozenset[int]], int, int]:
    """(undirected edges, start, goal) of a question."""
    try:
        edges_text, ends = question.split(" / ")
        edges = {frozenset(int(x) for x in pair.split()) for pair in edges_text.split(" | ")}
        start, goal = (int(x) for x in ends.split())
    except ValueError:
        raise ValueError(f"task path_planning: not a path question ('a b | c d ... / start goal'): "
                         f"{question[:60]!r}") from None
    return edges, start, goal


def verify(answer: str, edges: set[frozenset[int]], start: int, goal: int) -> bool:
    """A simple path from start to goal along the edges."""
    try:
        path = [int(x) for x in answer.split()]
    except ValueError:
        return False
    if not path or path[0] != start or path[-1] != goal or len(set(path)) != len(path):
        return False
    return all(frozenset(pair) in edges for pair in zip(path, path[1:]))


def make_star(rng: random.Random, degree: int, length: int, nodes: int) -> Example:
    labels = rng.sample(range(nodes), degree * length + 1)
    centre, arms = labels[0], [labels[1 + a * length: 1 + (a + 1) * length] for a in range(degree)]
    edges = [(prev, node) for arm in arms for prev, node in zip([centre] + arm, arm)]
    rng.shuffle(edges)
    edges = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in edges]
    goal_arm = rng.randrange(degree)
    goal = arms[goal_arm][-1]
    question = " | ".join(f"{a} {b}" for a, b in edges) + f" / {centre} {goal}"
    answer = " ".join(map(str, [centre] + arms[goal_arm]))
    return Example(question=question, steps=(), answer=answer, meta={"goal_arm": goal_arm})


class PathPlanning(Task):
    name: ClassVar[str] = "path_planning"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("Star-graph path planning: from shuffled edges, the path from the centre to a "
                                  "goal leaf (degree, length and node labels set the size).")
    defaults: ClassVar[dict] = {"degree": 3, "length": 5, "nodes": 50}

    def __init__(self, data_dir: str | Path | None = None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))
        self.degree, self.length, self.nodes = (int(self.options[k]) for k in ("degree", "length", "nodes"))
        if self.degree < 2 or self.length < 1:
            raise ValueError(f"task path_planning: degree={self.degree} must be >= 2 and length={self.length} >= 1")
        if self.nodes < self.degree * self.length + 1:
            raise ValueError(f"task path_planning: nodes={self.nodes} is fewer than the star's "
                             f"{self.degree * self.length + 1} nodes")

    def normalize(self, answer: str) -> str:
        return " ".join(answer.split())

    def score(self, prediction: str, example: Example) -> bool:
        return verify(prediction, *parse_question(example.question))

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        return parallel_generate(_draw, (self.degree, self.length, self.nodes, split, seed), n, chunk=CHUNK)


CHUNK = 5000


def _draw(degree: int, length: int, nodes: int, split: str, seed: int, start: int, stop: int) -> list[Example]:
    """Stars start..stop-1 of a split (`start` a multiple of CHUNK), one random stream per chunk."""
    rng = random.Random(f"path_planning/{degree}/{length}/{nodes}/{split}/{seed}/{start // CHUNK}")
    return [make_star(rng, degree, length, nodes) for _ in range(stop - start)]
