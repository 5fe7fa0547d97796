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
steps; generation reports 0 latent steps. Training and generation run through LeanGPT2
(_gpt2.py): plain causal attention on right-padded batches, a buffer KV cache in generation.

Difference from the reference: there the removal count grows by one token every
1/remove_per_epoch epochs until everything is gone; here the same ramp is cut into `num_stages`
equal shares of the training budget (the harness's rule for every curriculum method), stage s
< the last removing s * remove_per_stage tokens. Choose num_stages so that
(num_stages - 1) * remove_per_stage reaches the task's CoT length, or the last stage drops the
rest at once.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from torch import Tensor, nn

from baselines.format import Example, question_text, steps_text
from baselines.generation import decode_rows, positions_from_mask
from baselines.methods._gpt2 import LeanGPT2
from baselines.methods.base import Generation, MethodConfig, StepOutput
from baselines.methods.engines.latent import generate_with_thoughts, is_right_padded
from baselines.methods.engines.token import TokenLevelMethod, ids, scored_loss

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


class LeanLM(nn.Module):
    """The backbone with next-token loss on the labelled positions, one pass through LeanGPT2
    (a right-padded batch needs no padding mask: the flash kernel; compiled blocks on request)."""

    def __init__(self, backbone: nn.Module, compile: bool = False):
        super().__init__()
        self.backbone = backbone
        self.lean = LeanGPT2(backbone, compile=compile)

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
        embeds = self.backbone.get_input_embeddings()(input_ids)  # [B, T, D]
        key_valid = None if is_right_padded(attention_mask) else attention_mask.bool()
        out = self.lean.forward(embeds, positions_from_mask(attention_mask), key_valid)
        loss = scored_loss(self.backbone.lm_head, out.hidden, labels)
        # padding is computed too, so it counts (compute.py)
        return StepOutput(loss=loss, forward_passes=1, positions=input_ids.numel())


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

    def build_model(self, backbone: nn.Module) -> LeanLM:
        return LeanLM(backbone, compile=self.config.compile)

    def generate(self, model: LeanLM, questions: list[Example], budget: int | None = None) -> Generation:
        """Greedy answers from the question alone: batched, one KV-cache buffer."""
        tok = self.tokenizer
        prompts = [ids(tok, question_text(q)) for q in questions]
        tokens, n_gen, passes, positions = generate_with_thoughts(
            model.lean, prompts, 0, [], self.config.max_new_tokens, tok.eos_token_id, tok.pad_token_id)
        return Generation(texts=decode_rows(tok, tokens, n_gen, tok.eos_token_id), generated_tokens=n_gen.cpu(),
                          forward_passes=passes.cpu(), latent_steps=0, positions=positions.cpu())
