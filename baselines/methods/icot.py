"""Stepwise internalization of chain-of-thought, iCoT-SI (arXiv 2405.14838).

Deng, Choi and Shieber, "From Explicit CoT to Implicit CoT: Learning to Internalize CoT Step by
Step" (2024). The model starts as an ordinary CoT model; stage by stage, CoT tokens are removed
from the start of the chain (`remove_per_stage` more at each stage) and the model is fine-tuned
on what remains, so it learns to do the removed reasoning internally. At the last stage no CoT
token remains: the model answers the question directly.

Removal smoothing: each example drops `o` extra tokens beyond its stage's count, with o drawn
from P(o) proportional to exp(-lambda * o) (`removal_smoothing_lambda`; inf = no smoothing), so
the next tokens to be removed are sometimes already absent and the stage changes are softer.
The optimizer is reset at every stage change (`reset_optimizer`), as in the paper.

Compute knob: none. The trained model answers question -> answer with no CoT and no latent
steps; generation reports 0 latent steps.

Difference from the reference: there the removal count grows by one token every
1/remove_per_epoch epochs until everything is gone; here the same ramp is cut into `num_stages`
equal shares of the training budget (the harness's rule for every curriculum method), stage s
< the last removing s * remove_per_stage tokens. Choose num_stages so that
(num_stages - 1) * remove_per_stage reaches the task's CoT length, or the last stage drops the
rest at once.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from torch import Tensor, nn

from baselines.generation import decode_rows, positions_from_mask
from baselines.methods.base import Generation, Method, MethodConfig, StepOutput
from baselines.methods.coconut import example_parts, generate_with_thoughts, lm_loss
from baselines.tasks.base import Example

MAX_SMOOTHING_OFFSET = 100  # the reference truncates the offset distribution here too


@dataclass
class Config(MethodConfig):
    remove_per_stage: int = 8  # CoT tokens removed from the start of the chain at each stage
    num_stages: int = 8  # stages; the last one removes every CoT token
    removal_smoothing_lambda: float = 4.0  # P(extra offset o) ~ exp(-lambda*o); inf = none (paper: 4)
    reset_optimizer: bool = True  # fresh AdamW state at every stage change

    def __post_init__(self) -> None:
        if self.remove_per_stage < 1 or self.num_stages < 1:
            raise ValueError("icot config: remove_per_stage and num_stages must be >= 1")
        if not self.removal_smoothing_lambda > 0:
            raise ValueError(f"icot config: removal_smoothing_lambda={self.removal_smoothing_lambda} must be > 0")


def smoothing_offset(lam: float, rng: random.Random | None = None) -> int:
    """An extra removal offset o >= 0 with P(o) = (1 - e^-lam) e^(-lam o): floor of Exp(lam)."""
    if math.isinf(lam):
        return 0
    draw = (rng or random).expovariate(lam)
    return min(int(draw), MAX_SMOOTHING_OFFSET - 1)


class LanguageModel(nn.Module):
    """The backbone with the ordinary next-token loss (one pass)."""

    def __init__(self, backbone: nn.Module, pad_id: int):
        super().__init__()
        self.backbone = backbone
        self.pad_id = pad_id

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor | None = None, **_) -> StepOutput:
        mask = attention_mask.long() if attention_mask is not None else (input_ids != self.pad_id).long()
        hidden = self.backbone.transformer(input_ids=input_ids, attention_mask=mask,
                                           position_ids=positions_from_mask(mask)).last_hidden_state
        loss = lm_loss(self.backbone.lm_head, hidden, labels)
        return StepOutput(loss=loss, forward_passes=1, positions=input_ids.numel())


class ICoT(Method):
    name = "icot"
    paper = "deng2024explicit"
    Config = Config
    knob = None

    def __init__(self, config: Config, tokenizer):
        super().__init__(config, tokenizer)
        self.num_stages = config.num_stages

    def build_model(self, backbone: nn.Module) -> LanguageModel:
        return LanguageModel(backbone, self.tokenizer.pad_token_id)

    def removed_tokens(self, stage: int, cot_length: int) -> int:
        """CoT tokens to drop from the start of a chain of `cot_length` tokens at `stage`."""
        if stage >= self.num_stages - 1:
            return cot_length
        offset = smoothing_offset(self.config.removal_smoothing_lambda)
        return min(stage * self.config.remove_per_stage + offset, cot_length)

    def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
        question, steps, answer = example_parts(self.tokenizer, example)
        cot = list(itertools.chain.from_iterable(steps))
        kept = cot[self.removed_tokens(stage, len(cot)):] + answer
        return {"input_ids": question + kept, "labels": [-100] * len(question) + kept}

    def generate(self, model: LanguageModel, questions: list[Example], budget: int | None = None) -> Generation:
        if budget not in (None, 0):
            raise ValueError(f"icot answers directly and has no compute knob; got budget {budget}")
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        prompts = [example_parts(self.tokenizer, q)[0] for q in questions]
        tokens, n_gen, passes, positions = generate_with_thoughts(
            model.backbone, prompts, 0, [], self.config.max_new_tokens, eos, pad)
        return Generation(texts=decode_rows(self.tokenizer, tokens, n_gen, eos), generated_tokens=n_gen.cpu(),
                          forward_passes=passes.cpu(), latent_steps=0, positions=positions.cpu())
