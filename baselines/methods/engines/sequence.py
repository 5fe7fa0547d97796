"""Shared pieces of the methods that build their own sequence model from the backbone's config
(gated_deltanet, transformer): the backbone gives the sizes (vocabulary, positions, layers,
width, heads), the method's config may override layers, width and heads, and the backbone's
weights are not used. Text format and loss are no_cot's (question "\\n" "### " answer <eos>),
so the two models differ only in how they mix the sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from baselines.compute import Work
from baselines.format import question_text
from baselines.generation import decode_rows, fit_new_tokens, greedy_loop, left_pad
from baselines.methods.engines.token import TokenLevelMethod, ids
from baselines.methods.base import Generation, MethodConfig
from baselines.tasks.base import Example


@dataclass
class SequenceConfig(MethodConfig):
    n_layer: int = 0  # 0 = the backbone's
    n_embd: int = 0  # 0 = the backbone's
    n_head: int = 0  # 0 = the backbone's


def model_sizes(config: SequenceConfig, backbone: nn.Module) -> dict[str, int]:
    """vocab_size, n_positions, n_layer, n_embd, n_head: the backbone's, overridden by the
    method's non-zero fields (negative values are errors that name the option)."""
    c = backbone.config
    sizes = {"vocab_size": c.vocab_size, "n_positions": c.n_positions}
    for name in ("n_layer", "n_embd", "n_head"):
        value = getattr(config, name)
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"--method-option {name}={value!r}: expected an integer >= 0 (0 = the backbone's)")
        sizes[name] = value or getattr(c, name)
    return sizes


@dataclass
class Prompt:
    """A left-padded batch of questions: ids [B, P], mask [B, P] (1 = real token), real lengths [B]."""

    ids: Tensor
    mask: Tensor
    lengths: Tensor


def prompts(method: TokenLevelMethod, questions: list[Example], device: torch.device) -> Prompt:
    rows = [ids(method.tokenizer, question_text(q)) for q in questions]
    prompt_ids, mask = left_pad(rows, method.tokenizer.pad_token_id, device)
    return Prompt(prompt_ids, mask, mask.sum(1))


def decode(method: TokenLevelMethod, prompt: Prompt, next_logits, embed: nn.Module, n_positions: int,
           attention: str, n_layer: int) -> Generation:
    """Greedy decoding with `next_logits` (one cached pass over new columns -> logits [B, V] of
    the last), and the Generation with its Work: the prompt in the first pass, then one position
    per generated token (the last one is never fed back)."""
    tokenizer = method.tokenizer
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    limit = fit_new_tokens(method.config.max_new_tokens, prompt.ids.shape[1] - 1, n_positions, "the prompt")
    tokens, n_gen = greedy_loop(next_logits, embed(prompt.ids), embed, max_new_tokens=limit, eos_id=eos, pad_id=pad)
    positions = (prompt.lengths + n_gen - 1).cpu()
    work = Work.zeros(len(positions)).add_pass(n_layer, positions.double(), 0.0, attention)
    work.logit_positions = n_gen.cpu().double()
    return Generation(texts=decode_rows(tokenizer, tokens, n_gen, eos), generated_tokens=n_gen.cpu(),
                      forward_passes=n_gen.cpu(), latent_steps=0, positions=positions, work=work)


def training_work(input_ids: Tensor, labels: Tensor, n_layer: int, attention: str) -> Work:
    """Work of one training pass over a right-padded batch (padding is computed, so it counts)."""
    batch, length = input_ids.shape
    work = Work.zeros(batch).add_pass(n_layer, float(length), 0.0, attention)
    work.logit_positions = (labels[:, 1:] != -100).sum(1).double().cpu()
    return work
