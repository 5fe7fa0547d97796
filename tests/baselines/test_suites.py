"""The named suites: every spec validates, the reproduction recipes are the documented ones, and
the command line turns a suite and a method into a RunSpec (no training)."""

from __future__ import annotations

import pytest

from baselines import suites
from baselines.format import steps_text
from baselines.harness import _method_config
from baselines.methods import get_method
from baselines.suites import RECIPES, SUITE_METHODS, SUITES, RunSpec, suite, suite_methods
from baselines.tasks import get_task
from baselines.tokenizer import build_tokenizer
from scripts import bench_commands
from scripts.latent import build_parser

REPRO = ("prosqa-repro", "mult4-repro", "mult5-repro")


@pytest.mark.parametrize("name", list(SUITES))
def test_every_spec_of_every_suite_validates(name):
    specs = suite(name)
    assert [s.method for s in specs] == suite_methods(name)
    for spec in specs:
        assert isinstance(RunSpec(**vars(spec)), RunSpec)  # the RunSpec checks pass
        cls, config = _method_config(spec)  # the method's Config accepts the options
        assert cls is get_method(spec.method)
        for key, value in spec.method_options.items():
            assert getattr(config, key) == value
        assert spec.suite == name


def test_reproduction_suites_name_their_methods_and_budgets():
    assert SUITE_METHODS["prosqa-repro"] == ("no_cot", "cot", "pause", "icot", "coconut", "coconut_no_curriculum",
                                             "coconut_no_thought", "coconut_pause_as_thought", "codi")
    assert SUITE_METHODS["mult4-repro"] == SUITE_METHODS["mult5-repro"] == ("no_cot", "cot", "icot", "coconut", "codi")
    for name in REPRO:
        spec = SUITES[name]
        assert spec.model_size == "small" and spec.model is None  # from scratch, minutes a run
        assert spec.evals >= 4 and spec.lr == 3e-4
        assert all(s.lr == spec.lr for s in suite(name))  # no method changes the learning rate
    assert (SUITES["prosqa-repro"].steps * SUITES["prosqa-repro"].batch_size) // 17886 == 50  # 50 epochs
    assert SUITES["mult4-repro"].task_options == {"digits": 4}
    assert SUITES["mult5-repro"].task_options == {"digits": 5}


def test_coconut_prosqa_recipe_gives_five_of_fifty_epochs_per_stage():
    options = {s.method: s.method_options for s in suite("prosqa-repro")}
    assert options["coconut"] == {"c_thought": 1, "max_latent_stage": 6, "stage_share": 0.1, "reset_optimizer": True}
    for ablation in ("coconut_no_curriculum", "coconut_no_thought", "coconut_pause_as_thought"):
        assert options[ablation] == options["coconut"]
    assert options["pause"] == {"pauses": 6}  # as many pauses as Coconut's thoughts
    cls, config = _method_config(suite("prosqa-repro", ["coconut"])[0])
    assert config.thoughts == 6
    method = cls(config, tokenizer=None)
    steps = SUITES["prosqa-repro"].steps
    epochs = [round(50 * step / steps) for step in range(steps)]
    first_step = {}
    for step in range(steps):
        first_step.setdefault(method.stage_at(step, steps), epochs[step])
    # stages 0..6 begin every 5 epochs; the final stage (7) runs from epoch 35 to 50
    assert first_step == {0: 0, 1: 5, 2: 10, 3: 15, 4: 20, 5: 25, 6: 30, 7: 35}


@pytest.mark.parametrize("name, task, options, n", [
    ("prosqa-repro", "prosqa", {}, 3000),
    ("mult4-repro", "multiplication", {"digits": 4}, 200),
    ("mult5-repro", "multiplication", {"digits": 5}, 200),
])
def test_icot_removes_the_whole_cot_before_its_last_stage(name, task, options, n, tmp_path):
    recipe = RECIPES[name]["icot"]
    assert recipe["remove_per_stage"] == 8
    examples = get_task(task, data_dir=tmp_path, **options).generate("train", n, 0)
    tokenizer = build_tokenizer([e.question + " " + steps_text(e) + " " + e.answer for e in examples])
    longest = max(len(tokenizer(steps_text(e))["input_ids"]) for e in examples)
    # the stage before the last already removes (num_stages - 2) x remove_per_stage tokens
    assert (recipe["num_stages"] - 2) * recipe["remove_per_stage"] >= longest
    slack = (recipe["num_stages"] - 2) * recipe["remove_per_stage"] - longest
    assert slack < 2 * recipe["remove_per_stage"]  # at most one stage of margin


def test_coconut_on_multiplication_has_a_thought_per_step(tmp_path):
    for name, digits in (("mult4-repro", 4), ("mult5-repro", 5)):
        examples = get_task("multiplication", data_dir=tmp_path, digits=digits).generate("train", 50, 0)
        assert RECIPES[name]["coconut"]["max_latent_stage"] == max(len(e.steps) for e in examples) == digits


def test_cli_suite_and_method_give_a_runspec():
    args = build_parser().parse_args(["bench", "run", "--suite", "prosqa-repro", "--method", "no_cot", "--seed", "2"])
    [spec] = bench_commands._specs(args)
    assert spec == RunSpec(**{**vars(suites.PROSQA_REPRO), "method": "no_cot", "seed": 2})
    args = build_parser().parse_args(["bench", "run", "--suite", "prosqa-repro", "--method", "coconut"])
    [spec] = bench_commands._specs(args)
    assert spec.method_options["stage_share"] == 0.1 and spec.seed == 0


def test_a_method_outside_the_suite_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"suite mult4-repro: method\(s\) pause not in the suite; available: no_cot"):
        suite("mult4-repro", ["pause"])
    args = build_parser().parse_args(["bench", "run", "--suite", "mult4-repro", "--method", "cot,pause"])
    with pytest.raises(ValueError, match="pause not in the suite"):
        bench_commands._specs(args)
