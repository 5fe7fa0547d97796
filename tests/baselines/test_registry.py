"""The registry: methods, variants, knobs and tasks read from source without torch; a method or
task added as one file in a folder of LATENT_METHOD_DIRS / LATENT_TASK_DIRS appears everywhere
(bench ls, the suites, the method loader, the conformance tests, the catalog check, the site)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from baselines import registry

REPO = Path(__file__).resolve().parents[2]

# A real method, one file: the chain of thought written in reverse order (last step first).
REVERSED_COT = textwrap.dedent('''
    """Reversed chain of thought: the reasoning steps are written last step first.

    A control for the order of the written reasoning: the same tokens as CoT, in reverse order,
    so a model cannot compute each step from the ones before it. No compute knob.
    """

    from dataclasses import dataclass

    from baselines.format import Example
    from baselines.methods.base import MethodConfig
    from baselines.methods.engines.token import TokenLevelMethod


    @dataclass
    class Config(MethodConfig):
        max_new_tokens: int = 96


    class ReversedCoT(TokenLevelMethod):
        name = "reversed_cot"
        paper = None
        Config = Config
        knob = None

        def middle(self, example: Example, stage: int) -> tuple[list[int], bool]:
            return self.ids("".join(step + "\\n" for step in reversed(example.steps))), True
''')

# A real task, one file (pair_sum): addition of two k-digit numbers, answer only.
ADDITION = textwrap.dedent('''
    """Addition of two k-digit numbers (digits least significant first, no steps but the carry line)."""

    import random
    from typing import ClassVar

    from baselines.data import check_options
    from baselines.tasks.base import Example, Task


    class Addition(Task):
        name: ClassVar[str] = "pair_sum"
        version: ClassVar[int] = 1
        description: ClassVar[str] = "k-digit addition"
        defaults: ClassVar[dict] = {"digits": 2}
        chance: ClassVar[float] = 0.0

        def __init__(self, data_dir=None, **options):
            super().__init__(data_dir, **check_options(self.name, self.defaults, options))

        def generate(self, split, n, seed):
            if split not in ("train", "valid", "test"):
                raise ValueError(f"unknown split {split!r}")
            rng = random.Random(f"pair_sum/{split}/{seed}")
            k = int(self.options["digits"])
            out = []
            for _ in range(n):
                a, b = rng.randrange(10 ** k), rng.randrange(10 ** k)
                out.append(Example(question=f"{a} + {b}", steps=(f"{a} + {b} = {a + b}",), answer=str(a + b)))
            return out
''')


@pytest.fixture
def extra(tmp_path, monkeypatch):
    methods, tasks = tmp_path / "methods", tmp_path / "tasks"
    methods.mkdir()
    tasks.mkdir()
    (methods / "reversed_cot.py").write_text(REVERSED_COT, encoding="utf-8")
    (tasks / "pair_sum.py").write_text(ADDITION, encoding="utf-8")
    monkeypatch.setenv(registry.METHOD_DIRS_ENV, str(methods))
    monkeypatch.setenv(registry.TASK_DIRS_ENV, str(tasks))
    return tmp_path


def test_reads_methods_variants_knobs_and_tasks_without_torch():
    code = ("import sys, json; from baselines import registry, results; "
            "m = registry.methods(); t = registry.tasks(); "
            "print(json.dumps({'torch': 'torch' in sys.modules, 'methods': {k: [v.knob, v.knob_default, v.variant_of, "
            "v.paper] for k, v in m.items()}, 'tasks': {k: [v.version, v.options, v.chance] for k, v in t.items()}}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    listing = json.loads(out.stdout)
    assert listing["torch"] is False
    methods = listing["methods"]
    assert methods["pause"] == ["pauses", 10, None, "goyal2023think"]
    assert methods["coconut_pause_as_thought"] == ["thoughts", None, "coconut", "hao2024training"]
    assert methods["coconut_no_thought"][0] is None  # a variant may drop the knob
    assert methods["codi"][:2] == ["latents", 6]
    assert listing["tasks"]["prosqa"][2] == 0.5 and listing["tasks"]["multiplication"][1] == {"digits": 4}


def test_registry_agrees_with_the_imported_classes():
    from baselines.methods import all_methods
    from baselines.tasks import get_task_class

    classes = all_methods()
    assert set(classes) == set(registry.methods())
    for name, entry in registry.methods().items():
        cls = classes[name]
        assert (cls.knob, cls.paper) == (entry.knob, entry.paper), name
        defaults = cls.Config()
        if entry.knob and entry.knob_default is not None:
            assert getattr(defaults, entry.knob) == entry.knob_default
    for name, entry in registry.tasks().items():
        cls = get_task_class(name)
        assert (cls.version, cls.chance, dict(getattr(cls, "defaults", {}))) == (entry.version, entry.chance, entry.options)


def test_variants_are_names_a_paper_may_use():
    from catalog.methods import known_methods

    assert {"coconut", "coconut_pause_as_thought", "coconut_no_curriculum", "pause"} <= known_methods()


def test_bad_files_and_folders_are_named(tmp_path, monkeypatch):
    (tmp_path / "broken.py").write_text("def (:\n", encoding="utf-8")
    with pytest.raises(registry.RegistryError, match=r"broken\.py:1: cannot parse"):
        registry.method_modules([tmp_path])
    (tmp_path / "broken.py").unlink()
    (tmp_path / "pause.py").write_text('class P:\n    name = "pause"\n', encoding="utf-8")
    with pytest.raises(registry.RegistryError, match=r"pause\.py: a method module named 'pause' already exists"):
        registry.method_modules([registry.METHODS_DIR, tmp_path])
    monkeypatch.setenv(registry.METHOD_DIRS_ENV, str(tmp_path / "missing"))
    with pytest.raises(registry.RegistryError, match="LATENT_METHOD_DIRS: .*missing is not a folder"):
        registry.methods()
    monkeypatch.delenv(registry.METHOD_DIRS_ENV)
    with pytest.raises(ValueError, match="unknown method 'nope'; available: .*pause"):
        registry.method("nope")


def test_a_method_and_a_task_added_as_one_file_each_appear_everywhere(extra, tmp_path, capsys):
    from baselines.methods import get_method
    from baselines.suites import suite
    from baselines.tasks import get_task
    from catalog.methods import known_methods
    from scripts.latent import main

    assert registry.methods()["reversed_cot"].path == extra / "methods" / "reversed_cot.py"
    assert get_method("reversed_cot").name == "reversed_cot"
    assert "reversed_cot" in [s.method for s in suite("smoke")]
    assert "reversed_cot" in known_methods()
    assert get_task("pair_sum", digits=3).examples("test", 2, 0)[0].question.count("+") == 1
    assert main(["bench", "ls", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert "reversed_cot" in {m["name"] for m in listing["methods"]}
    assert "pair_sum" in {t["name"] for t in listing["tasks"]}
    # the smoke suite runs it end to end, on the new task too
    results = tmp_path / "results"
    common = ["--device", "cpu", "--results-dir", str(results), "--checkpoint-dir", str(tmp_path / "ck"), "--no-progress"]
    assert main(["bench", "run", "--suite", "smoke", "--method", "reversed_cot", *common]) == 0
    assert main(["bench", "run", "--suite", "smoke", "--method", "reversed_cot", "--task", "pair_sum", *common]) == 0
    assert sorted(p.parent.parent.name for p in results.glob("*/reversed_cot/*.json")) == ["multiplication", "pair_sum"]
    # the site lists its page
    sys.path.insert(0, str(REPO / "site"))
    try:
        from atlas.inputs import load_inputs

        inputs = load_inputs()
    finally:
        sys.path.remove(str(REPO / "site"))
    assert inputs.methods["reversed_cot"].summary.startswith("Reversed chain of thought")
    assert "pair_sum" in inputs.tasks and (extra / "methods") in inputs.watch


@pytest.mark.slow
def test_the_conformance_tests_cover_a_method_added_as_one_file(extra):
    """The shared conformance suite, run as a user would with the folder in the environment."""
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/baselines/test_method_conformance.py", "-k", "reversed_cot"],
                         cwd=REPO, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stdout[-2000:]
    assert "5 passed" in out.stdout, out.stdout[-500:]  # every conformance test (it has no knob)
