"""Looped transformer: k distinct blocks applied L times, with the input embedding injected before every iteration; the loop count L is the compute knob (evaluated also beyond the trained depth).

Saunshi et al. 2025 (arXiv 2502.17416): a (k x L) looped model has the parameters of k layers and
the compute of k*L; the model is baselines/models/looped.py, trained with no_cot's text (the
reasoning happens in the loops, not in tokens). Options: `layers` (k), `loops` (L, the knob),
`input_injection`, `loop_signal` (a per-iteration sinusoidal code), `width`/`heads` (0 = the
backbone's). A (kL x 1) run of the same method is the dense model of matched FLOPs, a (k x 1) run
the one of matched parameters. FLOPs: k*L block applications per column (compute.Work).
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
from baselines.models.looped import LoopedConfig, LoopedGPT


@dataclass
class LoopedMethodConfig(DepthConfig):
    layers: int = 2  # k: distinct blocks
    loops: int = 2  # L: applications of the k blocks (the knob; training uses this value)
    input_injection: bool = True
    loop_signal: bool = False


class LoopedLM(nn.Module):
    """The looped model trained with next-token loss on the answer; reports its Work."""

    def __init__(self, model: LoopedGPT):
        super().__init__()
        self.model = model
        self.shape = model.shape
        self.n_positions = model.config.n_positions
        self.token_embedding = model.gpt.wte

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
        # right-padded rows: causal attention keeps padding out of every real position
        h = self.model.hidden(input_ids)
        loss = scored_loss(self.model.logits, h, labels)
        rows, width = input_ids.shape
        scored = (labels[:, 1:] != -100).sum(1)
        work = self.model.work(torch.full((rows,), width), logit_positions=scored.double().cpu())
        loops = self.model.config.loops
        return StepOutput(loss=loss, forward_passes=loops, positions=loops * input_ids.numel(), work=work)


class Looped(DepthMethod):
    name = "looped"
    paper = "saunshi2025reasoning"
    Config = LoopedMethodConfig
    knob = "loops"

    def build_model(self, backbone: nn.Module) -> LoopedLM:
        c = self.config
        config = LoopedConfig(n_layer=c.layers, loops=c.loops, input_injection=c.input_injection,
                              loop_signal=c.loop_signal, **model_dims(c, backbone))
        return LoopedLM(LoopedGPT(config))

    def loops(self, budget) -> int:
        loops = self.config.loops if budget is None else budget
        if not isinstance(loops, int) or isinstance(loops, bool) or loops < 1:
            raise ValueError(f"looped: loops must be an integer >= 1, got {loops!r}")
        return loops

    def latent_steps(self, budget) -> int:
        return self.loops(budget)

    def decode_pass(self, model: LoopedLM, budget):
        loops = self.loops(budget)
        blocks = model.model.config.n_layer * loops

        def step(x: Tensor, positions: Tensor, key_valid: Tensor, cache: KVCache):
            h = model.model.hidden(inputs_embeds=x, positions=positions, key_valid=key_valid, cache=cache, loops=loops)
            width = x.shape[1]
            new_valid, cached_valid = key_valid[:, -width:].cpu(), key_valid[:, :-width].sum(1).cpu()
            work = Work.zeros(x.shape[0])
            work.layer_positions = blocks * new_valid.sum(1).double()
            work.pairs["causal"] = blocks * column_pairs(new_valid, cached_valid).sum(1)
            work.logit_positions = torch.ones(x.shape[0], dtype=torch.float64)
            return model.model.logits(h[:, -1]), work, torch.full((x.shape[0],), loops)
        return step
