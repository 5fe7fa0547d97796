"""ProsQA: logical reasoning that needs a search over a graph of "is a" facts.

Introduced with Coconut (Hao et al., arXiv 2412.06769, Appendix A.2). Each example is a small
random directed acyclic graph: nodes without parents are people ("Tom"), the others made-up
concepts ("lempus"); every edge is a fact ("Tom is a terpus." / "Every terpus is a brimpus.").
The facts are listed in random order, followed by "Is Tom a lempus or scrompus?". Exactly one of
the two concepts can be reached from the person; the chain of facts along the shortest path is
the reasoning (`steps`), and the answer reads "Tom is a lempus.".

The generator follows the paper's Algorithm 1: nodes are added one at a time; node 0 and node 1
are the two people the graph grows from, and every node carries a label saying from which of
them it can be reached (1: node 0 only, 2: node 1 only, 3: both, 0: neither). A new node draws
its number of parents from a Poisson distribution and its parents from a candidate set chosen
at random among "not reachable from node 1", "not reachable from node 0" and "any node", with
deeper candidates more likely. The questioned person is node 0 or node 1; the right answer is
the leaf farthest from them (3 to 6 hops), the wrong one a leaf reachable only from the other
person. Numbers the paper leaves open (graph size, the chance of an extra person) are set so
that the statistics match the official files (see tests/baselines/test_tasks.py).

Concept names are a syllable followed by "pus", and people's names come from a short list;
both vocabularies are those of the official files, so a model trained on generated graphs reads
the official valid/test sets with known words. With a data directory holding
`coconut/prosqa_{train,valid,test}.json`, those files are used instead of generated ones.
"""

from __future__ import annotations

import json
import random
from collections import deque
from pathlib import Path
from typing import ClassVar

from baselines.data import check_options, find_data_file, parallel_generate
from baselines.tasks.base import SPLITS, Example, Task

PEOPLE = ("Alex", "Bob", "Carol", "Davis", "Eva", "Fae", "Gabriel", "Jack", "Max", "Oliver",
          "Polly", "Rex", "Sally", "Sam", "Stella", "Tom", "Wren")
SYLLABLES = ("bom", "boom", "brim", "chor", "dum", "fel", "fom", "ger", "gor", "grim", "gwom",
             "hil", "im", "jel", "jom", "ker", "lem", "lor", "num", "quim", "rem", "rom", "ror",
             "scrom", "shum", "ster", "stor", "ter", "tim", "tum", "vum", "wor", "wum", "yer",
             "yim", "yum", "zhor", "zum")
CONCEPTS = tuple(syllable + "pus" for syllable in SYLLABLES)

MEAN_PARENTS = 1.5  # Poisson rate of the number of parents of a new node (Algorithm 1)
DEPTH_WEIGHT = 1.5  # a candidate parent at depth d is drawn with weight d * 1.5 + 1 (Algorithm 1)
EXTRA_PERSON = 0.03  # chance that a new node is one more person (no parents)
MIN_HOPS, MAX_HOPS = 3, 6  # length of the reasoning chain, as in the official files
SPLIT_SALT = {"train": 0, "valid": 1, "test": 2}


def _poisson_at_least_one(rng: random.Random, rate: float) -> int:
    while True:  # Knuth's method, redrawn until positive
        limit, k, p = pow(2.718281828459045, -rate), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                break
            k += 1
        if k > 0:
            return k


def _weighted_sample(rng: random.Random, items: list[int], weights: list[float], k: int) -> list[int]:
    """k distinct items, each draw proportional to the remaining weights."""
    items, weights, out = list(items), list(weights), []
    for _ in range(k):
        threshold, i = rng.random() * sum(weights), 0
        while i < len(weights) - 1 and threshold >= weights[i]:
            threshold -= weights[i]
            i += 1
        out.append(items.pop(i))
        weights.pop(i)
    return out


def random_graph(rng: random.Random) -> tuple[int, list[tuple[int, int]], dict[int, int]]:
    """(number of nodes, edges parent->child with parent < child, label of each node)."""
    n_nodes = 17 + sum(rng.random() < 0.53 for _ in range(11))  # 17..28, mean ~22.8
    labels = {0: 1, 1: 2}
    groups: dict[int, list[int]] = {0: [], 1: [0], 2: [1], 3: []}
    depth = {0: 0, 1: 0}
    edges: list[tuple[int, int]] = []
    for node in range(2, n_nodes):
        parents: list[int] = []
        if rng.random() >= EXTRA_PERSON:
            draw = rng.random()
            if draw <= 0.35:
                candidates = groups[0] + groups[1]  # never a descendant of node 1
            elif draw <= 0.7:
                candidates = groups[0] + groups[2]  # never a descendant of node 0
            else:
                candidates = list(range(node))
            k = min(len(candidates), _poisson_at_least_one(rng, MEAN_PARENTS))
            weights = [depth[c] * DEPTH_WEIGHT + 1 for c in candidates]
            parents = _weighted_sample(rng, candidates, weights, k)
        label = 0
        for parent in parents:
            edges.append((parent, node))
            label |= labels[parent]
        labels[node] = label
        groups[label].append(node)
        depth[node] = 1 + min(depth[p] for p in parents) if parents else 0
    return n_nodes, edges, labels


