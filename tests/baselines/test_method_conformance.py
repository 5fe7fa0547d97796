"""Every registered method (baselines/methods/*.py, variants included) honours the Method interface.

Parametrized over the registry, so a new method is checked as soon as its file exists: on CPU,
with a tiny model and 2-digit multiplication, it must encode every curriculum stage, lower its
loss in a few steps, answer a batch exactly as it answers one question at a time, and report
compute that follows its knob: forward passes and positions, or, for a method that reports
`work` (compute.Work: loops, bidirectional passes, recurrent state), work per example whose FLOPs
grow with the knob.
"""

from __future__ import annotations

import dataclasses
import random
from functools import lru_cache
from pathlib import Path

import pytest
import torch

from baselines.backbone import BackboneConfig, build_backbone
from baselines.batching import collate
from baselines.compute import Work, work_flops
from baselines.format import extract_answer, full_text
from baselines.methods import all_methods, method_summary
from baselines.methods.base import Generation, MethodConfig, StepOutput
from baselines.tasks.multiplication import Multiplication
from baselines.tokenizer import build_tokenizer

METHODS = list(all_methods())
PAPERS = Path(__file__).resolve().parents[2] / "catalog" / "papers"
TASK = Multiplication(digits=2)
TRAIN = TASK.generate("train", 8, seed=0)
TEST = TASK.generate("test", 6, seed=0)
STEPS = 30


@lru_cache(maxsize=1)
def tokenizer():
    return build_tokenizer(full_text(ex) for ex in TRAIN + TEST)


def make(name: str, **overrides):
    cls = all_methods()[name]
    config = cls.Config(**{"max_new_tokens": 12, **overrides})
    return cls(config, tokenizer())


@lru_cache(maxsize=None)
def trained(name: str):
    """(method, model, losses): the method's model after STEPS steps on one batch, at its last stage."""
    method = make(name)
    random.seed(0)
    torch.manual_seed(0)
    tok = tokenizer()
    backbone = build_backbone(BackboneConfig("tiny", n_positions=128), len(tok), pad_id=tok.pad_token_id,
                              eos_id=tok.eos_token_id)
    model = method.build_model(backbone)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    stage = method.stage_at(STEPS - 1, STEPS)
    batch = collate([method.encode(ex, stage) for ex in TRAIN], tok.pad_token_id, method.pad_values)
    losses, outputs = [], []
    model.train()
    for _ in range(STEPS):
        out = model(**batch)
        outputs.append(out)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(out.loss.detach()))
    model.eval()
    return method, model, losses, outputs, batch


@pytest.mark.parametrize("name", METHODS)
def test_declares_the_interface(name):
    cls = all_methods()[name]
    assert cls.name == name
    assert dataclasses.is_dataclass(cls.Config) and issubclass(cls.Config, MethodConfig)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    assert cls.knob is None or cls.knob in fields, f"knob {cls.knob!r} is not a field of the config"
    assert len(method_summary(cls)) > 40, "the module docstring's first paragraph describes the method"
    if cls.paper is not None:
        assert (PAPERS / f"{cls.paper}.yaml").is_file(), f"paper {cls.paper!r} is not in the catalog"


@pytest.mark.parametrize("name", METHODS)
def test_encodes_every_stage(name):
    method = make(name)
    random.seed(0)
    vocab = len(tokenizer())
    stages = sorted({method.stage_at(step, 100) for step in range(100)})
    assert stages[0] == 0
    for stage in stages:
        for ex in TRAIN[:3]:
            row = method.encode(ex, stage)
            assert set(row) >= {"input_ids", "labels"}
            assert all(len(v) == len(row["input_ids"]) for v in row.values())
            assert all(0 <= i < vocab for i in row["input_ids"])
            assert any(label != -100 for label in row["labels"]), "something must be trained on"


@pytest.mark.parametrize("name", METHODS)
def test_training_lowers_the_loss(name):
    _, _, losses, outputs, batch = trained(name)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert min(losses[-5:]) < 0.7 * losses[0], f"loss {losses[0]:.3f} -> {losses[-1]:.3f}"
    for out in outputs[:2]:
        assert isinstance(out, StepOutput) and out.loss.dim() == 0
        assert isinstance(out.forward_passes, int) and out.forward_passes >= 1
        assert isinstance(out.positions, int) and out.positions >= int(batch["attention_mask"].sum())
        if out.work is not None:  # the compute contract: per example, at least the real columns once
            rows = batch["input_ids"].shape[0]
            assert isinstance(out.work, Work) and out.work.layer_positions.shape == (rows,)
            assert (out.work.layer_positions >= batch["attention_mask"].sum(1)).all()
            assert (out.work.logit_positions >= 1).all()


