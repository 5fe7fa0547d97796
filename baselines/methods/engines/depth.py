"""Shared pieces of the depth-recurrent methods (looped, universal_act, recurrent_depth): the model
is built from our GPT stack with the backbone's vocabulary, positions, width and heads (its weights
are not used); the text is no_cot's (question "\\n" "### " answer <eos>, the answer scored), and the
extra computation happens inside the network, per token.

Generation is batched, KV-cached greedy decoding (left-padded prompts, positions from the mask,
one cache slot per block application). Each method's `decode_pass` runs one cached pass over the
new columns and says what it cost per example; `generate` keeps the passes each example used
(its prompt and one pass per token it generated before its eos) and reports:

  forward_passes   per example, the iterations (loops, ACT steps, recurrences) of the columns whose
                   logits gave a token: divided by the generated tokens, the mean depth per token
  positions        token columns processed (prompt + generated - 1), as for a plain model
  work             compute.Work: block applications, attended pairs and logits, per example
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from baselines.compute import Work
from baselines.format import question_text
from baselines.generation import decode_rows, fit_new_tokens, greedy_loop, left_pad, positions_from_mask
from baselines.methods.engines.token import encode as token_encode
from baselines.methods.engines.token import ids
from baselines.methods.base import Generation, Method, MethodConfig
from baselines.models.gpt import KVCache
from baselines.tasks.base import Example


@dataclass
class DepthConfig(MethodConfig):
    """Fields the depth-recurrent methods share (0 = the backbone's value)."""

    width: int = 0  # n_embd of the model
    heads: int = 0  # attention heads


def model_dims(config: DepthConfig, backbone: nn.Module) -> dict:
    """vocab_size, n_positions, n_embd, n_head for our model, from the backbone's config and the
    method's width/heads overrides."""
    c = backbone.config
    width = config.width or c.n_embd
    heads = config.heads or (c.n_head if width == c.n_embd else max(1, width // 64))
    if width % heads:
        raise ValueError(f"width={width} is not divisible by heads={heads}")
    return {"vocab_size": c.vocab_size, "n_positions": c.n_positions, "n_embd": width, "n_head": heads}


def add_masked(total: Work, part: Work, live: Tensor) -> None:
    """total += part on the examples where `live` [B] is true (in place)."""
    w = live.double().cpu()
    total.layer_positions = total.layer_positions + w * part.layer_positions
    total.logit_positions = total.logit_positions + w * part.logit_positions
    total.steps = total.steps + w * part.steps
    for kind, pairs in part.pairs.items():
        total.pairs[kind] = total.pairs.get(kind, torch.zeros_like(total.layer_positions)) + w * pairs


def column_pairs(new_valid: Tensor, cached_valid: Tensor) -> Tensor:
    """[B, t] for a pass over t new columns: how many real columns each new column attends to
    (the cached real ones, the real new ones up to itself); 0 on padding columns."""
    rank = new_valid.long().cumsum(-1)  # [B, t]
    return (cached_valid[:, None] + rank).double() * new_valid.double()


# next_logits(x [B, t, D], positions [B, t], key_valid [B, P+t], cache) -> (logits [B, V], Work, iterations [B])
DecodePass = Callable[[Tensor, Tensor, Tensor, KVCache], "tuple[Tensor, Work, Tensor]"]


class DepthMethod(Method):
    """encode as no_cot; `generate` drives `decode_pass`, which subclasses implement."""

    Config = DepthConfig

    def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
        return token_encode(self.tokenizer, example, [], False)

    def latent_steps(self, budget) -> int:
        """The int recorded as latent steps per example (the knob's depth)."""
        raise NotImplementedError

    def decode_pass(self, model: nn.Module, budget) -> DecodePass:
        raise NotImplementedError

    @torch.no_grad()
    def generate(self, model: nn.Module, questions: list[Example], budget=None) -> Generation:
        tokenizer = self.tokenizer
        device = next(model.parameters()).device
        prompts = [ids(tokenizer, question_text(q)) for q in questions]
        prompt_ids, mask = left_pad(prompts, tokenizer.pad_token_id, device)  # [B, P]
        positions = positions_from_mask(mask)
        max_new = fit_new_tokens(self.config.max_new_tokens, int(positions.max()), model.n_positions, "the prompt")
        cache = KVCache(capacity=prompt_ids.shape[1] + max_new)
        step = self.decode_pass(model, budget)
        passes: list[tuple[Work, Tensor]] = []
        state = {"mask": mask.bool(), "positions": positions}

        def next_logits(x: Tensor) -> Tensor:
            logits, work, iterations = step(x, state["positions"], state["mask"], cache)
            passes.append((work, iterations))
            state["mask"] = torch.cat([state["mask"], state["mask"].new_ones(x.shape[0], 1)], dim=1)
            state["positions"] = state["positions"][:, -1:] + 1
            return logits

        eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
        tokens, n_gen = greedy_loop(next_logits, model.token_embedding(prompt_ids), model.token_embedding,
                                    max_new_tokens=max_new, eos_id=eos, pad_id=pad)
        total = Work.zeros(len(questions))
        depth = torch.zeros(len(questions), dtype=torch.long)
        for j, (work, iterations) in enumerate(passes):  # example i used passes 0 .. n_gen[i] - 1
            live = (n_gen > j).cpu()
            add_masked(total, work, live)
            depth += torch.where(live, iterations.cpu().long(), torch.zeros_like(depth))
        total.steps = depth.double()
        return Generation(texts=decode_rows(tokenizer, tokens, n_gen, eos), generated_tokens=n_gen.cpu(),
                          forward_passes=depth, latent_steps=self.latent_steps(budget),
                          positions=(mask.sum(1) + n_gen - 1).cpu(), work=total)
