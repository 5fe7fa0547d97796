"""Sudoku: fill a 9x9 grid so that every row, column and 3x3 box holds 1..9; every puzzle has
exactly one solution, and the number of givens sets the difficulty.

The question is the grid as 81 digits, row by row, 0 for an empty cell; the answer is the solved
grid as 81 digits (as in Ye et al. 2024, arXiv 2410.14157, who take theirs from a public set;
ours are generated). No reasoning steps. The scorer accepts any completed grid that is valid and
keeps the givens (for a puzzle with one solution that is the solution).

Generation, deterministic per (split, seed, chunk): a random full grid (randomised backtracking),
then cells are emptied in a random order, each only if the puzzle keeps exactly one solution (a
bitmask solver counts solutions up to two), until `givens` cells are left; a grid that gets stuck
above `givens` is dropped and another is drawn. The default of 28 givens is below the 30-36 of common puzzle
collections: about a third of these puzzles cannot be finished by naked and hidden singles alone
and need search or longer chains of deduction (`meta["singles"]` records which; `needs_search=true`
keeps only those). Training puzzles come in groups of `variants` (default 8): a dug puzzle and
random symmetries of it (digits relabelled, rows, columns, bands and stacks permuted, transposed),
which keep exactly one solution and cost nothing to make; digging dominates the cost (~10-20 ms
a puzzle in Python). Evaluation splits are dug one by one. Splits come from separate random
streams (a puzzle repeated across splits has negligible probability among ~10^21 grids).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import ClassVar

from baselines.data import check_options, parallel_generate
from baselines.tasks.base import SPLITS, Example, Task

ROW = tuple(i // 9 for i in range(81))
COL = tuple(i % 9 for i in range(81))
BOX = tuple((i // 27) * 3 + (i % 9) // 3 for i in range(81))
ALL = 0b1111111110  # bit v set = digit v (1..9) is possible
POPCOUNT = tuple(bin(m).count("1") for m in range(1024))
UNITS = tuple(tuple(i for i in range(81) if key(i) == u) for key in (ROW.__getitem__, COL.__getitem__,
                                                                     BOX.__getitem__) for u in range(9))


def parse_grid(text: str) -> list[int] | None:
    """81 digits (spaces ignored) -> list of ints, or None when it is not a grid."""
    digits = "".join(text.split())
    if len(digits) != 81 or not digits.isdigit():
        return None
    return [int(c) for c in digits]


def grid_text(grid: list[int]) -> str:
    return "".join(map(str, grid))


def solve(grid: list[int], limit: int = 2, rng: random.Random | None = None) -> tuple[int, list[int] | None]:
    """(number of solutions counted up to `limit`, the first solution found or None).

    Backtracking on the empty cell with the fewest candidates; digits tried in order, or in a
    random order when `rng` is given (used to draw full grids)."""
    rows, cols, boxes = [0] * 9, [0] * 9, [0] * 9
    cells = list(grid)
    empty = []
    for i, v in enumerate(cells):
        if v:
            bit = 1 << v
            if (rows[ROW[i]] | cols[COL[i]] | boxes[BOX[i]]) & bit:
                return 0, None
            rows[ROW[i]] |= bit
            cols[COL[i]] |= bit
            boxes[BOX[i]] |= bit
        else:
            empty.append(i)
    found: list[list[int]] = []

    def search() -> int:
        if not empty:
            if not found:
                found.append(list(cells))
            return 1
        best, best_free, best_n = 0, 0, 10
        for k, i in enumerate(empty):
            free = ALL & ~(rows[ROW[i]] | cols[COL[i]] | boxes[BOX[i]])
            n = POPCOUNT[free]
            if n < best_n:
                best, best_free, best_n = k, free, n
                if n <= 1:
                    break
        if best_n == 0:
            return 0
        i = empty[best]
        empty[best] = empty[-1]
        empty.pop()
        digits = [v for v in range(1, 10) if best_free >> v & 1]
        if rng is not None:
            rng.shuffle(digits)
        total = 0
        r, c, b = ROW[i], COL[i], BOX[i]
        for v in digits:
            bit = 1 << v
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            cells[i] = v
            total += search()
            rows[r] &= ~bit
            cols[c] &= ~bit
            boxes[b] &= ~bit
            cells[i] = 0
            if total >= limit:
                break
        empty.append(i)
        empty[best], empty[-1] = empty[-1], empty[best]
        return total

    count = search()
    return count, (found[0] if found else None)


def solved_by_singles(grid: list[int]) -> bool:
    """True when naked singles (a cell with one candidate) and hidden singles (a digit with one
    place in a unit) alone complete the grid: no search needed."""
    cells = list(grid)
    while 0 in cells:
        cand = [0 if v else ALL & ~_used(cells, i) for i, v in enumerate(cells)]
        placed = False
        for i, free in enumerate(cand):
            if not cells[i] and free and free & (free - 1) == 0:
                cells[i], placed = free.bit_length() - 1, True
        if not placed:
            for unit in UNITS:
                for v in range(1, 10):
                    spots = [i for i in unit if not cells[i] and cand[i] >> v & 1]
                    if len(spots) == 1 and v not in (cells[j] for j in unit):
                        cells[spots[0]], placed = v, True
        if not placed:
            return False
    return True


def _used(cells: list[int], i: int) -> int:
    used = 0
    for j in UNITS[ROW[i]] + UNITS[9 + COL[i]] + UNITS[18 + BOX[i]]:
        used |= 1 << cells[j]
    return used


def _solvable_with(puzzle: list[int], i: int, v: int) -> bool:
    puzzle[i] = v
    found = solve(puzzle, limit=1)[0] > 0
    puzzle[i] = 0
    return found


def is_valid_solution(answer: list[int], puzzle: list[int]) -> bool:
    """A complete grid with every unit a permutation of 1..9 that keeps the puzzle's givens."""
    if any(p and p != a for p, a in zip(puzzle, answer)):
        return False
    return all(sorted(answer[i] for i in unit) == list(range(1, 10)) for unit in UNITS)


