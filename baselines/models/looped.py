"""Looped transformer: k distinct blocks applied L times (Saunshi et al. 2025, arXiv 2502.17416).

    h_0 = embed(x)                                     [B, T, D]  token + position embeddings
    h_l = blocks_1..k(h_{l-1} + e_l)                  l = 1..L, e_1 = 0; with input injection
                                                       e_l = h_0 (+ an iteration signal) for l > 1
    logits = head(ln_f(h_L))                           [B, T, V]

(k x L) has the parameters of k blocks and the compute of k*L blocks: with L = 1 it is the plain
GPT of baselines/models/gpt.py with the same weights. Every application of a block has its own
slot in the KV cache (application l of block i uses slot l*k + i), so cached generation equals a
full pass. The residual projections start at GPT-2's scaled init for the effective depth k*L, so
(k x L) and the dense (kL x 1) start from the same per-block scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from baselines.compute import ModelShape, Work
from baselines.models.gpt import GPT, GPTConfig, KVCache


@dataclass
class LoopedConfig:
    vocab_size: int
    n_positions: int = 1024
    n_layer: int = 2  # k: distinct blocks in the loop body
    loops: int = 2  # L: applications of the body in training (the default at inference)
    n_embd: int = 64
    n_head: int = 4
    input_injection: bool = True  # add the input embedding before every iteration after the first
    loop_signal: bool = False  # add a sinusoidal code of the iteration index (from the second on)

    def __post_init__(self) -> None:
        if self.n_layer < 1 or self.loops < 1:
            raise ValueError(f"LoopedConfig: n_layer={self.n_layer} and loops={self.loops} must be >= 1")

    @property
    def block_matmul_params(self) -> int:
        return 12 * self.n_embd**2

    def gpt_config(self) -> GPTConfig:
        return GPTConfig(vocab_size=self.vocab_size, n_positions=self.n_positions, n_layer=self.n_layer,
                         n_embd=self.n_embd, n_head=self.n_head)


def iteration_signal(index: int, dim: int, device: torch.device) -> Tensor:
    """[D] sin(index * w_j), w_j = 10000^(-j/D): zero at index 0, defined for any index (so loops
    beyond the trained depth get a signal too), scaled to unit RMS / sqrt(D) like an embedding."""
    freqs = torch.pow(10000.0, -torch.arange(dim, device=device, dtype=torch.float32) / dim)
    return torch.sin(index * freqs) * math.sqrt(2.0 / dim)


class LoopedGPT(nn.Module):
    def __init__(self, config: LoopedConfig):
        super().__init__()
        self.config = config
        self.gpt = GPT(config.gpt_config())
        self.shape = ModelShape.of(config)
        depth = config.n_layer * config.loops
        for name, p in self.gpt.named_parameters():  # scaled init for the effective depth k*L
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * depth))

    def hidden(self, input_ids: Tensor | None = None, *, inputs_embeds: Tensor | None = None,
               positions: Tensor | None = None, key_valid: Tensor | None = None, cache: KVCache | None = None,
               loops: int | None = None) -> Tensor:
        """Final residual stream [B, T, D] of one pass over T columns (after the cache's columns,
        which it extends). key_valid [B, P+T] marks real columns (None = all real)."""
        loops = self.config.loops if loops is None else loops
        if loops < 1:
            raise ValueError(f"looped model: loops={loops} must be >= 1")
        k = self.config.n_layer
        e = self.gpt.embed(input_ids, positions, inputs_embeds)  # [B, T, D]
        bias = self.gpt.bias(e, key_valid, "causal", cache)
        h = e
        for loop in range(loops):
            if loop > 0 and self.config.input_injection:
                h = h + e
            if loop > 0 and self.config.loop_signal:
                h = h + iteration_signal(loop, h.shape[-1], h.device).to(h.dtype)
            h = self.gpt.run_blocks(h, bias=bias, cache=cache, first_slot=loop * k)
        if cache is not None:
            cache.advance(h.shape[1])
        return h

    def logits(self, h: Tensor) -> Tensor:
        return self.gpt.logits(h)

    def forward(self, input_ids: Tensor, **kwargs) -> Tensor:
        """Logits [B, T, V] (see `hidden` for the arguments)."""
        return self.logits(self.hidden(input_ids, **kwargs))

    def work(self, columns: Tensor, loops: int | None = None, logit_positions: Tensor | float = 0.0) -> Work:
        """What a causal pass over `columns` [B] columns per example costs: k*L block applications
        per column (a pass over columns split into cached pieces attends to the same pairs)."""
        loops = self.config.loops if loops is None else loops
        work = Work.zeros(columns.shape[0]).add_pass(self.config.n_layer * loops, columns.double().cpu())
        work.logit_positions = work.logit_positions + torch.as_tensor(logit_positions, dtype=torch.float64)
        work.steps = torch.full_like(work.steps, float(loops))
        return work
