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
from dataclasses import dataclass, field

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


# -- the compute contract every family reports through ---------------------------------------------
#
# A method reports what it computed as `Work`: per example, summed over every block application
# (a block applied L times counts L times; a position processed in several passes counts once per
# pass), and `work_flops` turns it into FLOPs with the model's `ModelShape`:
#
#   FLOPs = 2 * block_matmul_params * layer_positions          projections and MLP of the blocks
#         + 4 * n_embd * (causal + bidirectional pairs)        q.k and weights.v, 2d each per pair
#         + 4 * state_size * recurrent                         state update k v^T and read-out q^T S
#         + 2 * n_embd * vocab_size * logit_positions          the output head
#
# Pairs are counted per block application: one causal pass of P positions through n blocks has
# n * P (P + 1) / 2 pairs, a bidirectional one n * P^2, a pass of T new columns after C cached
# ones n * T * (C + (T + 1) / 2). `recurrent` counts (position, layer) state updates.

ATTENTION_TYPES = ("causal", "bidirectional", "recurrent")


@dataclass(frozen=True)
class ModelShape:
    """The constants of a model that FLOPs need (the rest is in the Work it reports)."""

    n_embd: int
    vocab_size: int
    block_matmul_params: int  # weights multiplied per position in one block application
    state_size: int = 0  # recurrent state per layer (heads x key dim x value dim), 0 without one

    @classmethod
    def of(cls, config) -> "ModelShape":
        """From a config with n_embd, vocab_size, block_matmul_params (and optionally state_size)."""
        return cls(n_embd=config.n_embd, vocab_size=config.vocab_size,
                   block_matmul_params=config.block_matmul_params, state_size=getattr(config, "state_size", 0))


@dataclass
class Work:
    """What a batch computed, per example: every field a float64 tensor [B]."""

    layer_positions: torch.Tensor
    pairs: dict[str, torch.Tensor]  # attention type (ATTENTION_TYPES) -> pairs or state updates
    logit_positions: torch.Tensor
    steps: torch.Tensor  # latent steps, loops, halting iterations or denoising steps (may be fractional)

    def __post_init__(self) -> None:
        unknown = set(self.pairs) - set(ATTENTION_TYPES)
        if unknown:
            raise ValueError(f"Work: unknown attention type(s) {sorted(unknown)}; expected {ATTENTION_TYPES}")

    @classmethod
    def zeros(cls, batch: int, device: torch.device | str = "cpu") -> "Work":
        z = torch.zeros(batch, dtype=torch.float64, device=device)
        return cls(z.clone(), {}, z.clone(), z.clone())

    def add_pass(self, layers: float, new: torch.Tensor | float, cached: torch.Tensor | float = 0.0,
                 attention: str = "causal") -> "Work":
        """Count one pass of `new` columns after `cached` ones through `layers` block applications
        (tensors [B] or scalars); returns self."""
        new = torch.as_tensor(new, dtype=torch.float64, device=self.layer_positions.device)
        cached = torch.as_tensor(cached, dtype=torch.float64, device=self.layer_positions.device)
        self.layer_positions = self.layer_positions + layers * new
        if attention == "causal":
            pairs = new * (cached + (new + 1) / 2)
        elif attention == "bidirectional":
            pairs = new * (cached + new)
        elif attention == "recurrent":
            pairs = new
        else:
            raise ValueError(f"unknown attention type {attention!r}; expected {ATTENTION_TYPES}")
        self.pairs[attention] = self.pairs.get(attention, torch.zeros_like(self.layer_positions)) + layers * pairs
        return self

    def total(self) -> dict[str, float]:
        """Sums over the batch (what a Result records per example after dividing by B)."""
        return {"layer_positions": float(self.layer_positions.sum()), "logit_positions": float(self.logit_positions.sum()),
                "steps": float(self.steps.sum()), **{f"pairs_{k}": float(v.sum()) for k, v in self.pairs.items()}}


@dataclass
class StepOutput:
    """What a method's model returns from forward(**batch) during training (defined here, with the
    Work it reports, so that a model file can return it without importing the methods' layer)."""

    loss: torch.Tensor  # scalar
    forward_passes: int  # sequential forward passes through the backbone for this batch
    positions: int  # total token positions the backbone processed, summed over passes and batch
    extras: dict[str, float] = field(default_factory=dict)  # method-specific scalars to log
    work: Work | None = None  # what the batch computed (compute.Work); when given, FLOPs come from it


@dataclass
class Generation:
    """What `generate` returns for a batch of B questions."""

    texts: list[str]  # decoded text after the question (answer marker included when produced)
    generated_tokens: torch.Tensor  # [B] tokens sampled from the vocabulary, eos included
    forward_passes: torch.Tensor  # [B] sequential backbone passes spent on each example
    latent_steps: int  # latent steps (thoughts, pauses, loops, diffusion steps) per example
    positions: torch.Tensor  # [B] token positions processed for each example (for FLOPs)
    work: Work | None = None  # what each example computed (compute.Work); when given, FLOPs come from it


def work_flops(shape: ModelShape, work: Work) -> torch.Tensor:
    """[B] forward FLOPs of each example (see the contract above)."""
    flops = 2.0 * shape.block_matmul_params * work.layer_positions
    for kind, pairs in work.pairs.items():
        flops = flops + (4.0 * shape.state_size if kind == "recurrent" else 4.0 * shape.n_embd) * pairs
    return flops + 2.0 * shape.n_embd * shape.vocab_size * work.logit_positions


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
