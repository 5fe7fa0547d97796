"""Recurrent depth, Huginn-style (Geiping et al. 2025, arXiv 2502.05171): prelude, a recurrent core
with input injection from a random state, and a coda.

    e   = prelude(embed(x))                         [B, T, D]  P blocks, once
    s_0 ~ N(0, state_std^2)  (zeros at inference)   [B, T, D]
    s_i = core(adapter([s_{i-1}; e]))               i = 1..r   R blocks, adapter: 2D -> D
    logits = head(ln_f(coda(s_r)))                  C blocks, once

Training samples the recurrence r once per step from the log-normal Poisson of the paper,
tau ~ N(log(mean_recurrence) - sigma^2 / 2, sigma), r = 1 + Poisson(exp(tau)) (at most
4 x mean_recurrence), and backpropagates through the last `backprop_depth` iterations only (the
earlier ones run without gradient). The draws come from a generator seeded by (seed, draw count),
the count being a buffer: every process of a DDP run and a resumed run draw the same depths.

Cache slots: prelude block i -> i; core block j of iteration t (0-based) -> P + t*R + j; coda block
c -> P + r_max*R + c. At inference a generated column may exit before r_max when its state stops
changing (`exit_step`, the norm or KL criterion); the core slots of the iterations it skipped then
hold the keys and values of its last iteration (`fill_skipped`), so a later column at any depth
reads the latest state of every earlier column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.compute import ModelShape
from baselines.models.gpt import GPT, GPTConfig, KVCache

EXIT_CRITERIA = ("none", "norm", "kl")


@dataclass
class RecurrentDepthConfig:
    vocab_size: int
    n_positions: int = 1024
    prelude: int = 1  # P blocks before the recurrence
    core: int = 2  # R blocks in the recurrent core
    coda: int = 1  # C blocks after it
    mean_recurrence: int = 4  # mean of the sampled training recurrence
    backprop_depth: int = 4  # k: gradients through the last k iterations only
    sigma: float = 0.5  # spread of the log-normal Poisson
    state_std: float = 0.02  # the random initial state in training
    n_embd: int = 64
    n_head: int = 4
    seed: int = 0  # of the recurrence draws

    def __post_init__(self) -> None:
        for name in ("prelude", "core", "coda", "mean_recurrence", "backprop_depth"):
            if getattr(self, name) < (0 if name in ("prelude", "coda") else 1):
                raise ValueError(f"RecurrentDepthConfig: {name}={getattr(self, name)} is too small")

    @property
    def block_matmul_params(self) -> int:
        return 12 * self.n_embd**2

    @property
    def adapter_fraction(self) -> float:
        """The adapter's matmul (2D x D) per position, in units of one block's (12 D^2)."""
        return 2.0 / 12.0


class RecurrentDepthGPT(nn.Module):
    def __init__(self, config: RecurrentDepthConfig):
        super().__init__()
        self.config = config
        self.gpt = GPT(GPTConfig(vocab_size=config.vocab_size, n_positions=config.n_positions,
                                 n_layer=config.prelude + config.core + config.coda, n_embd=config.n_embd,
                                 n_head=config.n_head))
        self.adapter = nn.Linear(2 * config.n_embd, config.n_embd)
        nn.init.normal_(self.adapter.weight, mean=0.0, std=0.02)
        nn.init.zeros_(self.adapter.bias)
        self.shape = ModelShape.of(config)
        depth = config.prelude + config.core * config.mean_recurrence + config.coda
        for name, p in self.gpt.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * depth))
        self.register_buffer("draws", torch.zeros((), dtype=torch.long))

    # -- the recurrence in training ---------------------------------------------------------------

    def sample_recurrence(self) -> int:
        """r = 1 + Poisson(exp(tau)), tau ~ N(log(mean) - sigma^2/2, sigma); advances the draw count."""
        c = self.config
        generator = torch.Generator().manual_seed(c.seed * 1_000_003 + int(self.draws))
        self.draws += 1
        tau = torch.normal(math.log(c.mean_recurrence) - c.sigma**2 / 2, c.sigma, (1,), generator=generator)
        r = 1 + int(torch.poisson(tau.exp(), generator=generator))
        return min(r, 4 * c.mean_recurrence)

    # -- the pieces ------------------------------------------------------------------------------

    def prelude(self, e: Tensor, bias: Tensor | None, cache: KVCache | None) -> Tensor:
        return self.gpt.run_blocks(e, 0, self.config.prelude, bias=bias, cache=cache)

    def core_step(self, s: Tensor, e: Tensor, iteration: int, bias: Tensor | None, cache: KVCache | None,
                  active: Tensor | None = None) -> Tensor:
        """One iteration: s [B, T, D] -> the next state; rows/positions not `active` keep theirs."""
        c = self.config
        x = self.adapter(torch.cat([s, e], dim=-1)).to(e.dtype)  # fp32 residual under autocast
        out = self.gpt.run_blocks(x, c.prelude, c.prelude + c.core, bias=bias, cache=cache,
                                  first_slot=c.prelude + iteration * c.core, active=active)
        return out if active is None else torch.where(active[..., None], out, s)

    def coda(self, s: Tensor, bias: Tensor | None, cache: KVCache | None, r_max: int) -> Tensor:
        c = self.config
        start = c.prelude + c.core
        h = self.gpt.run_blocks(s, start, start + c.coda, bias=bias, cache=cache, first_slot=c.prelude + r_max * c.core)
        return self.gpt.logits(h)

    def initial_state(self, e: Tensor) -> Tensor:
        if self.training:
            return torch.randn_like(e) * self.config.state_std
        return torch.zeros_like(e)

    # -- a whole pass ----------------------------------------------------------------------------

    def hidden(self, input_ids: Tensor | None = None, *, inputs_embeds: Tensor | None = None,
               positions: Tensor | None = None, key_valid: Tensor | None = None, cache: KVCache | None = None,
               recurrence: int, backprop_depth: int | None = None) -> Tensor:
        """The final state s_r [B, T, D] of one pass at recurrence r (every column the same depth);
        only the last `backprop_depth` iterations carry gradients (None: all)."""
        if recurrence < 1:
            raise ValueError(f"recurrent depth: recurrence={recurrence} must be >= 1")
        e = self.gpt.embed(input_ids, positions, inputs_embeds)
        bias = self.gpt.bias(e, key_valid, "causal", cache)
        e = self.prelude(e, bias, cache)
        s = self.initial_state(e)
        free = recurrence if backprop_depth is None else min(backprop_depth, recurrence)
        for i in range(recurrence):
            if i < recurrence - free:
                with torch.no_grad():
                    s = self.core_step(s, e, i, bias, cache)
            else:
                s = self.core_step(s, e, i, bias, cache)
        return s

    def forward(self, input_ids: Tensor, recurrence: int, **kwargs) -> Tensor:
        """Logits [B, T, V] of a pass without a cache at recurrence `recurrence`."""
        s = self.hidden(input_ids, recurrence=recurrence, **kwargs)
        return self.coda(s, None, None, recurrence)

    # -- adaptive exit at inference ----------------------------------------------------------------

    @staticmethod
    def exit_distance(criterion: str, new: Tensor, old: Tensor, new_logits: Tensor | None = None,
                      old_logits: Tensor | None = None) -> Tensor:
        """[B] how much the last column changed in one iteration: the relative norm of the state
        change, or KL(p_new || p_old) of the output distributions."""
        if criterion == "norm":
            return (new - old).float().norm(dim=-1)[:, -1] / new.float().norm(dim=-1)[:, -1].clamp_min(1e-6)
        if criterion == "kl":
            logp_new = F.log_softmax(new_logits.float(), -1)
            logp_old = F.log_softmax(old_logits.float(), -1)
            return (logp_new.exp() * (logp_new - logp_old)).sum(-1)
        raise ValueError(f"exit criterion {criterion!r}; expected one of {EXIT_CRITERIA}")

    def fill_skipped(self, cache: KVCache, depth: Tensor, r_max: int, width: int) -> None:
        """For the last `width` columns (not yet advanced): the core slots of iterations >= depth[b]
        get the keys and values of iteration depth[b] - 1 (depth [B] in 1..r_max), copied forward
        one iteration at a time."""
        c = self.config
        cols = slice(cache.length, cache.length + width)
        for t in range(1, r_max):
            rows = depth <= t  # [B] rows that exited before iteration t
            if not bool(rows.any()):
                continue
            for j in range(c.core):
                prev, dst = c.prelude + (t - 1) * c.core + j, c.prelude + t * c.core + j
                for store in (cache.keys, cache.values):
                    if dst not in store:
                        store[dst] = store[prev].new_zeros(store[prev].shape)
                    store[dst][rows, :, cols] = store[prev][rows, :, cols]

    @torch.no_grad()
    def decode_pass(self, inputs_embeds: Tensor, positions: Tensor, key_valid: Tensor, cache: KVCache, r_max: int,
                    exit_criterion: str = "none", exit_threshold: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
        """One cached pass over the new columns inputs_embeds [B, t, D] (token embeddings).

        The prompt (t > 1) runs at depth r_max; a single generated column (t == 1) may exit early:
        after each iteration from the second on, a row whose `exit_distance` is below the threshold
        stops (its state is kept). Returns the logits of the last column [B, V], the depth of each
        row's last column [B] and the coda probes spent per row [B] (the KL criterion reads the
        output distribution after every iteration)."""
        if exit_criterion not in EXIT_CRITERIA:
            raise ValueError(f"exit criterion {exit_criterion!r}; expected one of {EXIT_CRITERIA}")
        if r_max < 1:
            raise ValueError(f"recurrent depth: recurrence={r_max} must be >= 1")
        e = self.gpt.embed(None, positions, inputs_embeds)
        bias = self.gpt.bias(e, key_valid, "causal", cache)
        e = self.prelude(e, bias, cache)
        s = self.initial_state(e)
        batch, width = e.shape[:2]
        adaptive = exit_criterion != "none" and width == 1
        running = torch.ones(batch, dtype=torch.bool, device=e.device)
        depth = torch.zeros(batch, dtype=torch.long, device=e.device)
        probes = torch.zeros(batch, dtype=torch.long, device=e.device)
        old_logits = None
        for i in range(r_max):
            new = self.core_step(s, e, i, bias, cache, active=running[:, None].expand(batch, width) if adaptive else None)
            depth = depth + running.long()
            if adaptive:
                new_logits = None
                if exit_criterion == "kl":
                    new_logits = self.coda(new, bias, cache, r_max)[:, -1]  # probe: rewritten by the final coda
                    probes = probes + running.long()
                if i > 0:
                    distance = self.exit_distance(exit_criterion, new, s, new_logits, old_logits)
                    running = running & ~(distance < exit_threshold)
                old_logits = new_logits
            s = new
            if adaptive and not bool(running.any()):
                break
        if adaptive:
            self.fill_skipped(cache, depth, r_max, width)
        logits = self.coda(s, bias, cache, r_max)[:, -1]
        cache.advance(width)
        return logits, depth, probes
