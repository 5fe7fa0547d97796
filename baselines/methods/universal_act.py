"""Universal Transformer with Adaptive Computation Time: one shared transition applied up to max_steps times with per-position halting and a ponder cost; the halting threshold is the compute knob (lower halts earlier).

Dehghani et al. 2019 (arXiv 1807.03819) with Graves's ACT (arXiv 1603.08983); the model is
baselines/models/universal.py, trained with no_cot's text and loss + ponder_cost x mean(N + R).
Options: `layers` (blocks in the transition), `max_steps`, `halting_threshold` (the knob, a float in
(0, 1]; training uses it), `ponder_cost`, `width`/`heads`. Work counts the (position, step)
transitions of positions still running (what a kernel that skips halted positions computes), and
the mean steps per generated token are `forward_passes / generated_tokens`.
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
from baselines.models.universal import Halting, UniversalConfig, UniversalTransformer


@dataclass
class UniversalACTConfig(DepthConfig):
    layers: int = 1  # blocks in the shared transition
    max_steps: int = 4
    halting_threshold: float = 0.99  # the knob
    ponder_cost: float = 0.01  # weight of mean(N + R) in the loss


def halting_work(layers: int, halting: Halting, new_valid: Tensor, cached_valid: Tensor) -> Work:
    """Work of a pass: per real column, its steps x `layers` block applications, each attending to
    the real columns up to it. halting.steps [B, t]; new_valid [B, t]; cached_valid [B]."""
    steps = halting.steps.double().cpu() * new_valid.double()
    work = Work.zeros(steps.shape[0])
    work.layer_positions = layers * steps.sum(1)
    work.pairs["causal"] = layers * (steps * column_pairs(new_valid, cached_valid)).sum(1)
    return work


class UniversalLM(nn.Module):
    def __init__(self, model: UniversalTransformer, ponder_cost: float):
        super().__init__()
        self.model = model
        self.ponder_cost = ponder_cost
        self.shape = model.shape
        self.n_positions = model.config.n_positions
        self.token_embedding = model.gpt.wte

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
        h, halting = self.model.hidden(input_ids)
        valid = attention_mask.bool()
        ponder = ((halting.steps + halting.remainder) * valid).sum() / valid.sum()
        task_loss = scored_loss(self.model.logits, h, labels)
        loss = task_loss + self.ponder_cost * ponder
        rows, width = input_ids.shape
        everything = torch.ones(rows, width, dtype=torch.bool)
        work = halting_work(self.model.config.n_layer, halting, everything, torch.zeros(rows))
        work.logit_positions = (labels[:, 1:] != -100).sum(1).double().cpu()
        steps_run = int(halting.steps.max())
        return StepOutput(loss=loss, forward_passes=steps_run, positions=steps_run * input_ids.numel(), work=work,
                          extras={"ponder": float(ponder.detach()), "task_loss": float(task_loss.detach())})


class UniversalACT(DepthMethod):
    name = "universal_act"
    paper = "dehghani2018universal"
    Config = UniversalACTConfig
    knob = "halting_threshold"

    def build_model(self, backbone: nn.Module) -> UniversalLM:
        c = self.config
        config = UniversalConfig(n_layer=c.layers, max_steps=c.max_steps, halting_threshold=c.halting_threshold,
                                 **model_dims(c, backbone))
        return UniversalLM(UniversalTransformer(config), c.ponder_cost)

    def threshold(self, budget) -> float:
        value = self.config.halting_threshold if budget is None else budget
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
            raise ValueError(f"universal_act: the halting threshold must be a number in (0, 1], got {value!r}")
        return float(value)

    def latent_steps(self, budget) -> int:
        self.threshold(budget)
        return self.config.max_steps  # the most steps a token may take; the mean is in forward_passes

    def decode_pass(self, model: UniversalLM, budget):
        threshold = self.threshold(budget)

        def step(x: Tensor, positions: Tensor, key_valid: Tensor, cache: KVCache):
            h, halting = model.model.hidden(inputs_embeds=x, positions=positions, key_valid=key_valid, cache=cache,
                                            threshold=threshold)
            width = x.shape[1]
            work = halting_work(model.model.config.n_layer, halting, key_valid[:, -width:].cpu(),
                                key_valid[:, :-width].sum(1).cpu())
            work.logit_positions = torch.ones(x.shape[0], dtype=torch.float64)
            return model.model.logits(h[:, -1]), work, halting.steps[:, -1].long()
        return step
