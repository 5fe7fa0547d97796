"""The multi-pass latent engine: continuous thoughts fed back as input embeddings, KV-cached.

Used by coconut, codi and icot (icot only for its plain greedy decoding: zero thoughts). A
continuous thought is the last hidden state at the column before it (optionally projected),
fed back as the next input embedding instead of a token.

Training (`LatentModel.prepare` + `run_latent_passes`): the harness right-pads; rows may have
different numbers of thoughts and question lengths, so each row is shifted right by gather
(`align_rows`, no per-row loop) until every `<bot>` ends at the same column A-1; the thoughts of
row i then sit at columns A .. A+n_i-1. With n the largest thought count of the batch the
forward runs n+1 passes, each computing only its new columns on top of the KV cache of the
previous ones:
  pass 0      columns [0, A)               -> hidden state at A-1 = thought 1 of every row
  pass t      column A+t-1 (t = 1..n-1)    -> thought t+1
  pass n      columns [A+n-1, end)         -> the language positions
A column whose row has fewer thoughts holds an ordinary token embedding; torch.where picks, per
row, between the fed-back state and the token embedding. Position ids come from the attention
mask, so a shifted row sees exactly the positions it would see alone.

Generation (`generate_with_thoughts`): one pass over the left-padded prompts, one KV-cached pass
per further thought, then greedy decoding from [last thought, suffix] (generation.greedy_decode),
the KV cache one buffer sized for the whole answer.

The training passes are `GPT.extend` (the keys and values of earlier passes concatenated, in the
graph), the generation passes `GPT.step` (a KVCache written in place); in both a padding column
as a query sees itself, so leading padding never makes a fully masked attention row (see
baselines/models/gpt.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from baselines.format import Example, question_text
from baselines.generation import fit_new_tokens, greedy_decode, left_pad, positions_from_mask
from baselines.methods.engines.token import answer_ids, ids, is_right_padded
from baselines.models.gpt import GPT, KVCache


def example_parts(tokenizer, example: Example) -> tuple[list[int], list[list[int]], list[int]]:
    """Token ids of `question\\n`, of each `step\\n`, and of `### answer<eos>` (the shared
    format, the same ids as the token-level methods; the answer marker's tokens come first)."""
    steps = [ids(tokenizer, step + "\n") for step in example.steps]
    return ids(tokenizer, question_text(example)), steps, answer_ids(tokenizer, example)


def align_rows(anchor: Tensor, tensors: list[tuple[Tensor, int]], mask: Tensor) -> tuple[list[Tensor], Tensor]:
    """Shift each row right so that every row's `anchor` column lands on the same column.

    anchor [B] column of each row; `tensors` are ([B, T] tensor, fill value) pairs moved the same
    way; mask [B, T] (1 = real token). Returns the shifted tensors and mask [B, W], where W drops
    the columns that are padding in every row. One gather per tensor, no per-row loop.
    """
    batch, width = mask.shape
    shift = anchor.max() - anchor  # [B]
    new_width = int((shift + mask.sum(1)).max())
    cols = torch.arange(new_width, device=mask.device)[None, :] - shift[:, None]  # [B, W]
    valid = (cols >= 0) & (cols < width)
    cols = cols.clamp(0, width - 1)
    moved = [torch.where(valid, t.gather(1, cols), torch.full_like(cols, fill)) for t, fill in tensors]
    new_mask = torch.where(valid, mask.gather(1, cols), torch.zeros_like(cols))
    return moved, new_mask


@dataclass
class PassesOutput:
    hidden: Tensor  # [B, W, D] last hidden state (after the final LayerNorm) of every column
    passes: int  # sequential backbone passes
    positions: int  # columns processed, summed over passes and rows (padding included)
    final_start: int  # first column of the last pass
    final_layers: tuple[Tensor, ...] | None  # per-layer hidden states of the last pass (on request)


def run_latent_passes(gpt: GPT, embeds: Tensor, mask: Tensor, start: int, n_latent: Tensor,
                      project: nn.Module | None = None, output_hidden_states: bool = False) -> PassesOutput:
    """The KV-cached multi-pass forward over a batch whose thoughts start at column `start`.

    embeds [B, W, D] token embeddings (thought columns hold placeholders), mask [B, W],
    n_latent [B] thoughts per row (row i has them at columns start .. start+n_i-1). Thought t+1
    of a row is the (optionally projected) last hidden state at the column before it.
    """
    batch, width, _ = embeds.shape
    positions = positions_from_mask(mask)
    valid = mask.bool()
    max_n = int(n_latent.max()) if n_latent.numel() else 0
    if max_n == 0:
        # right padding only: real queries never reach a padding key, so plain causal attention
        out = gpt.extend(embeds, positions, None if is_right_padded(mask) else valid, output_states=output_hidden_states)
        return PassesOutput(out.hidden, 1, batch * width, 0, out.states)

    def feed(state: Tensor) -> Tensor:  # [B, D] -> [B, D]
        return project(state) if project is not None else state

    out = gpt.extend(embeds[:, :start], positions[:, :start], valid[:, :start])
    chunks = [out.hidden]
    cache, previous = out.cache, out.hidden[:, -1]  # previous [B, D]
    for t in range(max_n - 1):
        col = start + t
        x = torch.where((n_latent > t)[:, None], feed(previous), embeds[:, col])[:, None]  # [B, 1, D]
        out = gpt.extend(x, positions[:, col: col + 1], valid[:, : col + 1], cache)
        chunks.append(out.hidden)
        cache, previous = out.cache, out.hidden[:, -1]
    col = start + max_n - 1
    first = torch.where((n_latent >= max_n)[:, None], feed(previous), embeds[:, col])  # [B, D]
    x = torch.cat([first[:, None], embeds[:, col + 1:]], dim=1)  # [B, W-col, D]
    out = gpt.extend(x, positions[:, col:], valid, cache, output_states=output_hidden_states)
    chunks.append(out.hidden)
    # the passes partition the columns: every column is computed once
    return PassesOutput(torch.cat(chunks, dim=1), max_n + 1, batch * width, col, out.states)


@torch.no_grad()
def generate_with_thoughts(gpt: GPT, prompts: list[list[int]], n_thoughts: int, suffix: list[int],
                           max_new_tokens: int, eos_id: int, pad_id: int,
                           project: nn.Module | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Batched greedy answers after `n_thoughts` continuous thoughts.

    prompts: token ids per question, ending where the first thought goes (after <bot>); `suffix`
    (e.g. [<eot>]) follows the last thought. Runs one pass over the left-padded prompts, one
    KV-cached pass per further thought, then greedy decoding from [last thought, suffix]; the KV
    cache is one buffer sized for the whole answer.
    Returns tokens [B, N], n_generated [B], forward_passes [B], positions [B].
    """
    device = gpt.wte.weight.device
    embed = gpt.wte
    ids, mask = left_pad(prompts, pad_id, device)  # [B, P]
    batch, width = ids.shape
    prompt_len = mask.sum(1)  # [B]
    last = int(prompt_len.max()) - 1 + n_thoughts + len(suffix)  # the prompt, thoughts and suffix
    max_new_tokens = fit_new_tokens(max_new_tokens, last, gpt.config.n_positions, "the prompt with its thoughts")
    valid = mask.bool()
    cache = KVCache(capacity=width + n_thoughts + len(suffix) + max_new_tokens)
    suffix_embeds = embed(torch.tensor(suffix, dtype=torch.long, device=device))[None].expand(batch, -1, -1)
    ones = valid.new_ones(batch, len(suffix) + (1 if n_thoughts else 0))
    if n_thoughts == 0:
        valid = torch.cat([valid, ones], dim=1)
        x, positions = torch.cat([embed(ids), suffix_embeds], dim=1), positions_from_mask(valid)
    else:
        positions = positions_from_mask(mask)
        hidden = gpt.step(embed(ids), positions, valid, cache)
        state, last = hidden[:, -1:], positions[:, -1:]  # state [B, 1, D]
        for _ in range(n_thoughts - 1):
            valid = torch.cat([valid, valid.new_ones(batch, 1)], dim=1)
            last = last + 1
            state = gpt.step(project(state) if project is not None else state, last, valid, cache)
        thought = project(state) if project is not None else state
        x = torch.cat([thought, suffix_embeds], dim=1)  # [B, 1+S, D]
        valid = torch.cat([valid, ones], dim=1)
        positions = last + torch.arange(1, x.shape[1] + 1, device=device)[None]
    tokens, n_gen, _ = greedy_decode(gpt, x, valid, cache, positions, max_new_tokens=max_new_tokens,
                                     eos_id=eos_id, pad_id=pad_id)
    # prompt + thoughts + suffix, then one new position per later pass
    return tokens, n_gen, n_gen + n_thoughts, prompt_len + n_thoughts + len(suffix) + n_gen - 1


class LatentModel(nn.Module):
    """The backbone and the two steps every continuous-thought training forward starts with:
    realign the batch (`prepare`), run the KV-cached passes (`run`). A method's model subclasses
    it and adds `forward` (its loss). compile=True compiles the backbone's blocks for the
    training passes (CUDA only; the same function)."""

    def __init__(self, backbone: GPT, *, latent_id: int, bot_id: int, pad_id: int, feedback: bool,
                 compile: bool = False):
        super().__init__()
        self.backbone = backbone
        self.latent_id, self.bot_id, self.pad_id, self.feedback = latent_id, bot_id, pad_id, feedback
        if compile:
            backbone.compile_blocks()

    def prepare(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor | None = None,
                extras: tuple[tuple[Tensor, int], ...] = ()):
        """Realign a right-padded batch so that the thoughts of every row start at one column.

        `extras` are further ([B, T] tensor, fill value) pairs moved along. Returns input_ids,
        labels, mask [B, W], the first thought column, n_latent [B] and the moved extras."""
        mask = attention_mask.long() if attention_mask is not None else (input_ids != self.pad_id).long()
        is_latent = (input_ids == self.latent_id) & (mask > 0)
        n_latent = is_latent.sum(1)  # [B]
        if not self.feedback or int(n_latent.max()) == 0:
            return input_ids, labels, mask, 0, torch.zeros_like(n_latent), [t for t, _ in extras]
        has_bot = input_ids == self.bot_id
        if not bool(has_bot.any(1).all()):
            raise ValueError("latent batch: a row with thoughts has no <bot> marker")
        anchor = has_bot.long().argmax(1) + 1  # [B] first thought column of each row
        moved, mask = align_rows(anchor, [(input_ids, self.pad_id), (labels, -100), *extras], mask)
        input_ids, labels = moved[0], moved[1]
        start = int(anchor.max())
        cols = torch.arange(input_ids.shape[1], device=input_ids.device)[None]
        expected = (cols >= start) & (cols < start + n_latent[:, None])
        if not torch.equal(expected, input_ids == self.latent_id):
            raise ValueError("latent batch: the <latent> tokens of a row must directly follow its <bot>")
        return input_ids, labels, mask, start, n_latent, moved[2:]

    def run(self, input_ids: Tensor, mask: Tensor, start: int, n_latent: Tensor,
            project: nn.Module | None = None, output_hidden_states: bool = False) -> PassesOutput:
        embeds = self.backbone.wte(input_ids)  # [B, W, D]
        return run_latent_passes(self.backbone, embeds, mask, start, n_latent, project,
                                 output_hidden_states)
