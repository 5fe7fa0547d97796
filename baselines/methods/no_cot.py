"""No chain of thought: the model reads the question and writes the answer at once.

The reference point of every comparison, not a paper's method (catalog id: none): the same
backbone is fine-tuned on `question "\\n" "### " answer <eos>` and must answer without
intermediate tokens. The other token-level methods (cot.py, pause.py) reuse `TokenLevelMethod`
below and only change what sits between the question and the answer. No compute knob.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.data import question_text
from baselines.generation import decode_rows, greedy_decode, left_pad
from baselines.methods.base import ANSWER_MARKER, Generation, Method, MethodConfig, StepOutput
from baselines.tasks.base import Example


def scored_loss(lm_head: nn.Module, hidden: Tensor, labels: Tensor) -> Tensor:
    """Mean next-token cross-entropy; logits are computed on scored positions only.

    hidden [B, T, D], labels [B, T] with -100 on positions that are not predicted.
    """
    targets = labels[:, 1:]  # [B, T-1]
    keep = targets != -100
    logits = lm_head(hidden[:, :-1][keep])  # [K, V]
    return F.cross_entropy(logits.float(), targets[keep])


class TokenLM(nn.Module):
    """The backbone trained with next-token loss on the labelled positions (one forward pass)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
        # right-padded batch: positions 0..T-1 are the true positions of every row
        out = self.backbone.transformer(input_ids=input_ids, attention_mask=attention_mask)
        loss = scored_loss(self.backbone.lm_head, out.last_hidden_state, labels)
        return StepOutput(loss=loss, forward_passes=1, positions=input_ids.numel())


@dataclass
class Config(MethodConfig):
    pass


class TokenLevelMethod(Method):
    """question -> [middle tokens] -> "### answer<eos>", all as ordinary tokens.

    Subclasses override `middle` (the ids between question and answer, and whether they are
    trained on) and, when the middle is part of the prompt, `prompt_middle`.
    """

    def ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def answer_ids(self, example: Example) -> list[int]:
        # the marker and the answer apart: the same ids as "### answer" for our tokenizers
        return self.ids(ANSWER_MARKER) + self.ids(" " + example.answer) + [self.tokenizer.eos_token_id]

    def middle(self, example: Example, stage: int) -> tuple[list[int], bool]:
        """Ids between question and answer in training, and whether the loss covers them."""
        return [], False

    def prompt_middle(self, budget: int | None) -> list[int]:
        """Ids appended to the question at generation time."""
        return []

    def latent_steps(self, budget: int | None) -> int:
        return 0

    def build_model(self, backbone: nn.Module) -> TokenLM:
        return TokenLM(backbone)

    def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
        question = self.ids(question_text(example))
        middle, scored = self.middle(example, stage)
        answer = self.answer_ids(example)
        labels = [-100] * len(question) + (middle if scored else [-100] * len(middle)) + answer
        return {"input_ids": question + middle + answer, "labels": labels}

    @torch.no_grad()
    def generate(self, model: TokenLM, questions: list[Example], budget: int | None = None) -> Generation:
        backbone = model.backbone
        device = next(backbone.parameters()).device
        prompts = [self.ids(question_text(q)) + self.prompt_middle(budget) for q in questions]
        ids, mask = left_pad(prompts, self.tokenizer.pad_token_id, device)  # [B, P]
        embeds = backbone.get_input_embeddings()(ids)  # [B, P, D]
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        tokens, n_gen, passes = greedy_decode(backbone, embeds, mask, max_new_tokens=self.config.max_new_tokens,
                                              eos_id=eos, pad_id=pad)
        # the prompt in the first pass, then one position per later pass (the token just generated)
        positions = mask.sum(1) + n_gen - 1
        return Generation(texts=decode_rows(self.tokenizer, tokens, n_gen, eos), generated_tokens=n_gen.cpu(),
                          forward_passes=passes.cpu(), latent_steps=self.latent_steps(budget),
                          positions=positions.cpu())


class NoCoT(TokenLevelMethod):
    name = "no_cot"
    paper = None
    Config = Config
    knob = None
