"""The compute contract (compute.Work, work_flops) against hand counts for a looped, a
bidirectional and a multi-pass case."""

import pytest
import torch

from baselines.compute import ModelShape, Work, work_flops

D, V = 64, 100
SHAPE = ModelShape(n_embd=D, vocab_size=V, block_matmul_params=12 * D * D)


def test_looped_model_costs_its_block_applications():
    # 2 distinct blocks applied 3 times over P=10 causal positions, logits at 1 position
    work = Work.zeros(1)
    work.add_pass(layers=2 * 3, new=10)
    work.logit_positions += 1
    by_hand = 2 * 12 * D * D * (6 * 10) + 4 * D * (6 * 10 * 11 / 2) + 2 * D * V * 1
    assert work_flops(SHAPE, work).item() == pytest.approx(by_hand)
    # twice the loops: exactly twice the block and attention FLOPs (not four times the attention)
    double = Work.zeros(1).add_pass(layers=2 * 6, new=10)
    single = Work.zeros(1).add_pass(layers=2 * 3, new=10)
    assert work_flops(SHAPE, double).item() == pytest.approx(2 * work_flops(SHAPE, single).item())


def test_bidirectional_pass_counts_every_pair():
    work = Work.zeros(2).add_pass(layers=4, new=torch.tensor([8.0, 3.0]), attention="bidirectional")
    by_hand = torch.tensor([2 * 12 * D * D * 4 * 8 + 4 * D * 4 * 64, 2 * 12 * D * D * 4 * 3 + 4 * D * 4 * 9],
                           dtype=torch.float64)
    assert torch.allclose(work_flops(SHAPE, work), by_hand)


def test_multi_pass_equals_one_pass_over_the_same_columns():
    # a question of 6 columns, 3 single-column latent passes, 4 answer columns: 13 columns in 5
    # passes attend to exactly the pairs of one causal pass over 13 columns
    work = Work.zeros(1).add_pass(2, new=6)
    for cached in (6, 7, 8):
        work.add_pass(2, new=1, cached=cached)
    work.add_pass(2, new=4, cached=9)
    one = Work.zeros(1).add_pass(2, new=13)
    assert work.pairs["causal"].item() == one.pairs["causal"].item() == 2 * 13 * 14 / 2
    assert work_flops(SHAPE, work).item() == pytest.approx(work_flops(SHAPE, one).item())


def test_recurrent_state_updates_cost_the_state_size():
    shape = ModelShape(n_embd=D, vocab_size=V, block_matmul_params=0, state_size=4 * 16 * 16)
    work = Work.zeros(1).add_pass(layers=3, new=20, attention="recurrent")
    assert work_flops(shape, work).item() == pytest.approx(4 * 4 * 16 * 16 * 3 * 20)


def test_unknown_attention_type_is_an_error():
    with pytest.raises(ValueError, match="unknown attention type"):
        Work.zeros(1).add_pass(1, new=3, attention="sliding")
