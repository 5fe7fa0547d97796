"""iCoT-SI: the schedule removes the right CoT tokens at each stage (smoothing included), the
final stage answers directly, batched generation equals one at a time, training lowers the loss
(fp32, tiny models, CPU)."""

from __future__ import annotations

import math
import random

import pytest
import torch
from test_coconut import EXAMPLES, backbone, right_pad, tokenizer  # tests/baselines is on sys.path under pytest

from baselines.methods.engines.latent import example_parts
from baselines.methods.icot import ICoT, Config, smoothing_offset


def test_stages_remove_tokens_from_the_start_of_the_chain():
    tok = tokenizer()
    method = ICoT(Config(remove_per_stage=3, num_stages=4, removal_smoothing_lambda=math.inf), tok)
    assert method.num_stages == 4
    ex = EXAMPLES[0]
    question, steps, answer = example_parts(tok, ex)
    cot = [t for s in steps for t in s]
    assert len(cot) > 9
    for stage, removed in ((0, 0), (1, 3), (2, 6), (3, len(cot))):  # the last stage removes everything
        row = method.encode(ex, stage)
        assert row["input_ids"] == question + cot[removed:] + answer
        assert row["labels"] == [-100] * len(question) + cot[removed:] + answer
    # a stage that asks for more than the chain holds removes the whole chain, nothing more
    short = ICoT(Config(remove_per_stage=50, num_stages=3, removal_smoothing_lambda=math.inf), tok)
    assert short.encode(ex, 1)["input_ids"] == question + answer


def test_removal_smoothing_offsets_follow_the_geometric_law():
    rng = random.Random(0)
    lam = 1.0
    draws = [smoothing_offset(lam, rng) for _ in range(20000)]
    assert min(draws) == 0
    p0 = draws.count(0) / len(draws)
    assert abs(p0 - (1 - math.exp(-lam))) < 0.02  # P(0) = 1 - e^-lambda
    mean = sum(draws) / len(draws)
    assert abs(mean - math.exp(-lam) / (1 - math.exp(-lam))) < 0.05
    assert smoothing_offset(math.inf, rng) == 0
    # with smoothing, a stage removes at least its own count and sometimes more
    tok = tokenizer()
    method = ICoT(Config(remove_per_stage=2, num_stages=5, removal_smoothing_lambda=0.5), tok)
    state = random.getstate()  # encode draws from the global generator (seeded per worker by torch)
    random.seed(1)
    lengths = {len(method.encode(EXAMPLES[0], 1)["input_ids"]) for _ in range(60)}
    random.setstate(state)
    full = len(method.encode(EXAMPLES[0], 4)["input_ids"]) + len([t for s in example_parts(tok, EXAMPLES[0])[1] for t in s])
    assert max(lengths) == full - 2 and min(lengths) < full - 2
    with pytest.raises(ValueError, match="removal_smoothing_lambda"):
        Config(removal_smoothing_lambda=0)


def test_schedule_and_optimizer_reset_flag():
    tok = tokenizer()
    method = ICoT(Config(num_stages=4), tok)
    assert method.config.reset_optimizer
    assert [method.stage_at(s, 40) for s in (0, 9, 10, 20, 39)] == [0, 0, 1, 2, 3]


def test_generation_is_direct_and_batched_equals_single():
    tok = tokenizer()
    method = ICoT(Config(max_new_tokens=10), tok)
    model = method.build_model(backbone(tok, seed=4)).eval()
    batched = method.generate(model, EXAMPLES)
    assert batched.latent_steps == 0
    assert (batched.forward_passes == batched.generated_tokens).all()
    for i, ex in enumerate(EXAMPLES):
        single = method.generate(model, [ex])
        assert single.texts == [batched.texts[i]]
        expected = len(example_parts(tok, ex)[0]) + int(single.generated_tokens[0]) - 1
        assert int(single.positions[0]) == int(batched.positions[i]) == expected


@pytest.mark.parametrize("stage", [0, 7])
def test_training_lowers_the_loss(stage):
    tok = tokenizer()
    method = ICoT(Config(), tok)
    model = method.build_model(backbone(tok))
    batch = right_pad([method.encode(ex, stage) for ex in EXAMPLES], tok.pad_token_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(15):
        out = model(**batch)
        assert out.forward_passes == 1
        first = float(out.loss.detach()) if first is None else first
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    assert float(model(**batch).loss.detach()) < 0.7 * first
