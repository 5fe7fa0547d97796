"""Universal Transformer with Adaptive Computation Time (Dehghani et al. 2019; Graves 2016).

One transition (k blocks, shared across steps) is applied up to `max_steps` times; after each step
s every position emits a halting probability p_s = sigmoid(w . h_s + b). A position halts at the
first step N where p_1 + ... + p_N reaches the halting threshold (or at max_steps); its output is
the weighted mean of its states

    y = sum_{s<N} p_s h_s + R h_N,        R = 1 - sum_{s<N} p_s   (the remainder)

so the halting weights of a position sum to 1. The ponder cost N + R (mean over positions) is
added to the loss with weight `ponder_cost`; its gradient flows through R. A halted position keeps
its state; later steps of the other positions still attend to it (its keys and values at those
steps are computed from the state it halted with), so every step has its own KV-cache slots and,
with a cache, all max_steps steps run for every column: cached generation equals a full pass.
The halting threshold is the test-time knob: lower halts earlier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from baselines.compute import ModelShape
from baselines.models.gpt import GPT, GPTConfig, KVCache


@dataclass
class UniversalConfig:
    vocab_size: int
    n_positions: int = 1024
    n_layer: int = 1  # blocks in the shared transition
    max_steps: int = 4  # most applications of the transition
    halting_threshold: float = 0.99  # halt when the summed halting probabilities reach it
    n_embd: int = 64
    n_head: int = 4
    input_injection: bool = True  # add the input embedding before every step after the first

    def __post_init__(self) -> None:
        if self.n_layer < 1 or self.max_steps < 1:
            raise ValueError(f"UniversalConfig: n_layer={self.n_layer} and max_steps={self.max_steps} must be >= 1")
        if not 0.0 < self.halting_threshold <= 1.0:
            raise ValueError(f"UniversalConfig: halting_threshold={self.halting_threshold} must be in (0, 1]")

    @property
    def block_matmul_params(self) -> int:
        return 12 * self.n_embd**2


@dataclass
class Halting:
    """Per position [B, T]: steps taken N, remainder R, and the sum of the halting weights (1)."""

    steps: Tensor
    remainder: Tensor
    weight_sum: Tensor


class UniversalTransformer(nn.Module):
    def __init__(self, config: UniversalConfig):
        super().__init__()
        self.config = config
        self.gpt = GPT(GPTConfig(vocab_size=config.vocab_size, n_positions=config.n_positions,
                                 n_layer=config.n_layer, n_embd=config.n_embd, n_head=config.n_head))
        self.halt = nn.Linear(config.n_embd, 1)
        nn.init.zeros_(self.halt.weight)
        nn.init.constant_(self.halt.bias, -1.0)  # p = 0.27 at the start: about 4 steps to a threshold near 1
        self.shape = ModelShape.of(config)
        depth = config.n_layer * config.max_steps
        for name, p in self.gpt.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * depth))

    def hidden(self, input_ids: Tensor | None = None, *, inputs_embeds: Tensor | None = None,
               positions: Tensor | None = None, key_valid: Tensor | None = None, cache: KVCache | None = None,
               threshold: float | None = None) -> tuple[Tensor, Halting]:
        """The halting-weighted states [B, T, D] of one pass over T columns, and the halting record."""
        config = self.config
        threshold = config.halting_threshold if threshold is None else float(threshold)
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"universal transformer: halting threshold {threshold} must be in (0, 1]")
        e = self.gpt.embed(input_ids, positions, inputs_embeds)  # [B, T, D]
        bias = self.gpt.bias(e, key_valid, "causal", cache)
        batch, width, _ = e.shape
        h = e
        out = torch.zeros_like(e, dtype=torch.float32)
        halted = torch.zeros(batch, width, dtype=torch.bool, device=e.device)
        summed = torch.zeros(batch, width, device=e.device)  # p_1 + ... of the steps before halting
        steps, remainder, weight_sum = torch.zeros_like(summed), torch.zeros_like(summed), torch.zeros_like(summed)
        for step in range(config.max_steps):
            active = ~halted  # [B, T]
            x = h + e if step > 0 and config.input_injection else h
            new = self.gpt.run_blocks(x, bias=bias, cache=cache, first_slot=step * config.n_layer, active=active)
            h = torch.where(active[..., None], new, h)
            p = torch.sigmoid(self.halt(h).squeeze(-1).float())  # [B, T]
            stop = active & ((summed + p >= threshold) | (step == config.max_steps - 1))
            go = active & ~stop
            weight = torch.where(go, p, torch.where(stop, 1.0 - summed, torch.zeros_like(p)))
            out = out + weight[..., None] * h.float()
            remainder = torch.where(stop, 1.0 - summed, remainder)
            summed = torch.where(go, summed + p, summed)
            steps = steps + active.float()
            weight_sum = weight_sum + weight
            halted = halted | stop
            if cache is None and bool(halted.all()):
                break  # without a cache no later column needs the keys of the remaining steps
        if cache is not None:
            cache.advance(width)
        return out, Halting(steps=steps, remainder=remainder, weight_sum=weight_sum)

    def logits(self, h: Tensor) -> Tensor:
        return self.gpt.logits(h)

    def forward(self, input_ids: Tensor, **kwargs) -> Tensor:
        return self.logits(self.hidden(input_ids, **kwargs)[0])
