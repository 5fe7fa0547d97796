"""Stepwise internalization of chain-of-thought, iCoT-SI (catalog id `deng2024explicit`, arXiv 2405.14838).

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
steps; generation reports 0 latent steps. Training and generation are the token-level engine's
(engines/token.py): one causal pass per batch, batched greedy decoding with a KV cache.

Difference from the reference: there the removal count grows by one token every
1/remove_per_epoch epochs until everything is gone; here the same ramp is cut into `num_stages`
equal shares of the training budget (the harness's rule for every curriculum method), stage s
< the last removing s * remove_per_stage tokens. Choose num_stages so that
(num_stages - 1) * remove_per_stage reaches the task's CoT length, or the last stage drops the
rest at once. Model selection keeps only checkpoints of the last stage, where no CoT token
remains (the reference likewise picks among checkpoints with everything removed): an earlier
checkpoint still writes part of the CoT and is not an iCoT model. The reproduction suites train a
small model from scratch (the paper fine-tunes pretrained GPT-2) at the suite's learning rate.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from baselines.format import Example, steps_text
from baselines.methods.base import MethodConfig
from baselines.methods.engines.token import TokenLevelMethod, TokenLM
from baselines.models.gpt import GPT

MAX_SMOOTHING_OFFSET = 100  # the reference truncates the offset distribution here too


@dataclass
class Config(MethodConfig):
    remove_per_stage: int = 8  # CoT tokens removed from the start of the chain at each stage
    num_stages: int = 8  # stages; the last one removes every CoT token
    removal_smoothing_lambda: float = 4.0  # P(extra offset o) ~ exp(-lambda*o); inf = none (paper: 4)
    reset_optimizer: bool = True  # fresh AdamW state at every stage change
    max_new_tokens: int = 64  # only the answer is generated
    compile: bool = False  # torch.compile each backbone block (CUDA only; speed, same function)

    def __post_init__(self) -> None:
        if self.remove_per_stage < 1 or self.num_stages < 1:
            raise ValueError("icot config: remove_per_stage and num_stages must be >= 1")
        if not self.removal_smoothing_lambda > 0:
            raise ValueError(f"icot config: removal_smoothing_lambda={self.removal_smoothing_lambda} must be > 0")


def smoothing_offset(lam: float, rng: random.Random | None = None) -> int:
    """An extra removal offset o >= 0 with P(o) = (1 - e^-lam) e^(-lam o): the floor of an
    exponential draw. Drawn from Python's global generator by default (the harness seeds it)."""
    if math.isinf(lam):
        return 0
    draw = (rng or random).expovariate(lam)
    return min(int(draw), MAX_SMOOTHING_OFFSET - 1)


class ICoT(TokenLevelMethod):
    """question -> the CoT without its first tokens (scored) -> answer; generation from the
    question alone (TokenLevelMethod's batched greedy decoding, no latent steps)."""

    name = "icot"
    paper = "deng2024explicit"
    Config = Config
    knob = None

    def __init__(self, config: Config, tokenizer):
        super().__init__(config, tokenizer)
        self.num_stages = config.num_stages

    def removed_tokens(self, stage: int, cot_length: int) -> int:
        """CoT tokens to drop from the start of a chain of `cot_length` tokens at `stage`."""
        if stage >= self.num_stages - 1:
            return cot_length
        offset = smoothing_offset(self.config.removal_smoothing_lambda)
        return min(stage * self.config.remove_per_stage + offset, cot_length)

    def middle(self, example: Example, stage: int) -> tuple[list[int], bool]:
        cot = self.ids(steps_text(example))
        return cot[self.removed_tokens(stage, len(cot)):], True

    def build_model(self, backbone: GPT) -> TokenLM:
        return TokenLM(backbone, compile=self.config.compile)
