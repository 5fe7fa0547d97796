"""Near-identical titles, fast: candidate pairs from shared rare words, then a character ratio.

Comparing every pair with difflib is quadratic (12.5 million pairs for 5,000 titles). Instead each
title is indexed under its rarest words (prefix filtering: two titles that share at least half of
their words must share one of the rarer half); only titles that meet in an index bucket and have
compatible lengths are compared with difflib's ratio.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter, defaultdict

THRESHOLD = 0.95


def similar_pairs(titles: list[str], threshold: float = THRESHOLD) -> list[tuple[int, int, float]]:
    """Pairs (i, j, ratio), i < j, of distinct normalized titles whose ratio is >= threshold."""
    words = [t.split() for t in titles]
    frequency = Counter(w for ws in words for w in set(ws))
    index: dict[str, list[int]] = defaultdict(list)
    candidates: set[tuple[int, int]] = set()
    for i, ws in enumerate(words):
        unique = sorted(set(ws), key=lambda w: (frequency[w], w))
        prefix = unique[: len(unique) - math.ceil(len(unique) / 2) + 1]
        for word in prefix:
            for j in index[word]:
                candidates.add((j, i))
            index[word].append(i)
    pairs = []
    for i, j in sorted(candidates):
        a, b = titles[i], titles[j]
        if 2 * min(len(a), len(b)) / (len(a) + len(b)) < threshold:
            continue  # the ratio cannot reach the threshold with these lengths
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        if matcher.quick_ratio() >= threshold and (ratio := matcher.ratio()) >= threshold:
            pairs.append((i, j, ratio))
    return pairs
