"""The tasks of the diffusion study: sudoku (every puzzle has exactly one solution, symmetries keep
it so), countdown and star-graph path planning; each verifier accepts every correct answer (also
ones other than the reference) and rejects corrupted ones."""

from __future__ import annotations

import random

import pytest

from baselines.tasks.countdown import Countdown, verify
from baselines.tasks.path_planning import PathPlanning
from baselines.tasks.sudoku import Sudoku, grid_text, parse_grid, solve, solved_by_singles, transform


# -- sudoku ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sudoku_train():
    return Sudoku(givens=28, variants=4).generate("train", 24, seed=0)


def test_every_generated_sudoku_has_exactly_one_solution(sudoku_train):
    task = Sudoku()
    examples = sudoku_train + task.generate("test", 6, seed=0)
    assert len({ex.question for ex in examples}) == len(examples)
    for ex in examples:
        puzzle, solution = parse_grid(ex.question), parse_grid(ex.answer)
        assert sum(v > 0 for v in puzzle) == 28
        count, found = solve(puzzle, limit=3)
        assert count == 1 and found == solution
        assert task.score(ex.answer, ex)


def test_sudoku_variants_are_symmetries_of_one_dug_puzzle(sudoku_train):
    groups = [sudoku_train[i:i + 4] for i in range(0, 24, 4)]
    for group in groups:
        assert [ex.meta["variant"] for ex in group] == [0, 1, 2, 3]
        assert len({ex.meta["singles"] for ex in group}) == 1
    grid = parse_grid(sudoku_train[0].question)
    moved = transform(grid, random.Random(3))
    assert sum(v > 0 for v in moved) == 28 and moved != grid
    assert solve(moved, limit=3)[0] == 1


def test_sudoku_verifier_rejects_corrupted_grids(sudoku_train):
    task = Sudoku()
    ex = sudoku_train[0]
    answer = parse_grid(ex.answer)
    puzzle = parse_grid(ex.question)
    free = [i for i, v in enumerate(puzzle) if v == 0]
    swapped = list(answer)
    i, j = free[0], next(j for j in free[1:] if answer[j] != answer[free[0]])
    swapped[i], swapped[j] = swapped[j], swapped[i]
    for wrong in (grid_text(swapped), ex.answer[:-1], ex.answer[:-1] + "x", ex.question, ""):
        assert not task.score(wrong, ex)
    assert task.score(" ".join(ex.answer), ex)  # spacing does not matter


def test_singles_detection_on_known_puzzles():
    full = parse_grid(Sudoku().generate("test", 1, seed=1)[0].answer)
    one_gap = list(full)
    one_gap[40] = 0
    assert solved_by_singles(one_gap)
    assert not solved_by_singles([0] * 81)


def test_sudoku_rejects_bad_options():
    with pytest.raises(ValueError, match="givens"):
        Sudoku(givens=10)
    with pytest.raises(ValueError, match="variants"):
        Sudoku(variants=0)


# -- countdown -------------------------------------------------------------------------------------

@pytest.mark.parametrize("count", [3, 4])
def test_countdown_references_verify_and_splits_are_disjoint(count):
    task = Countdown(numbers=count)
    train, test = task.generate("train", 300, seed=0), task.generate("test", 30, seed=0)
    keys = lambda exs: {(tuple(sorted(ex.meta["numbers"])), ex.meta["target"]) for ex in exs}  # noqa: E731
    assert not keys(train) & keys(test)
    for ex in train + test:
        assert task.score(ex.answer, ex)
        assert 10 <= ex.meta["target"] <= 100 and len(ex.answer.split(",")) == count - 1


def test_countdown_accepts_any_valid_answer_and_rejects_broken_ones():
    numbers, target = [4, 6, 8, 2], 24
    for answer in ("4 * 6 = 24 , 8 / 2 = 4 , 24 * 4 = 96",):  # valid arithmetic, wrong target
        assert not verify(answer, numbers, target)
    good = ["8 - 6 = 2 , 2 * 2 = 4 , 4 * 4 = 16", "6 - 4 = 2 , 8 + 2 = 10 , 10 + 2 = 12"]
    assert verify(good[0], numbers, 16) and verify(good[1], numbers, 12)
    other = ["4 * 6 = 24 , 8 - 2 = 6 , 24 / 6 = 4", "2 * 8 = 16 , 16 + 4 = 20 , 20 - 6 = 14"]
    assert verify(other[0], numbers, 4) and verify(other[1], numbers, 14)
    broken = [
        "4 * 6 = 25 , 8 - 2 = 6 , 25 - 6 = 19",  # wrong arithmetic
        "4 * 6 = 24 , 8 - 2 = 6",  # a number left unused
        "4 * 4 = 16 , 8 - 2 = 6 , 16 - 6 = 10",  # 4 used twice, 6 never
        "2 - 8 = 6 , 6 * 4 = 24 , 24 - 6 = 18",  # a negative result written as positive
        "8 / 6 = 1 , 4 + 2 = 6 , 6 + 1 = 7",  # inexact division
        "4 * 6 = 24 ; 8 - 2 = 6 , 24 / 6 = 4",  # not an equation list
        "",
    ]
    targets = [19, 6, 10, 18, 7, 4, 4]
    for answer, t in zip(broken, targets):
        assert not verify(answer, numbers, t), answer


def test_countdown_rejects_bad_options():
    with pytest.raises(ValueError, match="3 or 4"):
        Countdown(numbers=5)


# -- path planning ---------------------------------------------------------------------------------

def test_path_planning_verifier():
    task = PathPlanning(degree=3, length=4, nodes=30)
    for ex in task.generate("train", 50, seed=0):
        path = ex.answer.split()
        assert len(path) == 5 and task.score(ex.answer, ex)
        assert not task.score(" ".join(path[:-1]), ex)  # stops short
        assert not task.score(" ".join(path[:2] + path[3:]), ex)  # skips a node
        assert not task.score(" ".join(path + [path[-2], path[-1]]), ex)  # repeats nodes
        assert not task.score(" ".join(reversed(path)), ex)  # from the goal
    with pytest.raises(ValueError, match="nodes"):
        PathPlanning(degree=5, length=10, nodes=20)


def test_sudoku_needs_search_keeps_only_puzzles_singles_cannot_finish():
    examples = Sudoku(needs_search=True).generate("test", 3, seed=0)
    for ex in examples:
        assert not ex.meta["singles"] and not solved_by_singles(parse_grid(ex.question))
        assert solve(parse_grid(ex.question), limit=2)[0] == 1
