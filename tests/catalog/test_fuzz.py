"""Property tests: whatever bytes or YAML a file holds, `check` answers with Problems, never a
traceback, and every Problem points at a real line of the file."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from catalog_helpers import VALID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.problems import Problem
from catalog.validate import check_bytes

FIELDS = ["id", "title", "authors", "date", "venue", "arxiv", "arxiv_version", "doi", "url", "code",
          "taxonomy", "tags", "tldr", "baselines", "results", "date_precision", "bogus"]  # fmt: skip
pytestmark = pytest.mark.slow
FAST = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_well_formed(problems: list[Problem], raw: bytes) -> None:
    assert isinstance(problems, list)
    # YAML also breaks lines at \r, \x85, \u2028 and \u2029; Python's splitlines knows them all
    n_lines = max(raw.count(b"\n"), len(raw.decode("utf-8", "replace").splitlines())) + 1
    for problem in problems:
        assert isinstance(problem, Problem)
        assert 1 <= problem.line <= n_lines + 1, (problem, n_lines)
        assert problem.message
        assert str(problem).startswith("paper.yaml:")


@FAST
@given(st.binary(max_size=3000))
def test_random_bytes(raw):
    assert_well_formed(check_bytes(raw), raw)


YAML_PIECES = ["\n", ": ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ", "!!python/name:os.system ", "---\n",
               "...\n", "\t", "  ", "'", '"', "#", "|", ">-\n", "? ", "\ufeff", "\x00", "\x85", "é", "TODO", "1e999",
               "9" * 50, "2024-02-30", "~", "null", "yes", "<<: *a\n", "%YAML 1.1\n", "\\u"]  # fmt: skip


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID)), st.sampled_from(YAML_PIECES) | st.text(max_size=5)), max_size=8))
def test_mutated_valid_file(edits):
    text = VALID
    for position, piece in edits:
        position = min(position, len(text))
        text = text[:position] + piece + text[position:]
    raw = text.encode("utf-8", "surrogatepass")
    assert_well_formed(check_bytes(raw), raw)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 16), max_size=10), st.binary(min_size=1, max_size=4))
def test_lines_dropped_or_garbled(drop, garbage):
    lines = VALID.splitlines(keepends=True)
    kept = [line for i, line in enumerate(lines) if i not in drop]
    raw = "".join(kept).encode() + garbage
    assert_well_formed(check_bytes(raw), raw)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.dates(min_value=dt.date(1, 1, 1))
    | st.sampled_from(["TODO", "2412.06769", "10.1/x", "https://x.org", "math", "looped", "continuous-thought"])
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), children, max_size=5),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values | st.dictionaries(st.sampled_from(FIELDS), values, max_size=len(FIELDS)))
def test_generated_documents(document):
    raw = yaml.safe_dump(document, allow_unicode=True).encode("utf-8", "surrogatepass")
    assert_well_formed(check_bytes(raw), raw)


def test_yaml_bomb_is_refused_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")
    )
    problems = check_bytes(bomb.encode())
    assert any("alias" in p.message for p in problems)
    assert all(p.line >= 2 for p in problems if "alias" in p.message)


def test_ten_megabyte_file_is_refused_without_parsing(tmp_path):
    from catalog.validate import check

    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "big.yaml").write_bytes(b"a: " + b"x" * 10_000_000)
    problems = [p for p in check(papers) if p.file == papers / "big.yaml"]
    assert len(problems) == 1 and "over the 1,000,000-byte limit" in problems[0].message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(YAML_PIECES) | st.text(max_size=20), min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_whole_folders_of_damaged_files(pieces, rng):
    """`check` over a folder: several damaged copies of one paper (same ids, arXiv ids, titles)."""
    import tempfile
    from pathlib import Path

    from catalog.validate import check

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, piece in enumerate(pieces):
            position = rng.randrange(len(VALID) + 1)
            text = VALID[:position] + piece + VALID[position:]
            (folder / f"smith2024looped{'bcd'[n - 1] if n else ''}.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
        problems = check(folder)
        assert all(isinstance(p, Problem) and p.line >= 1 and p.message for p in problems)
        if len(pieces) > 1:  # the copies clash with each other, or at least one is broken
            assert any(p.is_error for p in problems)
