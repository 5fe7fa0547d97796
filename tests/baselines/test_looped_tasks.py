"""The depth tasks: p-hop induction, n-ary addition and parity are correct by construction and
their splits are disjoint."""

import pytest

from baselines.tasks.addition import Addition
from baselines.tasks.p_hop import PHop, hop_chain
from baselines.tasks.parity import Parity


def test_p_hop_follows_the_hops_by_hand():
    seq = "c a d b a c d a c b".split()
    # from the last b (9): the b before it is at 3 -> 4 (a); the a before 4 is at 1 -> 2 (d)
    assert hop_chain(seq, 2) == [9, 4, 2]
    assert hop_chain(seq, 4) is None  # from 2 (d): no d before it... after hop 3 runs off the start
    task = PHop(hops=3, length=20, alphabet=4)
    for ex in task.generate("valid", 50, seed=0):
        seq = ex.question.split()
        i = len(seq) - 1
        for step in ex.steps:
            i = max(j for j in range(i) if seq[j] == seq[i]) + 1
            assert seq[i] == step
        assert ex.answer == seq[i] and len(seq) == 20 and set(seq) <= set("abcd")
    assert task.chance_accuracy() == 0.25


def test_addition_is_exact():
    task = Addition(operands=5, digits=3)
    for ex in task.generate("test", 50, seed=1):
        numbers = [int("".join(reversed(x.split()))) for x in ex.question.split(" + ")]
        assert len(numbers) == 5 and all(100 <= x <= 999 for x in numbers)
        assert int("".join(reversed(ex.answer.split()))) == sum(numbers) and len(ex.answer.split()) == 4
        assert int("".join(reversed(ex.steps[-1].split()))) == sum(numbers)
    assert task.score("1 2 3 0", task.generate("test", 1, 0)[0]) == (task.generate("test", 1, 0)[0].answer == "1 2 3 0")
    with pytest.raises(ValueError, match="operands"):
        Addition(operands=1)


def test_parity_trains_short_and_tests_long():
    task = Parity(length=8, test_length=20)
    train, valid, test = (task.generate(s, 200, seed=0) for s in ("train", "valid", "test"))
    assert max(len(e.question.split()) for e in train + valid) <= 8
    assert {len(e.question.split()) for e in test} == {20}
    for ex in train + test:
        assert ex.answer == str(ex.question.split().count("1") % 2) and ex.steps[-1] == ex.answer
    assert not {e.question for e in train} & {e.question for e in valid}


@pytest.mark.parametrize("task", [PHop(), Addition(), Parity()])
def test_splits_are_disjoint_and_deterministic(task):
    splits = {s: task.generate(s, 100, seed=2) for s in ("train", "valid", "test")}
    questions = {s: {e.question for e in exs} for s, exs in splits.items()}
    if not isinstance(task, Parity):  # parity's short strings repeat within a split by design
        assert not questions["train"] & questions["valid"] and not questions["train"] & questions["test"]
    assert not questions["valid"] & questions["test"]
    assert task.generate("train", 10, seed=2) == splits["train"][:10]
