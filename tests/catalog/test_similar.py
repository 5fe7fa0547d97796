"""Near-identical title detection agrees with comparing every pair by brute force."""

from __future__ import annotations

import difflib
import random

from catalog.ids import normalize_title
from catalog.similar import RAREST_WORDS, THRESHOLD, similar_pairs

WORDS = ("latent reasoning language models continuous thought looped transformers recurrent depth "
         "diffusion chain of the a in for with training scaling test time compute hidden state "
         "pause tokens implicit internalize planning graph search math efficient").split()  # fmt: skip


def brute_force(titles: list[str]) -> set[tuple[int, int]]:
    return {
        (i, j)
        for i in range(len(titles))
        for j in range(i + 1, len(titles))
        if difflib.SequenceMatcher(None, titles[i], titles[j], autojunk=False).ratio() >= THRESHOLD
    }


def edit(title: str, rng: random.Random) -> str:
    chars = list(title)
    position = rng.randrange(len(chars))
    action = rng.choice(["delete", "insert", "replace", "plural"])
    if action == "delete":
        del chars[position]
    elif action == "insert":
        chars.insert(position, rng.choice("abcdefghij "))
    elif action == "replace":
        chars[position] = rng.choice("abcdefghij")
    else:
        return title + "s"
    return "".join(chars)


def test_matches_brute_force_on_titles_with_near_duplicates():
    rng = random.Random(0)
    titles = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12))) for _ in range(150)]
    titles += [edit(rng.choice(titles), rng) for _ in range(60)]
    titles = list(dict.fromkeys(normalize_title(t) for t in titles if normalize_title(t)))
    found = {(i, j) for i, j, _ in similar_pairs(titles)}
    expected = brute_force(titles)
    assert found <= expected
    # the documented guarantee: every pair whose word sets differ by at most RAREST_WORDS - 1
    # words on each side is found (one or two stacked edits usually stay within it)
    words = [set(t.split()) for t in titles]
    guaranteed = {(i, j) for i, j in expected if max(len(words[i] - words[j]), len(words[j] - words[i])) < RAREST_WORDS}
    assert guaranteed <= found
    assert len(found) > 20 and len(found) >= 0.9 * len(expected)


def test_short_titles_and_plurals():
    titles = ["looped transformers", "looped transformer", "coconut", "coconuts", "diffusion lm"]
    assert {(i, j) for i, j, _ in similar_pairs(titles)} == {(0, 1)}  # 'coconut'/'coconuts': 0.93
