"""Compute accounting: analytic FLOPs, latency and peak memory.

FLOPs are counted analytically for a GPT-2-style backbone with L layers, width d and vocabulary
V (one multiply-add = 2 FLOPs; layer norms, softmax, GELU and biases are left out):

  forward FLOPs = 2 * (12 L d^2) * positions          the matmuls of the blocks
                                                      (QKV 3d^2 + output d^2 + MLP 8d^2)
                + 4 L d * attended_pairs              attention: q.k and weights.v, 2d each
                + 2 d V * logit_positions             the output head, where logits are computed

`positions` are the token positions the backbone processed (summed over sequential passes),
`attended_pairs` the (query, key) pairs of causal attention: a sequence of P positions, however
many passes it was processed in, has P (P + 1) / 2. Training costs 3x the forward (backward =
2x forward). Methods report positions (StepOutput, Generation); the harness counts logit
positions (labelled positions in training, generated tokens at inference).

- Training: per optimizer step, with `positions` over `rows` sequences of equal padded length
  T = positions / rows: pairs = rows * T (T + 1) / 2 (padding is computed, so it is counted).
- Inference: per example, with P its positions: pairs = P (P + 1) / 2.

Latency is wall-clock time per example (CUDA synchronised); peak memory is
torch.cuda.max_memory_allocated during evaluation, in MiB. On the CPU peak memory is reported
as null: the process's resident size mixes in the Python heap and data, so it is not comparable
with accelerator numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Shape:
    """The numbers the FLOP formula needs."""

    n_layer: int
    n_embd: int
    vocab_size: int

    @classmethod
    def of(cls, backbone) -> "Shape":
        config = backbone.config
        return cls(n_layer=config.n_layer, n_embd=config.n_embd, vocab_size=config.vocab_size)

    @property
    def matmul_params(self) -> int:
        return 12 * self.n_layer * self.n_embd**2


def causal_pairs(length: float) -> float:
    return length * (length + 1) / 2


def forward_flops(shape: Shape, positions: float, attended_pairs: float, logit_positions: float) -> float:
    return (2.0 * shape.matmul_params * positions
            + 4.0 * shape.n_layer * shape.n_embd * attended_pairs
            + 2.0 * shape.n_embd * shape.vocab_size * logit_positions)


def train_step_flops(shape: Shape, positions: int, rows: int, logit_positions: int) -> float:
    """FLOPs of one training forward + backward over `rows` sequences (see the module docstring)."""
    length = positions / max(rows, 1)
    return 3.0 * forward_flops(shape, positions, rows * causal_pairs(length), logit_positions)


def inference_flops(shape: Shape, positions: torch.Tensor, generated_tokens: torch.Tensor) -> torch.Tensor:
    """[B] FLOPs per example from its positions [B] and generated tokens [B]."""
    p = positions.double()
    return torch.tensor([forward_flops(shape, float(pi), causal_pairs(float(pi)), float(gi))
                         for pi, gi in zip(p.tolist(), generated_tokens.double().tolist())], dtype=torch.float64)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> tuple[object, float]:
    """(fn(), seconds), with the device synchronised before and after."""
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, time.perf_counter() - start


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float | None:
    """Peak allocated accelerator memory since the last reset, MiB (None on the CPU)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return None
