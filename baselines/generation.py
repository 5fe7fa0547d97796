"""Batched, KV-cached greedy decoding shared by every method.

Padding convention for generation: prompts are LEFT-padded, so every row of a batch ends at
the same column and the next token of every row is read from the last position. The attention
mask is 1 on real positions and 0 on padding; position ids are computed from the mask
(`cumsum(mask) - 1`, clamped at 0 on the padding), so a left-padded row gets exactly the
positions it would get alone. Training uses right padding instead (see harness.collate).

Methods with latent steps run their latent passes themselves (feeding hidden states back as
input embeddings), then hand the KV cache and the remaining prompt embeddings to
`greedy_decode`. Every decoder shares one loop, `greedy_loop`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from baselines.models.gpt import GPT, KVCache


def positions_from_mask(attention_mask: Tensor) -> Tensor:
    """[B, T] position ids for a left-padded mask [B, T]: 0, 1, 2, ... from the first real token."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def encode_left_padded(tokenizer, texts: list[str], device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """Token ids [B, T] of `texts`, left-padded with the pad id, and the attention mask [B, T]."""
    rows = [tokenizer.encode(text, add_special_tokens=False) for text in texts]
    return left_pad(rows, tokenizer.pad_token_id, device)


def left_pad(rows: list[list[int]], pad_id: int, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """Left-pad lists of ids into ids [B, T] and mask [B, T]."""
    width = max((len(row) for row in rows), default=0)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row):] = 1
    return ids.to(device), mask.to(device)


def fit_new_tokens(max_new_tokens: int, last_position: int, n_positions: int, what: str) -> int:
    """How many tokens decoding may generate after `what` ends at `last_position`, so that no step
    goes past the model's learned position embeddings; an error when nothing fits."""
    room = n_positions - last_position - 1
    if room < 1:
        raise ValueError(f"{what} reaches position {last_position}, the model has only {n_positions} positions "
                         "(raise --n-positions)")
    return min(max_new_tokens, room)


@torch.no_grad()
def greedy_decode(
    model: GPT,
    inputs_embeds: Tensor,
    attention_mask: Tensor,
    cache: KVCache | None = None,
    position_ids: Tensor | None = None,
    *,
    max_new_tokens: int,
    eos_id: int,
    pad_id: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Greedy continuation of a left-padded batch.

    inputs_embeds   [B, T, D]  the prompt (or, with a cache, what follows the cached part)
    attention_mask  [B, P+T]   over cached columns P (0 without a cache) and the T new ones
    cache                      a KVCache holding P columns with room for T + max_new_tokens more,
                               or None (one is allocated for the prompt and the answer)
    position_ids    [B, T]     default: from the mask (see module docstring)

    Returns
      tokens          [B, N]  generated ids, N <= max_new_tokens; after a row's eos: pad_id
      n_generated     [B]     tokens generated per row, its eos included
      forward_passes  [B]     backbone passes spent per row (one per generated token)

    Each step computes the logits of the last position only. A row stops at its eos; the loop
    stops as soon as every row has stopped, or when the next position would be past the model's
    `n_positions` (so a model that never writes eos cannot index past its position table).
    """
    batch, width, _ = inputs_embeds.shape
    if attention_mask.shape[0] != batch or attention_mask.shape[1] < width:
        raise ValueError(f"attention_mask {tuple(attention_mask.shape)} does not cover inputs_embeds {tuple(inputs_embeds.shape)}")
    valid = attention_mask.bool()
    if position_ids is None:
        position_ids = positions_from_mask(attention_mask)[:, -width:]
    max_new_tokens = fit_new_tokens(max_new_tokens, int(position_ids.max()), model.config.n_positions, "the prompt")
    if cache is None:
        cache = KVCache(capacity=valid.shape[1] + max_new_tokens)

    def next_logits(x: Tensor) -> Tensor:
        """One cached pass over the new columns x [B, t, D]; logits [B, V] of the last one."""
        nonlocal valid, position_ids
        hidden = model.step(x, position_ids, valid, cache)  # [B, t, D]
        valid = torch.cat([valid, valid.new_ones(batch, 1)], dim=1)
        position_ids = position_ids[:, -1:] + 1  # [B, 1]
        return model.head(hidden[:, -1])

    tokens, n_generated = greedy_loop(next_logits, inputs_embeds, model.wte,
                                      max_new_tokens=max_new_tokens, eos_id=eos_id, pad_id=pad_id)
    return tokens, n_generated, n_generated.clone()  # one backbone pass per generated token


def greedy_loop(next_logits: Callable[[Tensor], Tensor], x: Tensor, embed: nn.Module, *,
                max_new_tokens: int, eos_id: int, pad_id: int) -> tuple[Tensor, Tensor]:
    """The greedy loop every decoder shares. `next_logits(x)` runs one cached pass over the new
    columns x [B, t, D] (keeping its own cache, mask and positions) and returns the logits [B, V]
    of the last column; the loop feeds back the embedding of each argmax.

    Returns tokens [B, N] (pad_id after a row's eos; N <= max_new_tokens, fewer when every row
    stopped early) and n_generated [B] (eos included)."""
    batch, device = x.shape[0], x.device
    tokens = torch.full((batch, max_new_tokens), pad_id, dtype=torch.long, device=device)
    n_generated = torch.zeros(batch, dtype=torch.long, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    steps = 0
    for step in range(max_new_tokens):
        next_id = next_logits(x).argmax(dim=-1)  # [B]
        active = ~done
        n_generated += active.long()
        next_id = torch.where(active, next_id, torch.full_like(next_id, pad_id))
        tokens[:, step] = next_id
        steps = step + 1
        done |= next_id == eos_id
        if bool(done.all()):
            break
        x = embed(next_id)[:, None, :]  # [B, 1, D]
    return tokens[:, :steps], n_generated


def decode_rows(tokenizer, tokens: Tensor, n_generated: Tensor, eos_id: int) -> list[str]:
    """Text of each row's generated tokens, its eos and padding removed."""
    texts = []
    for row, n in zip(tokens.tolist(), n_generated.tolist()):
        row = row[:n]
        if row and row[-1] == eos_id:
            row = row[:-1]
        texts.append(tokenizer.decode(row, skip_special_tokens=False))
    return texts
