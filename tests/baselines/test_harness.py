"""The harness on the CPU: results, budget and FLOPs, schedule, data order, resume, failures."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from baselines import checkpoint, harness
from baselines.compute import Shape, train_step_flops
from baselines.batching import batch_indices, collate, epoch_order
from baselines.harness import RunFailed, RunOptions, TrainBudget, execute, lr_factor, run, sweep
from baselines.methods.engines import token as _token
from baselines.results import Result
from baselines.suites import RunSpec

SPEC = RunSpec(method="pause", task="multiplication", task_options={"digits": 2}, knob=2, steps=6, batch_size=8,
               lr=3e-3, n_positions=64, train_n=32, evals=2, valid_n=8, test_n=8, eval_batch_size=4, latency_n=2,
               method_options={"max_new_tokens": 8})


def options(tmp_path: Path, **overrides) -> RunOptions:
    return RunOptions(**{"device": "cpu", "results_dir": tmp_path / "results", "checkpoint_dir": tmp_path / "ck",
                         "progress": False, **overrides})


def result_files(root: Path) -> list[Path]:
    return sorted(root.glob("*/*/*.json"))


def test_run_writes_one_valid_result_with_budget_and_compute(tmp_path):
    result = run("pause", "multiplication", TrainBudget(steps=6, batch_size=8), options(tmp_path),
                 **{k: v for k, v in vars(SPEC).items() if k not in ("method", "task", "steps", "batch_size")})
    [path] = result_files(tmp_path / "results")
    assert path == tmp_path / "results" / "multiplication" / "pause" / f"{result.run_id}.json"
    assert Result.model_validate_json(path.read_text()) == result
    assert result.status == "completed" and result.knob == "pauses" and result.knob_value == 2
    assert result.budget.optimizer_steps == 6 and result.budget.examples_seen == 48
    # the training FLOPs are the analytic FLOPs of exactly the batches the run used
    from baselines.methods.pause import Pause, PauseConfig
    from baselines.tokenizer import load_tokenizer

    folder = next((tmp_path / "ck").iterdir())
    method = Pause(PauseConfig(pauses=2), load_tokenizer(folder / "tokenizer"))
    train = harness.get_task("multiplication", None, digits=2).examples("train", 32, 0)
    shape = Shape(n_layer=2, n_embd=64, vocab_size=result.model["vocab_size"])
    expected = 0.0
    for step in range(6):
        batch = collate([method.encode(train[i], 0) for i in batch_indices(32, 0, step, 8)], method.tokenizer.pad_token_id)
        expected += train_step_flops(shape, batch["input_ids"].numel(), 8, int((batch["labels"][:, 1:] != -100).sum()))
    assert result.budget.train_flops == pytest.approx(expected)
    valid, metrics = result.eval
    assert valid.split == "valid" and metrics.split == "test" and valid.n_examples == 8
    assert metrics.n_examples == 8 and metrics.latent_steps == 2 and 0 <= metrics.accuracy <= 1
    assert metrics.forward_passes == metrics.generated_tokens  # pauses cost positions, not passes
    # every answer is sorted into one kind (right / wrong / no answer): shares that sum to 1, the
    # right ones equal to the accuracy
    assert set(metrics.outcomes) == {"right", "wrong", "no_answer"}
    assert sum(metrics.outcomes.values()) == pytest.approx(1.0)
    assert metrics.outcomes["right"] == pytest.approx(metrics.accuracy)
    assert metrics.inference_flops > 0 and metrics.latency_ms_batch1 > 0 and metrics.latency_ms_batchN > 0
    assert metrics.peak_memory_mb is None  # CPU: documented as not reported
    assert result.environment.device == "cpu" and result.environment.precision == "fp32"
    assert set(result.environment.versions) >= {"python", "torch", "transformers", "tokenizers"}
    assert len(result.train["loss_curve"]) == 6 and result.train["ranks_agree"] is True


def test_learning_rate_schedule():
    assert lr_factor(0, 100, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10, 0.1) == pytest.approx(1.0)
    assert lr_factor(10, 100, 10, 0.1) == pytest.approx(1.0)
    assert lr_factor(55, 100, 10, 0.1) == pytest.approx(0.55)  # half way down the cosine
    assert lr_factor(100, 100, 10, 0.1) == pytest.approx(0.1)


def test_batch_order_is_a_sharded_deterministic_stream():
    n, batch = 10, 4
    stream = [i for step in range(5) for i in batch_indices(n, 7, step, batch)]  # 20 = two epochs
    assert sorted(stream[:10]) == list(range(10)) and sorted(stream[10:]) == list(range(10))
    assert tuple(stream[:10]) == epoch_order(10, 7, 0) and stream[:10] != stream[10:]
    for step in range(5):
        shards = [batch_indices(n, 7, step, batch, rank, 2) for rank in range(2)]
        assert shards[0] + shards[1] == batch_indices(n, 7, step, batch)  # ranks split the global batch
    with pytest.raises(ValueError, match="not divisible"):
        batch_indices(n, 7, 0, 5, 0, 2)


def test_collate_pads_on_the_right():
    rows = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7], "extra": [1, 1, 1]},
            {"input_ids": [8], "labels": [8], "extra": [2]}]
    batch = collate(rows, pad_id=0, pad_values={"extra": 9})
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["extra"].tolist() == [[1, 1, 1], [2, 9, 9]]
    with pytest.raises(ValueError, match="field 'extra' of row 0"):
        collate([{"input_ids": [1, 2], "labels": [1, 2], "extra": [1]}], pad_id=0)


class Interrupt(Exception):
    pass


def _interrupt_at(monkeypatch, step: int):
    """Make the harness raise when it builds the batch of optimizer step `step` (one batch per step)."""
    calls = {"n": 0}
    real = harness.collate

    def collate_then_stop(*args, **kwargs):
        if calls["n"] == step:
            raise Interrupt(f"stopped at step {step}")
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(harness, "collate", collate_then_stop)


def _state(folder: Path) -> dict:
    return checkpoint.load(next(folder.iterdir()))["model"]


def test_resume_after_an_interruption_repeats_the_uninterrupted_run(tmp_path, monkeypatch):
    spec = replace(SPEC, steps=10)
    [full] = execute(spec, options(tmp_path / "a", checkpoint_every=3))
    with monkeypatch.context() as patch:
        _interrupt_at(patch, 7)
        with pytest.raises(Interrupt):
            execute(spec, options(tmp_path / "b", checkpoint_every=3))
    assert not result_files(tmp_path / "b" / "results")  # no result for a run that did not finish
    assert checkpoint.load(next((tmp_path / "b" / "ck").iterdir()))["record"]["step"] == 6
    [resumed] = execute(spec, options(tmp_path / "b", checkpoint_every=3, resume=True))
    assert resumed.train["resumed_from"] == 6
    assert resumed.train["loss_curve"] == full.train["loss_curve"]  # the same losses, step by step
    assert resumed.budget == full.budget
    a, b = _state(tmp_path / "a" / "ck"), _state(tmp_path / "b" / "ck")
    assert all(torch.equal(a[k], b[k]) for k in a)
    timing = {"latency_ms_batch1", "latency_ms_batchN"}
    assert [m.model_dump(exclude=timing) for m in resumed.eval] == [m.model_dump(exclude=timing) for m in full.eval]
    assert resumed.selection == full.selection


def test_gradient_accumulation_matches_the_full_batch(tmp_path):
    """2-digit products all have the same length, so micro-batches average exactly like one batch."""
    [full] = execute(replace(SPEC, steps=4), options(tmp_path / "a"))
    [micro] = execute(replace(SPEC, steps=4, micro_batch_size=2), options(tmp_path / "b"))
    for (_, x), (_, y) in zip(full.train["loss_curve"], micro.train["loss_curve"]):
        assert y == pytest.approx(x, rel=1e-5)
    assert micro.budget.train_flops == pytest.approx(full.budget.train_flops)


def test_non_finite_loss_fails_the_run_with_the_reason(tmp_path, monkeypatch):
    real = _token.TokenLM.forward
    calls = {"n": 0}

    def poisoned(self, **batch):
        out = real(self, **batch)
        calls["n"] += 1
        if calls["n"] == 3:
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(_token.TokenLM, "forward", poisoned)
    with pytest.raises(RunFailed, match=r"non-finite training loss \(nan\) at step 2") as caught:
        execute(SPEC, options(tmp_path))
    [path] = result_files(tmp_path / "results")
    result = Result.model_validate_json(path.read_text())
    assert result == caught.value.result
    assert result.status == "failed" and "step 2" in result.failure and result.eval == []
    assert result.budget.optimizer_steps == 2  # the steps that were completed


@pytest.mark.parametrize("where", ["training", "evaluation"])
def test_out_of_memory_names_the_setting_to_lower(tmp_path, monkeypatch, where):
    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    if where == "training":
        monkeypatch.setattr(_token.TokenLM, "forward", out_of_memory)
    else:
        monkeypatch.setattr("baselines.methods.pause.Pause.generate", out_of_memory)
    with pytest.raises(RunFailed) as caught:
        execute(SPEC, options(tmp_path))
    message = str(caught.value)
    if where == "training":
        assert "--batch-size" in message and "--micro-batch-size" in message
    else:
        assert "--eval-batch-size" in message and "pauses" in message
    assert caught.value.result.status == "failed" and caught.value.result.failure == message


def test_sweep_trains_once_and_writes_one_result_per_knob_value(tmp_path):
    results = sweep(SPEC, [0, 3], options(tmp_path))
    assert [r.knob_value for r in results] == [0, 3]
    assert [[m.latent_steps for m in r.eval] for r in results] == [[0, 0], [3, 3]]
    assert [[m.split for m in r.eval] for r in results] == [["valid", "test"]] * 2
    chosen = 0 if results[0].eval[0].accuracy >= results[1].eval[0].accuracy else 3  # validation chooses
    assert [r.sweep.selected for r in results] == [chosen == 0, chosen == 3]
    assert all(r.sweep.selected_value == chosen and r.sweep.values == [0, 3] for r in results)
    assert results[0].train == results[1].train and results[0].budget == results[1].budget
    assert results[1].eval[0].inference_flops > results[0].eval[0].inference_flops
    assert len(result_files(tmp_path / "results")) == 2 and results[0].run_id != results[1].run_id


def test_user_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        execute(replace(SPEC, method="nope"), options(tmp_path))
    with pytest.raises(ValueError, match="method no_cot has no compute knob"):
        execute(replace(SPEC, method="no_cot"), options(tmp_path))
    with pytest.raises(ValueError, match="bad option"):
        execute(replace(SPEC, method_options={"no_such_field": 1}), options(tmp_path))
    with pytest.raises(RunFailed, match="raise --n-positions"):
        execute(replace(SPEC, n_positions=8), options(tmp_path))
    with pytest.raises(ValueError, match="CUDA is not available"):
        execute(SPEC, options(tmp_path, device="cuda"))


@pytest.mark.parametrize("field, value, message", [
    ("steps", 0, "--steps must be an integer >= 1"),
    ("micro_batch_size", 0, "--micro-batch-size must be an integer >= 1"),
    ("lr", 0.0, "--lr must be > 0"),
    ("evals", 0, "--evals must be an integer >= 1"),
    ("valid_n", 0, "--valid-n must be an integer >= 1"),
])
def test_bad_settings_name_the_flag(field, value, message):
    with pytest.raises(ValueError, match=message):
        replace(SPEC, **{field: value})


def test_selection_keeps_only_weights_of_the_final_stage():
    """An earlier stage's weights are evaluated (the curve is informative) but never kept, even when
    they score best: iCoT before its CoT is removed is a CoT model (seen on the GPU: a 4x4 iCoT run
    'scored' 0.75 with the weights of its first stage, writing the whole CoT)."""
    import torch.nn as nn

    from baselines.results import Metrics
    from baselines.selection import Selector

    def metrics(acc):
        return Metrics(split="valid", n_examples=4, accuracy=acc, generated_tokens=1, latent_steps=0,
                       forward_passes=1, inference_flops=1.0)

    model = nn.Linear(2, 2)
    selector = Selector(steps=[10, 20, 30], eligible_from=21)
    assert selector.offer(10, metrics(0.9), model) is False  # stage 0: recorded, not kept
    assert selector.offer(20, metrics(0.8), model) is False
    assert selector.offer(30, metrics(0.1), model) is True
    assert selector.best_step == 30 and selector.evaluations == [(10, 0.9), (20, 0.8), (30, 0.1)]
    assert Selector.from_state(selector.state()).eligible_from == 21


@pytest.mark.parametrize("method, options, steps, expected", [
    ("no_cot", {}, 100, 1),  # one stage: any step
    ("icot", {"num_stages": 4, "remove_per_stage": 2}, 100, 76),  # equal shares: the last starts at step 75
    # stages 0..3 (the last, max_latent_stage + 1, drops the remaining steps), 10 steps each but the last
    ("coconut", {"max_latent_stage": 2, "c_thought": 1, "stage_share": 0.1}, 100, 31),
])
def test_selectable_from_is_the_first_step_of_the_final_stage(method, options, steps, expected):
    from baselines.methods import get_method
    from test_coconut import tokenizer  # tests/baselines is on sys.path under pytest

    cls = get_method(method)
    instance = cls(cls.Config(**options), tokenizer())
    assert instance.selectable_from(steps) == expected
    if instance.num_stages > 1:
        assert instance.stage_at(expected - 1, steps) == instance.num_stages - 1
        assert instance.stage_at(expected - 2, steps) < instance.num_stages - 1


def test_a_staged_run_selects_from_its_final_stage(tmp_path):
    spec = replace(SPEC, method="icot", knob=None, steps=8, evals=4, method_options={"num_stages": 2, "max_new_tokens": 8})
    [result] = execute(spec, options(tmp_path))
    assert result.selection.eligible_from == 5  # stage 1 (CoT gone) starts at step 4 (counted from 0)
    assert [s for s, _ in result.selection.evaluations] == [2, 4, 6, 8]
    assert result.selection.selected_step in (6, 8) and result.eval[1].step == result.selection.selected_step
