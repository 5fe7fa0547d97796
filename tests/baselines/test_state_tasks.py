"""The state-tracking tasks (state_parity, permutation, flipflop): answers correct by an
independent computation, lengths per split (train at n, test at test_length), option errors."""

from __future__ import annotations

import pytest

from baselines.tasks import get_task
from baselines.tasks.permutation import LETTERS


def test_parity_answers_and_lengths():
    task = get_task("state_parity", length=8, test_length=32)
    for ex in task.examples("train", 200, 0):
        bits = ex.question.split()
        assert 1 <= len(bits) <= 8 and set(bits) <= {"0", "1"}
        assert ex.answer == ("odd" if bits.count("1") % 2 else "even")
        assert ex.steps[0].split()[-1] == ex.answer
    assert {len(ex.question.split()) for ex in task.examples("test", 50, 0)} == {32}
    assert {len(ex.question.split()) for ex in task.examples("train", 400, 0)} == set(range(1, 9))
    assert task.score(" Odd ", task.examples("test", 1, 0)[0]) != task.score("even", task.examples("test", 1, 0)[0])


@pytest.mark.parametrize("group,size", [("s3", 3), ("s5", 5)])
def test_permutation_products_are_correct(group, size):
    task = get_task("permutation", group=group.upper(), length=6, test_length=20)
    assert task.options["group"] == group and len(task.elements) == {3: 6, 5: 120}[size]
    for ex in task.examples("test", 50, 1):
        words = ex.question.split()
        assert len(words) == 20 and all(sorted(w) == list(LETTERS[:size]) for w in words)
        items = list(range(size))  # follow each item through the sequence: position of item i
        for w in words:
            items = [LETTERS.index(w[i]) for i in items]
        assert ex.answer == "".join(LETTERS[i] for i in items)
    answers = {ex.answer for ex in task.examples("train", 600, 0)}
    assert len(answers) == len(task.elements) or size == 5  # S3: every element occurs


def test_flipflop_reads_the_last_write():
    task = get_task("flipflop", length=10, test_length=40, p_ignore=0.5)
    for split, lengths in (("train", set(range(2, 11))), ("test", {40})):
        seen = set()
        for ex in task.examples(split, 300, 2):
            words = ex.question.split()
            pairs = list(zip(words[:-1:2], words[1::2]))
            assert words[0] == "w" and words[-1] == "r" and len(pairs) + 1 == len(words) // 2 + 1
            memory = None
            for op, bit in pairs:
                if op == "w":
                    memory = bit
                elif op == "r":
                    assert bit == memory  # intermediate reads are consistent
            assert ex.answer == memory
            seen.add(len(pairs) + 1)
        assert seen == lengths


def test_options_are_checked():
    with pytest.raises(ValueError, match="group='s4'"):
        get_task("permutation", group="s4")
    with pytest.raises(ValueError, match="test_length=1 is out of range"):
        get_task("flipflop", test_length=1)
    with pytest.raises(ValueError, match="p_ignore=1.0"):
        get_task("flipflop", p_ignore=1)
    with pytest.raises(ValueError, match="length='x' is not a valid int"):
        get_task("state_parity", length="x")
    assert get_task("state_parity", length="4").test_length == 4  # strings from the command line; 0 = length