def shortest_path(n_nodes: int, edges: list[tuple[int, int]], source: int) -> dict[int, list[int]]:
    """Breadth-first search: node -> the first shortest path from `source` found (children in edge order)."""
    children: dict[int, list[int]] = {i: [] for i in range(n_nodes)}
    for parent, child in edges:
        children[parent].append(child)
    paths = {source: [source]}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        for child in children[node]:
            if child not in paths:
                paths[child] = paths[node] + [child]
                queue.append(child)
    return paths


def make_example(rng: random.Random) -> Example:
    """One ProsQA example (retries until the graph has a 3..6-hop answer and a wrong option)."""
    while True:
        n_nodes, edges, labels = random_graph(rng)
        root = rng.choice((0, 1))
        other = 1 - root
        root_bit, other_bit = (1, 2) if root == 0 else (2, 1)
        has_child = {parent for parent, _ in edges}
        leaves = [i for i in range(n_nodes) if i not in has_child]
        paths = shortest_path(n_nodes, edges, root)
        reachable = [i for i in leaves if labels[i] & root_bit and MIN_HOPS <= len(paths[i]) - 1 <= MAX_HOPS]
        wrong = [i for i in leaves if labels[i] == other_bit]
        if reachable and wrong:
            break
    farthest = max(len(paths[i]) for i in reachable)
    target = rng.choice([i for i in reachable if len(paths[i]) == farthest])
    neg_target = rng.choice(wrong)
    del other

    has_parent = {child for _, child in edges}
    people = [i for i in range(n_nodes) if i not in has_parent]
    concepts = [i for i in range(n_nodes) if i in has_parent]
    names = dict(zip(people, rng.sample(PEOPLE, len(people))))
    names.update(zip(concepts, rng.sample(CONCEPTS, len(concepts))))

    def fact(parent: int, child: int) -> str:
        if parent in has_parent:
            return f"Every {names[parent]} is a {names[child]}."
        return f"{names[parent]} is a {names[child]}."

    facts = [fact(p, c) for p, c in edges]
    rng.shuffle(facts)
    options = [names[target], names[neg_target]]
    rng.shuffle(options)
    question = " ".join(facts) + f" Is {names[root]} a {options[0]} or {options[1]}?"
    path = paths[target]
    steps = tuple(fact(a, b) for a, b in zip(path, path[1:]))
    meta = {"idx_to_symbol": [names[i] for i in range(n_nodes)], "edges": [list(e) for e in edges],
            "root": root, "target": target, "neg_target": neg_target}
    return Example(question=question, steps=steps, answer=f"{names[root]} is a {names[target]}.", meta=meta)


def _make_examples(salt: int, seed: int, start: int, stop: int) -> list[Example]:
    """Examples start..stop-1 of a split: example i depends on (split, seed, i) only."""
    return [make_example(random.Random(f"prosqa/{salt}/{seed}/{i}")) for i in range(start, stop)]


class ProsQA(Task):
    name: ClassVar[str] = "prosqa"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("Graph search over 'is a' facts about made-up concepts "
                                  "(Coconut's ProsQA; official valid/test files when present).")
    defaults: ClassVar[dict] = {}
    chance: ClassVar[float] = 0.5  # accuracy of guessing: every question offers two concepts

    def __init__(self, data_dir: str | Path | None = None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        return parallel_generate(_make_examples, (SPLIT_SALT[split], seed), n)

    def official_path(self, split: str) -> Path | None:
        if self.data_dir is None:
            return None
        return find_data_file(folder / f"prosqa_{split}.json" for folder in (self.data_dir / "coconut", self.data_dir))

    def load(self, split: str) -> list[Example] | None:
        path = self.official_path(split)
        if path is None:
            return None
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            return [
                Example(question=row["question"], steps=tuple(row["steps"]), answer=row["answer"],
                        meta={k: row[k] for k in ("idx_to_symbol", "edges", "root", "target", "neg_target") if k in row})
                for row in rows
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a ProsQA file (a JSON list of objects with question, steps, answer): {exc}") from None
