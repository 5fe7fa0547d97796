"""Training batches: the collate (RIGHT padding; generation pads on the left, see
generation.py) and the deterministic order in which training examples are visited
(`batch_indices`): a function of (seed, step, batch size, rank, world size) only, so a resumed
run sees the same data.
"""

from __future__ import annotations

import random
from functools import lru_cache

import torch


def collate(rows: list[dict[str, list[int]]], pad_id: int, pad_values: dict[str, int] | None = None,
            device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Right-pad encoded examples into a batch.

    Every row has `input_ids`, `labels` and any method extras, all of the row's length.
    Returns `input_ids` [B, T] (pad_id), `labels` [B, T] (-100), `attention_mask` [B, T]
    (1 on real tokens) and each extra [B, T] padded with `pad_values.get(key, 0)`.
    """
    if not rows:
        raise ValueError("collate: empty batch")
    pad_values = {"input_ids": pad_id, "labels": -100, **(pad_values or {})}
    lengths = [len(row["input_ids"]) for row in rows]
    width = max(lengths)
    batch: dict[str, torch.Tensor] = {}
    for key in rows[0]:
        fill = pad_values.get(key, 0)
        padded = []
        for i, row in enumerate(rows):
            if len(row[key]) != lengths[i]:
                raise ValueError(f"collate: field {key!r} of row {i} has length {len(row[key])}, "
                                 f"input_ids has {lengths[i]}")
            padded.append(list(row[key]) + [fill] * (width - lengths[i]))
        batch[key] = torch.tensor(padded, dtype=torch.long)  # one conversion for the whole batch
    batch["attention_mask"] = (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).long()
    return {key: value.to(device) for key, value in batch.items()}


@lru_cache(maxsize=4)
def epoch_order(n: int, seed: int, epoch: int) -> tuple[int, ...]:
    """A permutation of range(n), fixed by (seed, epoch). Cached: every step of an epoch reads the
    same permutation, and shuffling a large training set (800,000 examples take 1.6 s) once per
    optimizer step would cost more than the step itself."""
    order = list(range(n))
    random.Random(f"{seed}/{epoch}").shuffle(order)
    return tuple(order)


def batch_indices(n: int, seed: int, step: int, batch_size: int, rank: int = 0, world_size: int = 1) -> list[int]:
    """Indices of the training examples of optimizer step `step` that this rank processes.

    The global batch is the `batch_size` examples at stream positions [step*B, (step+1)*B) of
    an endless sequence of shuffled epochs; rank r takes the r-th contiguous 1/world_size of it
    (the data position of a run is therefore step * batch_size).
    """
    if batch_size % world_size:
        raise ValueError(f"batch size {batch_size} is not divisible by the number of processes {world_size}")
    local = batch_size // world_size
    start = step * batch_size + rank * local
    out = []
    for position in range(start, start + local):
        epoch, index = divmod(position, n)
        out.append(epoch_order(n, seed, epoch)[index])
    return out
