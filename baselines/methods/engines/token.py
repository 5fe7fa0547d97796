"""The token-level engine (no_cot, cot, pause, icot): everything is an ordinary token, the model
is the backbone with a next-token loss, generation is plain greedy decoding.

    training text:   question "\\n" [middle] "### " answer <eos>
    prompt:          question "\\n" [prompt middle]        (the model writes the rest)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.format import ANSWER_MARKER, Example, question_text
from baselines.generation import decode_rows, greedy_decode, left_pad, positions_from_mask
from baselines.methods.base import Generation, Method, StepOutput
from baselines.models.gpt import GPT


def scored_loss(lm_head: Callable[[Tensor], Tensor], hidden: Tensor, labels: Tensor) -> Tensor:
    """Mean next-token cross-entropy; logits are computed on scored positions only.

    lm_head: final hidden states [K, D] -> logits [K, V] (the backbone's `head`);
    hidden [B, T, D], labels [B, T] with -100 on positions that are not predicted.
    """
    targets = labels[:, 1:]  # [B, T-1]
    keep = targets != -100
    logits = lm_head(hidden[:, :-1][keep])  # [K, V]
    return F.cross_entropy(logits.float(), targets[keep])


def is_right_padded(mask: Tensor) -> bool:
    """True when every row's real tokens come first (mask [B, T] never rises from 0 to 1)."""
    return bool((mask[:, 1:] <= mask[:, :-1]).all()) if mask.shape[1] > 1 else True


class TokenLM(nn.Module):
    """The backbone trained with next-token loss on the labelled positions (one forward pass).
    compile=True compiles the backbone's blocks for the pass (CUDA only; the same function)."""

    def __init__(self, backbone: GPT, compile: bool = False):
        super().__init__()
        self.backbone = backbone
        if compile:
            backbone.compile_blocks()

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
        embeds = self.backbone.wte(input_ids)  # [B, T, D]
        # right padding (the harness's): real queries never reach a padding key, so plain causal
        # attention (the flash kernel) is exact on every real token
        key_valid = None if is_right_padded(attention_mask) else attention_mask.bool()
        out = self.backbone.extend(embeds, positions_from_mask(attention_mask), key_valid)
        loss = scored_loss(self.backbone.head, out.hidden, labels)
        # padding is computed too, so it counts (compute.py)
        return StepOutput(loss=loss, forward_passes=1, positions=input_ids.numel())


def ids(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False)


def answer_ids(tokenizer, example: Example) -> list[int]:
    """"### answer<eos>": the marker and the answer apart (the same ids as together for our tokenizers)."""
    return ids(tokenizer, ANSWER_MARKER) + ids(tokenizer, " " + example.answer) + [tokenizer.eos_token_id]


def encode(tokenizer, example: Example, middle: list[int], middle_scored: bool) -> dict[str, list[int]]:
    """input_ids and labels of question + middle + answer (the question is never scored)."""
    question = ids(tokenizer, question_text(example))
    answer = answer_ids(tokenizer, example)
    labels = [-100] * len(question) + (middle if middle_scored else [-100] * len(middle)) + answer
    return {"input_ids": question + middle + answer, "labels": labels}


@torch.no_grad()
def generate(method: Method, model: TokenLM, questions: list[Example], prompt_middle: list[int],
             latent_steps: int) -> Generation:
    """Greedy answers to question + prompt_middle for a batch (left-padded, KV-cached)."""
    tokenizer, backbone = method.tokenizer, model.backbone
    device = next(backbone.parameters()).device
    prompts = [ids(tokenizer, question_text(q)) + prompt_middle for q in questions]
    prompt_ids, mask = left_pad(prompts, tokenizer.pad_token_id, device)  # [B, P]
    embeds = backbone.wte(prompt_ids)  # [B, P, D]
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    tokens, n_gen, passes = greedy_decode(backbone, embeds, mask, max_new_tokens=method.config.max_new_tokens,
                                          eos_id=eos, pad_id=pad)
    # the prompt in the first pass, then one position per later pass (the token just generated)
    positions = mask.sum(1) + n_gen - 1
    return Generation(texts=decode_rows(tokenizer, tokens, n_gen, eos), generated_tokens=n_gen.cpu(),
                      forward_passes=passes.cpu(), latent_steps=latent_steps, positions=positions.cpu())


class TokenLevelMethod(Method):
    """A ready Method for question -> [middle tokens] -> answer, all ordinary tokens.

    Subclasses override `middle` (ids between question and answer in training, and whether
    the loss covers them) and, for a middle that is part of the prompt, `prompt_middle` and
    `latent_steps`. no_cot, cot, pause and icot are built on it.
    """

    def ids(self, text: str) -> list[int]:
        return ids(self.tokenizer, text)

    def answer_ids(self, example: Example) -> list[int]:
        return answer_ids(self.tokenizer, example)

    def middle(self, example: Example, stage: int) -> tuple[list[int], bool]:
        return [], False

    def prompt_middle(self, budget: int | None) -> list[int]:
        return []

    def latent_steps(self, budget: int | None) -> int:
        return 0

    def build_model(self, backbone: GPT) -> TokenLM:
        return TokenLM(backbone)

    def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
        middle, scored = self.middle(example, stage)
        return encode(self.tokenizer, example, middle, scored)

    def generate(self, model: TokenLM, questions: list[Example], budget: int | None = None) -> Generation:
        return generate(self, model, questions, self.prompt_middle(budget), self.latent_steps(budget))
