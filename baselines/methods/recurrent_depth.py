"""Recurrent depth (Huginn): prelude, a recurrent core with input injection from a random state, and a coda; trained at a recurrence sampled per step with truncated backpropagation, run at any test-time recurrence (the knob), with an optional per-token exit when the state stops changing.

Geiping et al. 2025 (arXiv 2502.05171); the model is baselines/models/recurrent_depth.py, trained
with no_cot's text. Options: `prelude`, `core`, `coda` (blocks), `mean_recurrence`, `backprop_depth`,
`sigma` (the log-normal Poisson), `recurrence` (the knob: test-time iterations, None = the training
mean), `exit_criterion` ("none", "norm": relative state change, "kl": KL between successive output
distributions) with `exit_threshold`, `width`/`heads`. With an exit criterion the knob is the most
iterations a token may take; the mean per generated token is `forward_passes / generated_tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from baselines.compute import Work
from baselines.methods.engines.depth import DepthConfig, DepthMethod, column_pairs, model_dims
from baselines.methods.engines.token import scored_loss
from baselines.methods.base import StepOutput
from baselines.models.gpt import KVCache
from baselines.models.recurrent_depth import EXIT_CRITERIA, RecurrentDepthConfig, RecurrentDepthGPT


@dataclass
class RecurrentDepthMethodConfig(DepthConfig):
    prelude: int = 1
    core: int = 2
    coda: int = 1
    mean_recurrence: int = 4
    backprop_depth: int = 4
    sigma: float = 0.5
    recurrence: int | None = None  # the knob: iterations at inference (None = mean_recurrence)
    exit_criterion: str = "none"
    exit_threshold: float = 1e-3

    def __post_init__(self) -> None:
        if self.exit_criterion not in EXIT_CRITERIA:
            raise ValueError(f"recurrent_depth: exit_criterion={self.exit_criterion!r}; expected one of {EXIT_CRITERIA}")


class RecurrentDepthLM(nn.Module):
    def __init__(self, model: RecurrentDepthGPT):
        super().__init__()
        self.model = model
        self.shape = model.shape
        self.n_positions = model.config.n_positions
        self.token_embedding = model.gpt.wte

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
        c = self.model.config
        r = self.model.sample_recurrence() if self.training else c.mean_recurrence
        k = min(c.backprop_depth, r)
        s = self.model.hidden(input_ids, recurrence=r, backprop_depth=k)
        h = self.model.gpt.run_blocks(s, c.prelude + c.core, c.prelude + c.core + c.coda)
        loss = scored_loss(self.model.gpt.logits, h, labels)
        rows, width = input_ids.shape
        # the r - k iterations without gradient cost a forward only: weight 1/3 (the harness counts 3x)
        blocks = c.prelude + c.coda + c.core * (k + (r - k) / 3)
        work = Work.zeros(rows).add_pass(blocks, torch.full((rows,), float(width)))
        work.layer_positions = work.layer_positions + c.adapter_fraction * (k + (r - k) / 3) * width
        work.logit_positions = (labels[:, 1:] != -100).sum(1).double().cpu()
        work.steps = torch.full((rows,), float(r), dtype=torch.float64)
        return StepOutput(loss=loss, forward_passes=r, positions=(c.prelude + c.coda + r) * input_ids.numel(),
                          work=work, extras={"recurrence": float(r)})


class RecurrentDepth(DepthMethod):
    name = "recurrent_depth"
    paper = "geiping2025scaling"
    Config = RecurrentDepthMethodConfig
    knob = "recurrence"

    def build_model(self, backbone: nn.Module) -> RecurrentDepthLM:
        c = self.config
        config = RecurrentDepthConfig(prelude=c.prelude, core=c.core, coda=c.coda, mean_recurrence=c.mean_recurrence,
                                      backprop_depth=c.backprop_depth, sigma=c.sigma, **model_dims(c, backbone))
        return RecurrentDepthLM(RecurrentDepthGPT(config))

    def recurrence(self, budget) -> int:
        r = budget if budget is not None else (self.config.recurrence or self.config.mean_recurrence)
        if not isinstance(r, int) or isinstance(r, bool) or r < 1:
            raise ValueError(f"recurrent_depth: recurrence must be an integer >= 1, got {r!r}")
        return r

    def latent_steps(self, budget) -> int:
        return self.recurrence(budget)

    def decode_pass(self, model: RecurrentDepthLM, budget):
        r_max = self.recurrence(budget)
        c, net = self.config, model.model

        def step(x: Tensor, positions: Tensor, key_valid: Tensor, cache: KVCache):
            logits, depth, probes = net.decode_pass(x, positions, key_valid, cache, r_max, c.exit_criterion,
                                                    c.exit_threshold)
            width = x.shape[1]
            new_valid, cached_valid = key_valid[:, -width:].cpu(), key_valid[:, :-width].sum(1).cpu()
            columns = new_valid.sum(1).double()
            attended = column_pairs(new_valid, cached_valid).sum(1)
            # the prompt runs at r_max; a generated column at its own depth (+ its KL probes)
            iterations = depth.cpu().double()
            blocks = net.config.prelude + net.config.coda + net.config.core * iterations + net.config.coda * probes.cpu()
            work = Work.zeros(x.shape[0])
            work.layer_positions = blocks * columns + net.config.adapter_fraction * iterations * columns
            work.pairs["causal"] = blocks * attended
            work.logit_positions = 1.0 + probes.cpu().double()
            return logits, work, iterations.long()
        return step