@pytest.mark.parametrize("name", METHODS)
def test_generates_scored_answers_for_a_batch(name):
    method, model, *_ = trained(name)
    gen = method.generate(model, TEST)
    assert isinstance(gen, Generation) and len(gen.texts) == len(TEST)
    for tensor in (gen.generated_tokens, gen.forward_passes, gen.positions):
        assert tensor.shape == (len(TEST),) and not tensor.is_floating_point()
    assert ((gen.generated_tokens >= 1) & (gen.generated_tokens <= method.config.max_new_tokens)).all()
    if gen.work is None:  # one pass per token written (a parallel decoder reports work instead)
        assert (gen.forward_passes >= gen.generated_tokens).all()
    else:
        assert gen.work.layer_positions.shape == (len(TEST),) and (gen.forward_passes >= 1).all()
        assert (gen.work.logit_positions >= gen.generated_tokens).all()
        assert (work_flops(model.shape, gen.work) > 0).all()
    question_tokens = torch.tensor([len(tokenizer().encode(ex.question)) for ex in TEST])
    assert (gen.positions >= question_tokens + gen.generated_tokens - 1).all()
    assert isinstance(gen.latent_steps, int) and gen.latent_steps >= 0
    scores = [TASK.score(extract_answer(text), ex) for text, ex in zip(gen.texts, TEST)]
    assert all(isinstance(s, bool) for s in scores)


@pytest.mark.parametrize("name", METHODS)
def test_batched_generation_equals_one_at_a_time(name):
    method, model, *_ = trained(name)
    batched = method.generate(model, TEST)
    for i, ex in enumerate(TEST):
        single = method.generate(model, [ex])
        assert single.texts[0] == batched.texts[i]
        assert int(single.generated_tokens[0]) == int(batched.generated_tokens[i])
        assert int(single.forward_passes[0]) == int(batched.forward_passes[i])
        assert int(single.positions[0]) == int(batched.positions[i])


@pytest.mark.parametrize("name", [m for m in METHODS if all_methods()[m].knob])
def test_compute_follows_the_knob(name):
    """latent_steps equals the budget; per extra unit of budget every example processes the same
    number (>= 1) of extra positions and the same number (>= 0) of extra sequential passes."""
    method, model, *_ = trained(name)
    if isinstance(getattr(method.config, method.knob), float):  # a threshold: any value in range answers
        for budget in (0.5, 0.9, 1.0):
            gen = method.generate(model, TEST, budget=budget)
            assert len(gen.texts) == len(TEST) and (gen.forward_passes >= gen.generated_tokens).all()
        return
    accepted = {}
    for budget in range(4):
        try:
            accepted[budget] = method.generate(model, TEST, budget=budget)
        except ValueError:
            continue  # a budget the method does not support (it must say so clearly)
    assert accepted, "the method accepts no budget in 0..3"
    for budget, gen in accepted.items():
        assert gen.latent_steps == budget
    if any(gen.work is not None for gen in accepted.values()):
        # the compute contract: with one token to write, each example's FLOPs grow with the budget
        # (a method whose budget is bounded by what it writes, e.g. denoising steps by the span,
        # is measured at its own length instead)
        one_token = make(name, max_new_tokens=1)
        try:
            flops = {b: work_flops(model.shape, one_token.generate(model, TEST, budget=b).work) for b in accepted}
        except ValueError:
            flops = {b: work_flops(model.shape, gen.work) for b, gen in accepted.items()}
        budgets = sorted(flops)
        for low, high in zip(budgets, budgets[1:]):
            assert (flops[high] > flops[low]).all(), f"budget {high} costs no more than {low}"
        return
    budgets = sorted(accepted)
    if any(gen.work is not None for gen in accepted.values()) and len(budgets) >= 2:
        # depth methods (loops, recurrence): every column costs the same extra block applications
        # and every generated token the same extra iterations per unit of budget (in Work)
        depth = {b: accepted[b].work.layer_positions / accepted[b].positions for b in budgets}
        iterations = {b: accepted[b].forward_passes / accepted[b].generated_tokens for b in budgets}
        per_unit = {round(float(x), 6) for lo, hi in zip(budgets, budgets[1:]) for x in (depth[hi] - depth[lo]) / (hi - lo)}
        per_token = {round(float(x), 6) for lo, hi in zip(budgets, budgets[1:])
                     for x in (iterations[hi] - iterations[lo]) / (hi - lo)}
        assert len(per_unit) == 1 and per_unit.pop() >= 1
        assert len(per_token) == 1 and per_token.pop() >= 1
        return
    if len(budgets) < 2:
        return
    extra_positions, extra_passes = set(), set()
    for low, high in zip(budgets, budgets[1:]):
        a, b = accepted[low], accepted[high]
        per_unit = ((b.positions - b.generated_tokens) - (a.positions - a.generated_tokens)) / (high - low)
        passes = ((b.forward_passes - b.generated_tokens) - (a.forward_passes - a.generated_tokens)) / (high - low)
        extra_positions.update(per_unit.tolist())
        extra_passes.update(passes.tolist())
    assert len(extra_positions) == 1 and extra_positions.pop() >= 1
    assert len(extra_passes) == 1 and extra_passes.pop() >= 0