def transform(grid: list[int], rng: random.Random) -> list[int]:
    """The grid under a random symmetry of sudoku (digits relabelled, rows permuted within bands
    and bands permuted, the same for columns, maybe transposed): validity, the givens count and
    the number of solutions are unchanged."""
    digits = [0, *rng.sample(range(1, 10), 9)]
    bands, stacks = rng.sample(range(3), 3), rng.sample(range(3), 3)
    rows = [3 * band + r for band in bands for r in rng.sample(range(3), 3)]
    cols = [3 * stack + c for stack in stacks for c in rng.sample(range(3), 3)]
    flip = rng.random() < 0.5
    out = []
    for r in range(9):
        for c in range(9):
            i = cols[c] * 9 + rows[r] if flip else rows[r] * 9 + cols[c]
            out.append(digits[grid[i]])
    return out


def make_puzzle(rng: random.Random, givens: int) -> tuple[list[int], list[int]] | None:
    """(puzzle, solution) with exactly `givens` givens and one solution, or None when the digging
    gets stuck above `givens`."""
    _, solution = solve([0] * 81, limit=1, rng=rng)
    puzzle = list(solution)
    order = list(range(81))
    rng.shuffle(order)
    left = 81
    for i in order:
        if left == givens:
            break
        keep = puzzle[i]
        puzzle[i] = 0
        others = (ALL & ~_used(puzzle, i)) & ~(1 << keep)
        # unique still, unless the cell can take another digit in some solution
        if any(others >> v & 1 and _solvable_with(puzzle, i, v) for v in range(1, 10)):
            puzzle[i] = keep
        else:
            left -= 1
    return (puzzle, solution) if left == givens else None


class Sudoku(Task):
    name: ClassVar[str] = "sudoku"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("9x9 sudoku with exactly one solution (generated; difficulty = number of givens): "
                                  "81 digits in, 81 digits out.")
    defaults: ClassVar[dict] = {"givens": 28, "variants": 8, "needs_search": False}

    def __init__(self, data_dir: str | Path | None = None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))
        self.givens = int(self.options["givens"])
        self.variants = int(self.options["variants"])
        if not 1 <= self.variants <= CHUNK:
            raise ValueError(f"task sudoku: variants={self.variants} is out of range (1..{CHUNK})")
        if not 24 <= self.givens <= 80:
            raise ValueError(f"task sudoku: givens={self.givens} is out of range (24..80; fewer rarely dig out)")

    def normalize(self, answer: str) -> str:
        return "".join(answer.split())

    def score(self, prediction: str, example: Example) -> bool:
        answer = parse_grid(prediction)
        return answer is not None and is_valid_solution(answer, parse_grid(example.question))

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        variants = self.variants if split == "train" else 1
        args = (self.givens, variants, bool(self.options["needs_search"]), split, seed)
        return parallel_generate(_draw, args, n, chunk=CHUNK)


CHUNK = 500


def _draw(givens: int, variants: int, needs_search: bool, split: str, seed: int, start: int,
          stop: int) -> list[Example]:
    """Puzzles start..stop-1 of a split (`start` a multiple of CHUNK), one random stream per chunk:
    each dug puzzle followed by variants - 1 random symmetries of it."""
    hard = "/search" if needs_search else ""
    rng = random.Random(f"sudoku/{givens}/{variants}{hard}/{split}/{seed}/{start // CHUNK}")
    out: list[Example] = []
    while len(out) < stop - start:
        made = make_puzzle(rng, givens)
        if made is None:
            continue
        puzzle, solution = made
        singles = solved_by_singles(puzzle)
        if needs_search and singles:
            continue
        for k in range(min(variants, stop - start - len(out))):
            if k:
                state = rng.getstate()
                puzzle_k = transform(puzzle, rng)
                rng.setstate(state)  # the same symmetry for the solution
                solution_k = transform(solution, rng)
            else:
                puzzle_k, solution_k = puzzle, solution
            out.append(Example(question=grid_text(puzzle_k), steps=(), answer=grid_text(solution_k),
                               meta={"givens": givens, "singles": singles, "variant": k}))
    return out
