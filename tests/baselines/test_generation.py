"""greedy_decode: batched == one at a time == a naive argmax loop without a cache (fp32, CPU)."""

from __future__ import annotations

import pytest
import torch

from baselines.backbone import BackboneConfig, build_backbone
from baselines.generation import encode_left_padded, greedy_decode, left_pad, positions_from_mask
from baselines.models.gpt import KVCache
from baselines.tokenizer import build_tokenizer

VOCAB, PAD = 50, 0


def _model(seed: int = 0):
    torch.manual_seed(seed)
    model = build_backbone(BackboneConfig("tiny", n_positions=128), VOCAB)
    return model.eval()


def _naive(model, prompt: list[int], max_new: int, eos: int) -> list[int]:
    """Full forward over the whole sequence at every step, argmax of the last position."""
    seq, out = list(prompt), []
    with torch.no_grad():
        for _ in range(max_new):
            logits = model(torch.tensor([seq]))[0, -1]  # the plain forward, no cache
            token = int(logits.argmax())
            out.append(token)
            seq.append(token)
            if token == eos:
                break
    return out


def _decode(model, rows: list[list[int]], max_new: int, eos: int):
    ids, mask = left_pad(rows, PAD)
    embeds = model.wte(ids)
    return greedy_decode(model, embeds, mask, max_new_tokens=max_new, eos_id=eos, pad_id=PAD)


def test_batched_equals_single_equals_naive():
    model = _model()
    gen = torch.Generator().manual_seed(1)
    rows = [torch.randint(1, VOCAB, (n,), generator=gen).tolist() for n in (3, 9, 5, 1, 12)]
    max_new = 10
    # pick as eos a token that row 0 produces at its third step, so rows stop at different times
    eos = _naive(model, rows[0], max_new, eos=-1)[2]
    naive = [_naive(model, row, max_new, eos) for row in rows]
    assert any(len(n) < max_new for n in naive), "the test needs at least one row that stops early"
    tokens, n_gen, passes = _decode(model, rows, max_new, eos)
    for i, row in enumerate(rows):
        n = int(n_gen[i])
        assert tokens[i, :n].tolist() == naive[i]
        assert (tokens[i, n:] == PAD).all()
        assert int(passes[i]) == n == len(naive[i])
        single_tokens, single_n, single_passes = _decode(model, [row], max_new, eos)
        assert single_tokens[0, : int(single_n[0])].tolist() == naive[i]
        assert int(single_passes[0]) == n


def test_stops_early_when_all_rows_done():
    model = _model(2)
    rows = [[5, 6, 7], [8, 9]]
    first = [_naive(model, row, 1, eos=-1)[0] for row in rows]
    # with eos = row 0's first token, row 0 stops at once; the batch runs until row 1 stops
    tokens, n_gen, _ = _decode(model, rows, 20, eos=first[0])
    assert int(n_gen[0]) == 1
    assert tokens.shape[1] == int(n_gen.max())


def test_with_a_prefilled_cache():
    """A prompt split into a cached prefix and a continuation decodes like the whole prompt."""
    model = _model(3)
    rows = [[4, 5, 6, 7, 8], [9, 10, 11]]
    ids, mask = left_pad(rows, PAD)
    embeds = model.wte(ids)
    whole, n_whole, _ = greedy_decode(model, embeds, mask, max_new_tokens=6, eos_id=-1, pad_id=PAD)
    cache = KVCache(capacity=mask.shape[1] + 6)
    model.step(embeds[:, :-2], positions_from_mask(mask)[:, :-2], mask[:, :-2].bool(), cache)
    assert cache.length == mask.shape[1] - 2
    split, n_split, passes = greedy_decode(model, embeds[:, -2:], mask, cache, max_new_tokens=6, eos_id=-1, pad_id=PAD)
    assert torch.equal(whole, split) and torch.equal(n_whole, n_split)
    assert passes.tolist() == [6, 6]


def test_encode_left_padded():
    tokenizer = build_tokenizer(["Tom is a lempus.", "Every lempus is a yumpus."])
    ids, mask = encode_left_padded(tokenizer, ["Tom is a lempus.", "Tom is."])
    assert ids.shape == mask.shape == (2, 5)
    assert mask[1].tolist() == [0, 0, 1, 1, 1]  # "Tom" " is" "."
    assert (ids[1, : int((mask[1] == 0).sum())] == tokenizer.pad_token_id).all()
    assert tokenizer.decode(ids[1][mask[1].bool()].tolist()) == "Tom is."
    assert positions_from_mask(mask)[1].tolist() == [0, 0, 0, 1, 2]


def test_decoding_stops_at_the_last_position():
    model = _model(4)  # n_positions = 128
    tokens, n_gen, _ = _decode(model, [list(range(1, 11)) * 12], max_new=50, eos=-1)  # 120 prompt tokens
    assert tokens.shape[1] == int(n_gen[0]) == 8  # positions 120..127
    with pytest.raises(ValueError, match="raise --n-positions"):
        _decode(model, [[1] * 128], max_new=5, eos=-1)
