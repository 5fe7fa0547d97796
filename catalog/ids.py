"""Paper ids and title normalisation.

The id rule (see catalog/model.py): family name of the first author, the year, and the first
significant word of the title, all lowercase ASCII, e.g. `hao2024training`; on a clash with an
existing id a letter suffix is appended (`hao2024trainingb`, `hao2024trainingc`, ...).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator

# Words skipped when picking the title word: articles, prepositions, conjunctions, auxiliaries,
# question words and pronouns that open many titles ("Towards ...", "On the ...", "Can LLMs ...").
STOPWORDS = frozenset(
    """
    a an the on of to towards toward in into for from with without via by at as and or but nor
    vs versus about above across after against along among around before behind below beneath
    beyond between through throughout under upon within is are was were be been being am do does
    did can could should would will shall may might must has have had not no yes what how why
    when where which who whom whose whether if than then that this these those there here it its
    we our us you your i my me they their them he she his her let lets s t all any some more
    most very just only also so such
    """.split()
)

# Letters that NFKD does not decompose into ASCII.
_SPECIAL_LETTERS = str.maketrans(
    {
        "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
        "ı": "i", "ħ": "h", "Ħ": "H", "ŋ": "ng", "ĸ": "k",
    }
)  # fmt: skip
# Lowercase particles that belong to a family name ("van der Waals" -> "vanderwaals").
_PARTICLES = frozenset("van von der den de del della di da dos das du le la ten ter al el bin ibn".split())
_SUFFIXES = frozenset("jr jr. sr sr. ii iii iv".split())


def to_ascii(text: str) -> str:
    """Transliterate to ASCII: accents dropped (é -> e), special letters spelled out (ß -> ss)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", to_ascii(text).lower())


def family_name(author: str) -> str:
    """The family name of an author written 'Given Family' (particles kept, suffixes dropped)."""
    if "," in author:  # tolerate 'Family, Given'
        return author.split(",", 1)[0].strip()
    words = author.split()
    while len(words) > 1 and words[-1].lower() in _SUFFIXES:
        words.pop()
    if not words:
        return ""
    family = [words[-1]]
    for word in reversed(words[:-1]):
        if word.lower() != word or word not in _PARTICLES:
            break
        family.insert(0, word)
    return " ".join(family)


def title_words(title: str) -> list[str]:
    """Lowercase ASCII words; any non-letter, non-digit (dashes, punctuation) separates words."""
    if title.isascii():
        return re.findall(r"[a-z0-9]+", title.lower())
    words = (re.sub(r"[^a-z0-9]", "", to_ascii(w).lower()) for w in re.findall(r"[^\W_]+", title))
    return [w for w in words if w]


def title_word(title: str) -> str:
    """The first word of the title that is not a stopword ('paper' when there is none)."""
    words = title_words(title)
    return next((w for w in words if w not in STOPWORDS), words[0] if words else "paper")


def base_id(authors: list[str], year: int, title: str) -> str:
    family = _alnum(family_name(authors[0])) if authors else ""
    if not family or not family[0].isalpha():
        family = "anon" + family
    return f"{family}{year:04d}{title_word(title)}"


def _suffixes() -> Iterator[str]:
    yield from "bcdefghijklmnopqrstuvwxyz"
    for n in itertools.count(2):
        for letters in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n):
            yield "".join(letters)


def make_id(authors: list[str], year: int, title: str, existing: set[str] | frozenset[str] = frozenset()) -> str:
    """The id for a new paper, unique among `existing` (see the module docstring for the rule)."""
    base = base_id(authors, year, title)
    if base not in existing:
        return base
    return next(base + s for s in _suffixes() if base + s not in existing)


def normalize_title(title: str) -> str:
    """Lowercase ASCII words separated by single spaces; used to find duplicate entries."""
    return " ".join(title_words(title))
