"""Near-identical titles, fast: candidate pairs from shared rare words, then difflib's ratio.

Comparing every pair with difflib is quadratic (12.5 million pairs for 5,000 titles). Instead each
title is put in the buckets of its RAREST_WORDS rarest words (rarity counted over the whole
catalog), and only titles that meet in a bucket, with compatible lengths, are compared.

What this finds: every pair with ratio >= THRESHOLD whose word sets differ by at most
RAREST_WORDS - 1 words on each side (a typo, a plural, a dropped article, a changed word or
two): the rarest word the two titles share is then among the first RAREST_WORDS of each. Pairs
that differ in more words are not near-identical titles in practice.
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict

THRESHOLD = 0.95
RAREST_WORDS = 3


def similar_pairs(titles: list[str], threshold: float = THRESHOLD) -> list[tuple[int, int, float]]:
    """Pairs (i, j, ratio), i < j, of titles (normalized, distinct) with difflib ratio >= threshold."""
    words = [set(t.split()) for t in titles]
    frequency = Counter(w for ws in words for w in ws)
    min_length_ratio = threshold / (2 - threshold)  # ratio <= 2 min / (min + max)
    buckets: dict[str, list[int]] = defaultdict(list)
    candidates: set[tuple[int, int]] = set()
    for i, ws in enumerate(words):
        length = len(titles[i])
        for word in sorted(ws, key=lambda w: (frequency[w], w))[:RAREST_WORDS]:
            bucket = buckets[word]
            for j in bucket:
                other = len(titles[j])
                if min(length, other) >= min_length_ratio * max(length, other):
                    candidates.add((j, i))
            bucket.append(i)
    pairs = []
    for i, j in sorted(candidates):
        matcher = difflib.SequenceMatcher(None, titles[i], titles[j], autojunk=False)
        if matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold:
            ratio = matcher.ratio()
            if ratio >= threshold:
                pairs.append((i, j, ratio))
    return pairs
