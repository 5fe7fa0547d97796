"""Every registered task (baselines/tasks/*.py) honours the Task interface."""

from __future__ import annotations

import importlib

import pytest

from baselines.format import ANSWER_MARKER, extract_answer
from baselines.tasks import available_tasks, get_task, get_task_class
from baselines.tasks.base import Example

GSM_LINES = [
    "Ann has 3 pens and buys 4 more. How many pens does she have?||<<3+4=7>> #### 7",
    "A box holds 6 eggs. How many eggs are in 5 boxes?||<<6*5=30>> #### 30",
    "Bo had 20 dollars and spent 8. How much is left?||<<20-8=12>> #### 12",
    "Cy reads 2 books a week. How many in 3 weeks, plus 1?||<<2*3=6>> <<6+1=7>> #### 7",
]


@pytest.fixture
def data_dir(tmp_path):
    """A data folder with a few GSM8K lines (the one task without a generator); others generate."""
    folder = tmp_path / "gsm8k"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        (folder / f"{split}.txt").write_text("".join(line + "\n" for line in GSM_LINES))
    return tmp_path


@pytest.mark.parametrize("name", available_tasks())
def test_task_conforms(name, data_dir):
    cls = get_task_class(name)
    assert cls.name == name
    assert isinstance(cls.version, int) and cls.version >= 1
    assert isinstance(cls.description, str) and cls.description.strip()
    assert (importlib.import_module(cls.__module__).__doc__ or "").strip(), "the module needs a docstring"
    task = get_task(name, data_dir)
    info = task.info()
    assert info["name"] == name and info["version"] == cls.version and isinstance(info["options"], dict)

    for split in ("train", "test"):
        examples = task.examples(split, 4, seed=0)
        assert len(examples) == 4
        assert examples == task.examples(split, 4, seed=0), "examples must be deterministic"
        for ex in examples:
            assert isinstance(ex, Example) and isinstance(ex.question, str) and ex.question
            assert isinstance(ex.steps, tuple) and all(isinstance(s, str) and s for s in ex.steps)
            assert isinstance(ex.answer, str) and ex.answer and "\n" not in ex.answer
            assert ANSWER_MARKER not in ex.answer and all("\n" not in s for s in ex.steps)
            # the text a model writes for this answer is scored correct...
            assert task.score(extract_answer(f"{ANSWER_MARKER} {ex.answer}"), ex)
            assert not task.score("", ex)
        # ...and another example's different answer is not
        for a, b in zip(examples, examples[1:]):
            if task.normalize(a.answer) != task.normalize(b.answer):
                assert not task.score(b.answer, a)


@pytest.mark.parametrize("name", available_tasks())
def test_task_rejects_unknown_options_and_splits(name, data_dir):
    with pytest.raises(ValueError, match="unknown option"):
        get_task(name, data_dir, no_such_option=1)
    with pytest.raises(ValueError, match="unknown split"):
        get_task(name, data_dir).examples("dev", 2, 0)


def test_unknown_task_names_the_available_ones():
    with pytest.raises(ValueError, match="available: .*prosqa"):
        get_task("prosqb")
