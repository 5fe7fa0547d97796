"""The analytic FLOP formula of compute.py on numbers worked out by hand."""

from __future__ import annotations

import pytest
import torch

from baselines.backbone import BackboneConfig, build_backbone
from baselines.compute import Shape, causal_pairs, forward_flops, inference_flops, train_step_flops


def test_shape_of_a_backbone():
    shape = Shape.of(build_backbone(BackboneConfig("tiny"), vocab_size=50))
    assert shape == Shape(n_layer=2, n_embd=64, vocab_size=50)
    assert shape.matmul_params == 12 * 2 * 64 * 64


def test_forward_flops_by_hand():
    shape = Shape(n_layer=1, n_embd=2, vocab_size=10)  # 12 L d^2 = 48 matmul parameters
    # 3 positions in one causal sequence: 6 (query, key) pairs; logits at 1 position
    assert causal_pairs(3) == 6
    assert forward_flops(shape, 3, 6, 1) == 2 * 48 * 3 + 4 * 1 * 2 * 6 + 2 * 2 * 10 * 1


def test_training_is_three_forwards_over_equal_rows():
    shape = Shape(n_layer=2, n_embd=8, vocab_size=20)
    # 4 rows of 5 positions: 4 * 15 pairs
    assert train_step_flops(shape, 20, 4, 7) == pytest.approx(3 * forward_flops(shape, 20, 4 * 15, 7))


def test_inference_flops_per_example():
    shape = Shape(n_layer=2, n_embd=8, vocab_size=20)
    flops = inference_flops(shape, torch.tensor([10, 4]), torch.tensor([3, 1]))
    assert flops.tolist() == [forward_flops(shape, 10, 55, 3), forward_flops(shape, 4, 10, 1)]
    # more positions (e.g. pauses) cost more, quadratically in the attention term
    assert inference_flops(shape, torch.tensor([12]), torch.tensor([3]))[0] > flops[0]
