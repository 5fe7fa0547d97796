"""Task generators against the official files, scorers, options and data-directory resolution."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from baselines import data
from baselines.tasks.base import Example
from baselines.tasks.gsm8k import GSM8K
from baselines.tasks.multiplication import Multiplication, make_example, official_line, split_of
from baselines.tasks.prosqa import CONCEPTS, PEOPLE, ProsQA, shortest_path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PROSQA_FILES = [SHARED / "coconut" / f"prosqa_{s}.json" for s in ("valid", "test")]
needs_prosqa = pytest.mark.skipif(not all(p.is_file() for p in PROSQA_FILES), reason="official ProsQA files not present")
MULT_DIR = SHARED / "Internalize_CoT_Step_by_Step"


# -- ProsQA ---------------------------------------------------------------------------------------

def _stats(rows: list[dict]) -> dict:
    def n_people(row):
        children = {b for _, b in row["edges"]}
        return sum(i not in children for i in range(len(row["idx_to_symbol"])))

    return {
        "nodes": statistics.mean(len(r["idx_to_symbol"]) for r in rows),
        "edges": statistics.mean(len(r["edges"]) for r in rows),
        "steps": statistics.mean(len(r["steps"]) for r in rows),
        "question_words": statistics.mean(len(r["question"].split()) for r in rows),
        "people": statistics.mean(n_people(r) for r in rows),
        "reachable": statistics.mean(len(shortest_path(len(r["idx_to_symbol"]), [tuple(e) for e in r["edges"]], r["root"]))
                                     for r in rows),
    }


# relative tolerance per statistic (generated mean vs official mean)
TOLERANCE = {"nodes": 0.03, "edges": 0.05, "steps": 0.08, "question_words": 0.05, "people": 0.10, "reachable": 0.10}


@needs_prosqa
def test_prosqa_generator_matches_official_statistics():
    official = [row for path in PROSQA_FILES for row in json.loads(path.read_text())]
    generated = [{"question": e.question, "steps": e.steps, **e.meta} for e in ProsQA().generate("test", 800, seed=0)]
    want, got = _stats(official), _stats(generated)
    for key, tol in TOLERANCE.items():
        assert abs(got[key] - want[key]) <= tol * want[key], f"{key}: generated {got[key]:.2f}, official {want[key]:.2f}"
    # the same range of reasoning depths
    assert {len(r["steps"]) for r in generated} == {len(r["steps"]) for r in official} == {3, 4, 5, 6}


@needs_prosqa
def test_prosqa_generated_text_has_the_official_form():
    fact = r"(?:Every [a-z]+ is a [a-z]+\.|[A-Z][a-z]+ is a [a-z]+\.)"
    question = re.compile(rf"^{fact}(?: {fact})* Is [A-Z][a-z]+ a [a-z]+ or [a-z]+\?$")
    official = json.loads(PROSQA_FILES[0].read_text())
    for row in official[:50]:  # the pattern describes the official files...
        assert question.match(row["question"])
    for ex in ProsQA().generate("train", 50, seed=3):  # ...and the generated ones
        assert question.match(ex.question), ex.question
        assert re.fullmatch(r"[A-Z][a-z]+ is a [a-z]+\.", ex.answer)
    vocabulary = {w for row in official for w in row["idx_to_symbol"]}
    assert vocabulary <= set(PEOPLE) | set(CONCEPTS)


def test_prosqa_examples_are_correct_by_construction():
    for ex in ProsQA().generate("valid", 60, seed=1):
        m = ex.meta
        names, edges = m["idx_to_symbol"], [tuple(e) for e in m["edges"]]
        paths = shortest_path(len(names), edges, m["root"])
        assert m["target"] in paths and m["neg_target"] not in paths  # one option reachable, the other not
        assert len(ex.steps) == len(paths[m["target"]]) - 1  # the steps are a shortest chain
        assert ex.steps[0].startswith(f"{names[m['root']]} is a ")
        for step, (a, b) in zip(ex.steps, zip(paths[m["target"]], paths[m["target"]][1:])):
            assert step.endswith(f"{names[a]} is a {names[b]}.") and step in ex.question
        assert ex.answer == f"{names[m['root']]} is a {names[m['target']]}."
        assert len(ex.question.split(". ")) == len(edges) + 1  # every edge stated once, then the question


def test_prosqa_is_deterministic_and_splits_differ():
    task = ProsQA()
    assert task.generate("train", 5, 0) == task.generate("train", 5, 0)
    assert task.generate("train", 5, 0) != task.generate("train", 5, 1)
    assert not {e.question for e in task.generate("train", 50, 0)} & {e.question for e in task.generate("test", 50, 0)}


@needs_prosqa
def test_prosqa_reads_official_files():
    task = ProsQA(SHARED)
    test = task.examples("test", None, 0)
    assert len(test) == 500 and test[0].answer.endswith(".") and test[0].meta["edges"]
    assert task.score("Tom is a lempus.", Example("q", (), "Tom is a lempus."))
    assert task.score(" tom is a lempus ", Example("q", (), "Tom is a lempus."))
    assert not task.score("Tom is a scrompus.", Example("q", (), "Tom is a lempus."))


def test_prosqa_rejects_a_malformed_file(tmp_path):
    (tmp_path / "prosqa_test.json").write_text('[{"question": "x"}]')
    with pytest.raises(ValueError, match="prosqa_test.json: not a ProsQA file"):
        ProsQA(tmp_path).load("test")


# -- multiplication -------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [4, 5, 7, 9, 11])
def test_multiplication_regenerates_official_lines_byte_for_byte(k):
    path = MULT_DIR / f"{k}_by_{k}_mult" / "valid.txt"
    if not path.is_file():
        pytest.skip("official multiplication files not present")
    lines = path.read_text().splitlines()[:200]
    for line in lines:
        left, right = line.split("||")[0].split(" * ")
        a, b = (int("".join(reversed(x.split()))) for x in (left, right))
        assert official_line(make_example(a, b, k)) == line  # from the operands alone


def test_multiplication_format_for_known_operands():
    ex = make_example(2365, 4347, 4)  # 2365 * 4347 = 10280655
    assert official_line(ex) == ("5 6 3 2 * 7 4 3 4||5 5 5 6 1 + 0 0 6 4 9 0 ( 5 5 1 1 1 1 ) + 0 0 5 9 0 7 0 "
                                 "( 5 5 6 0 2 8 0 ) + 0 0 0 0 6 4 9 0 #### 5 5 6 0 8 2 0 1")


def test_multiplication_generated_splits_are_disjoint_and_valid():
    task = Multiplication(digits=3)
    splits = {s: task.generate(s, 60, seed=0) for s in ("train", "valid", "test")}
    pairs = {s: {(e.meta["a"], e.meta["b"]) for e in exs} for s, exs in splits.items()}
    assert not pairs["train"] & pairs["valid"] and not pairs["train"] & pairs["test"] and not pairs["valid"] & pairs["test"]
    for split, exs in splits.items():
        for e in exs:
            a, b = e.meta["a"], e.meta["b"]
            assert split_of(a, b) == split and 100 <= a <= 999 and 100 <= b <= 999
            assert int("".join(reversed(e.answer.split()))) == a * b
    assert task.generate("train", 10, 0) == splits["train"][:10]  # a prefix does not depend on n


def test_multiplication_training_avoids_official_eval_pairs(tmp_path):
    folder = tmp_path / "Internalize_CoT_Step_by_Step" / "2_by_2_mult"
    folder.mkdir(parents=True)
    held = [make_example(a, b, 2) for a in range(10, 40) for b in range(10, 40)]  # 900 of the 8100 pairs
    (folder / "valid.txt").write_text("".join(official_line(e) + "\n" for e in held))
    task = Multiplication(tmp_path, digits=2)
    assert len(task.examples("valid", None, 0)) == 900
    train = task.examples("train", 2000, 0)
    assert not {(e.meta["a"], e.meta["b"]) for e in train} & {(e.meta["a"], e.meta["b"]) for e in held}


def test_multiplication_scorer_and_errors(tmp_path):
    task = Multiplication(digits=2)
    ex = make_example(12, 34, 2)
    assert task.score("8 0 4 0", ex) and task.score("8040", ex) and not task.score("8 0 4 1", ex)
    with pytest.raises(ValueError, match="unknown option"):
        Multiplication(size=3)
    with pytest.raises(ValueError, match="digits='x' is not a valid int"):
        Multiplication(digits="x")
    assert Multiplication(digits="5").k == 5  # strings from the command line
    (tmp_path / "2_by_2_mult").mkdir()
    (tmp_path / "2_by_2_mult" / "test_bigbench.txt").write_text("12 * 34|| oops\n")
    with pytest.raises(ValueError, match="test_bigbench.txt:1: not a multiplication line"):
        Multiplication(tmp_path, digits=2).load("test")


def test_lfs_pointer_is_not_data(tmp_path):
    folder = tmp_path / "4_by_4_mult"
    folder.mkdir()
    (folder / "train.txt").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n")
    task = Multiplication(tmp_path, digits=4)
    with pytest.warns(UserWarning, match="Git LFS pointer"):
        assert task.load("train") is None


# -- GSM8K ----------------------------------------------------------------------------------------

def test_gsm8k_needs_training_data_and_reads_a_train_file(tmp_path):
    with pytest.raises(ValueError, match="--train-file"):
        GSM8K(tmp_path).examples("train", 10, 0)
    train = tmp_path / "train.txt"
    train.write_text("Tom has 3 apples and buys 4. How many?||<<3+4=7>> #### 7\nA?||<<2*3=6>> <<6-1=5>> #### 5\n")
    task = GSM8K(tmp_path, train_file=str(train))
    examples = task.examples("train", None, 0)
    assert examples[1] == Example("A?", ("<<2*3=6>>", "<<6-1=5>>"), "5")
    with pytest.raises(FileNotFoundError, match="train_file"):
        GSM8K(train_file=str(tmp_path / "missing.txt"))


def test_gsm8k_scorer_compares_numbers():
    task = GSM8K()
    ex = Example("q", (), "1800")
    assert task.score("1800", ex) and task.score("1,800", ex) and task.score("1800.0", ex)
    assert not task.score("180", ex) and not task.score("eighteen hundred", ex)


@pytest.mark.skipif(not (MULT_DIR / "gsm8k" / "valid.txt").is_file(), reason="official GSM8K files not present")
def test_gsm8k_reads_official_eval_files():
    task = GSM8K(SHARED)
    assert len(task.examples("valid", None, 0)) == 500 and len(task.examples("test", None, 0)) == 1319


# -- shared plumbing ------------------------------------------------------------------------------

def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    assert data.resolve_data_dir(tmp_path) == tmp_path
    with pytest.raises(FileNotFoundError, match="--data-dir"):
        data.resolve_data_dir(tmp_path / "nope")
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert data.resolve_data_dir(None) == tmp_path
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="LATENT_DATA_DIR"):
        data.resolve_data_dir(None)
    monkeypatch.delenv(data.DATA_ENV)
    monkeypatch.setattr(data, "REPO_ROOT", tmp_path / "repo")
    assert data.resolve_data_dir(None) is None  # nothing anywhere: generated data only
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert data.resolve_data_dir(None) == tmp_path / "shared" / "data"


def test_parallel_generation_equals_serial(monkeypatch):
    """Worker processes produce exactly what one process does (chunks have their own streams)."""
    monkeypatch.setattr("baselines.tasks.multiplication.CHUNK", 5)  # 12 examples = 3 chunks
    serial = Multiplication(digits=3).generate("train", 12, seed=4)
    monkeypatch.setattr(data, "PARALLEL_ABOVE", 1)
    monkeypatch.setattr(data.os, "cpu_count", lambda: 4)
    parallel = Multiplication(digits=3).generate("train", 12, seed=4)
    assert len(parallel) == 12 and parallel == serial
