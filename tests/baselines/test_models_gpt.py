"""Our GPT (baselines/models/gpt.py): parity with transformers' GPT-2 on the same weights, the KV
cache, bidirectional attention, block ranges with per-position activity."""

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from baselines.models.gpt import GPT, GPTConfig, KVCache, count_parameters


def tiny(vocab=50, layers=2) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab, n_positions=64, n_layer=layers, n_embd=32, n_head=4)).eval()


def test_same_logits_as_transformers_gpt2_on_mapped_weights():
    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=60, n_positions=40, n_embd=32, n_layer=3, n_head=4,
                                    resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)).eval()
    ours = GPT.from_gpt2(hf).eval()
    ids = torch.randint(0, 60, (3, 17))
    with torch.no_grad():
        expected = hf(ids).logits
        got = ours(ids)
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-5)
    assert count_parameters(ours) == sum(p.numel() for p in {id(p): p for p in hf.parameters()}.values())


def test_cached_passes_equal_one_full_pass():
    model = tiny()
    ids = torch.randint(0, 50, (2, 12))
    with torch.no_grad():
        full = model(ids)
        cache = KVCache(capacity=16)
        first = model(ids[:, :7], cache=cache)
        rest = [model(ids[:, t:t + 1], positions=torch.full((2, 1), t), cache=cache) for t in range(7, 12)]
    assert cache.length == 12
    assert torch.allclose(torch.cat([first, *rest], 1), full, atol=1e-5)


def test_left_padding_with_key_valid_matches_the_unpadded_row():
    model = tiny()
    ids = torch.randint(1, 50, (1, 6))
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), ids], 1)
    valid = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1]])
    positions = (valid.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        alone = model(ids)
        got = model(padded, positions=positions, key_valid=valid)
    assert torch.allclose(got[:, 3:], alone, atol=1e-5)


def test_bidirectional_attention_sees_the_future_and_causal_does_not():
    model = tiny()
    ids = torch.randint(0, 50, (1, 8))
    changed = ids.clone()
    changed[0, -1] = (ids[0, -1] + 1) % 50
    with torch.no_grad():
        causal = model(ids), model(changed)
        both = model(ids, attention="bidirectional"), model(changed, attention="bidirectional")
    assert torch.allclose(causal[0][:, 0], causal[1][:, 0])  # the first position cannot see the last
    assert not torch.allclose(both[0][:, 0], both[1][:, 0])


def test_inactive_positions_keep_their_state():
    model = tiny()
    h = torch.randn(2, 5, 32)
    active = torch.tensor([[True, False, True, False, True], [False] * 5])
    with torch.no_grad():
        out = model.run_blocks(h, active=active)
    assert torch.equal(out[~active], h[~active])
    assert not torch.allclose(out[active], h[active])


def test_positions_past_the_table_are_an_error():
    model = tiny()
    with pytest.raises(ValueError, match="past the model's 64 positions"):
        model(torch.zeros(1, 65, dtype=torch.long))
