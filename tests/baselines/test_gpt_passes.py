"""The passes of the multi-pass methods (GPT.extend, GPT.step in baselines/models/gpt.py): the same
function as transformers' GPT-2 forward on the same weights, no empty attention row, and the
fully-masked-row failure reproduced on the CPU (the suspected cause of a non-finite loss at step
65 of a bf16 ProsQA Coconut run on CUDA, in its first stage with thoughts; benchmarks/README.md
says what the GPU showed).

The mechanism: the training batch is shifted right so that every row's thoughts share columns,
so a shifted row starts with padding columns whose queries see no valid key. Fused SDPA kernels
on CUDA can return NaN for such a row. The loss never reads it, but the backward pass forms each
weight gradient as a sum over all rows of activation x gradient, and 0 x NaN = NaN. Here a
stand-in for SDPA that computes attention the way those kernels do (a finite forward, a backward that
recomputes the weights from the saved log-sum-exp, NaN for a row that saw no key) shows a plain
padding mask (padding queries see nothing) poisoning the gradients, and our passes (a padding
query sees itself) staying finite with the same loss.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from transformers import GPT2Config, GPT2LMHeadModel

from baselines.backbone import BackboneConfig, build_backbone
from baselines.batching import collate
from baselines.generation import positions_from_mask
from baselines.methods.coconut import Coconut, Config
from baselines.models.gpt import GPT, KVCache, attention_bias
from baselines.tasks.base import Example
from baselines.tokenizer import build_tokenizer

EXAMPLES = [
    Example("Alex is a wumpus. Every wumpus is a yumpus. Is Alex a yumpus?",
            ("Alex is a wumpus.", "Every wumpus is a yumpus.", "Alex is a yumpus."), "Yes"),
    Example("Is Sam a zorpus?", ("Sam is a zorpus.",), "Yes"),
    Example("Every bob is a tim. Kim is a bob. Is Kim a tim or a jim?", ("Kim is a bob.", "Every bob is a tim."), "tim"),
]


def allowed(key_valid: torch.Tensor, q_len: int) -> torch.Tensor:
    """[B, T, K] True where the last q_len of K columns may attend (the bias's 0 entries)."""
    bias = attention_bias(key_valid, q_len, key_valid.shape[1], "causal", torch.float32, key_valid.device)
    return bias[:, 0] == 0


def model_and_tokenizer(seed: int = 0):
    tok = build_tokenizer([e.question + "\n" + "\n".join(e.steps) + "\n### " + e.answer for e in EXAMPLES])
    torch.manual_seed(seed)
    return build_backbone(BackboneConfig("tiny", n_positions=128), len(tok)), tok


class FusedStyleAttention(torch.autograd.Function):
    """Attention computed the way fused kernels do: the forward keeps each row's log-sum-exp and
    writes 0 for a row that sees no key; the backward recomputes the weights as
    exp(score - lse). For an empty row lse = -inf, so exp(-inf - (-inf)) = NaN there."""

    @staticmethod
    def forward(ctx, query, key, value, allowed):
        scale = query.shape[-1] ** -0.5
        scores = (query @ key.transpose(-2, -1) * scale).masked_fill(~allowed, float("-inf"))
        lse = torch.logsumexp(scores, dim=-1, keepdim=True)  # [B, H, T, 1], -inf on empty rows
        weights = torch.where(torch.isfinite(lse), torch.exp(scores - lse), torch.zeros_like(scores))
        out = weights @ value
        ctx.save_for_backward(query, key, value, allowed, lse, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        query, key, value, allowed, lse, out = ctx.saved_tensors
        scale = query.shape[-1] ** -0.5
        scores = (query @ key.transpose(-2, -1) * scale).masked_fill(~allowed, float("-inf"))
        weights = torch.exp(scores - lse)  # NaN on an empty row
        grad_value = weights.transpose(-2, -1) @ grad_out
        grad_weights = grad_out @ value.transpose(-2, -1)
        grad_scores = weights * (grad_weights - (grad_out * out).sum(-1, keepdim=True))
        return grad_scores @ key * scale, grad_scores.transpose(-2, -1) @ query * scale, grad_value, None


def sdpa_fused_style(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **_):
    """A stand-in for F.scaled_dot_product_attention (boolean, additive 0/-inf or no mask, default scale)."""
    t, k = query.shape[-2], key.shape[-2]
    allowed = torch.ones(t, k, dtype=torch.bool, device=query.device)
    if is_causal:
        allowed = allowed.tril()
    if attn_mask is not None:
        allowed = allowed & (attn_mask if attn_mask.dtype == torch.bool else attn_mask == 0)
    return FusedStyleAttention.apply(query, key, value, allowed.expand(*query.shape[:-2], t, k))


def test_attention_bias_never_leaves_a_row_empty_and_hides_padding_from_real_rows():
    valid = torch.tensor([[0, 0, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1]], dtype=torch.bool)
    for q_len in (6, 3, 1):
        mask = allowed(valid, q_len)  # [B, T, K]
        assert mask.any(-1).all()  # every query sees something
        cols = torch.arange(6)
        rows = cols[6 - q_len:]
        causal = cols[None, :] <= rows[:, None]
        own = cols[None, :] == rows[:, None]
        # the valid columns up to the query, and the query's own column
        assert torch.equal(mask, (causal[None] & valid[:, None, :]) | own[None])
        real_query = valid[:, 6 - q_len:]  # [B, T]
        assert not (mask & ~valid[:, None, :])[real_query].any()  # a real query never sees padding


def test_passes_equal_the_transformers_forward_on_real_tokens():
    """GPT.extend (one pass, and the same columns in two cached passes) and GPT.step (through a
    KVCache) against transformers' GPT-2 forward on the same weights, left padding included."""
    torch.manual_seed(0)
    library = GPT2LMHeadModel(GPT2Config(vocab_size=40, n_positions=32, n_embd=32, n_layer=3, n_head=4,
                                         resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, bos_token_id=None,
                                         eos_token_id=None)).eval()
    gpt = GPT.from_gpt2(library).eval()
    ids = torch.randint(8, 30, (3, 9))
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1], [1] * 9, [0] * 5 + [1] * 4])
    positions = positions_from_mask(mask)
    real = mask.bool()
    with torch.no_grad():
        ref = library.transformer(input_ids=ids, attention_mask=mask, position_ids=positions,
                                  output_hidden_states=True)
        embeds = gpt.wte(ids)
        out = gpt.extend(embeds, positions, real, output_states=True)
        assert (out.hidden[real] - ref.last_hidden_state[real]).abs().max() < 1e-5
        assert len(out.states) == len(ref.hidden_states) == 4
        for mine, theirs in zip(out.states, ref.hidden_states):
            assert (mine[real] - theirs[real]).abs().max() < 1e-5
        # the same columns in two cached passes, and through a generation cache
        first = gpt.extend(embeds[:, :5], positions[:, :5], real[:, :5])
        second = gpt.extend(embeds[:, 5:], positions[:, 5:], real, first.cache)
        assert [k.shape[2] for k, _ in second.cache] == [9, 9, 9]
        both = torch.cat([first.hidden, second.hidden], dim=1)
        assert (both[real] - ref.last_hidden_state[real]).abs().max() < 1e-5
        cache = KVCache(capacity=12)
        stepped = torch.cat([gpt.step(embeds[:, :4], positions[:, :4], real[:, :4], cache),
                             gpt.step(embeds[:, 4:], positions[:, 4:], real, cache)], dim=1)
        assert cache.length == 9
        assert (stepped[real] - ref.last_hidden_state[real]).abs().max() < 1e-5
        assert torch.allclose(gpt.head(out.hidden)[real], library.lm_head(ref.last_hidden_state)[real], atol=1e-5)
        with pytest.raises(ValueError, match="key_valid covers"):
            gpt.step(embeds[:, :1], positions[:, :1], real, cache)


def test_right_padding_needs_no_mask():
    backbone, _ = model_and_tokenizer()
    backbone.eval()
    ids = torch.randint(8, 30, (2, 7))
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0], [1] * 7])
    embeds, positions = backbone.wte(ids), positions_from_mask(mask)
    with torch.no_grad():
        masked = backbone.extend(embeds, positions, mask.bool()).hidden
        plain = backbone.extend(embeds, positions, None).hidden
    assert (masked[mask.bool()] - plain[mask.bool()]).abs().max() < 1e-6
    with pytest.raises(ValueError, match="needs key_valid"):
        backbone.extend(embeds[:, 5:], positions[:, 5:], None, backbone.extend(embeds[:, :5], positions[:, :5], None).cache)


def shifted_batch(tok):
    """Final-stage Coconut rows of different question lengths: the shorter ones get shifted."""
    method = Coconut(Config(c_thought=1, max_latent_stage=2), tok)
    batch = collate([method.encode(ex, method.num_stages - 1) for ex in EXAMPLES], tok.pad_token_id)
    return method, batch


def test_fully_masked_rows_poison_the_backward_of_a_plain_padding_mask(monkeypatch):
    """The mechanism: a left-padded batch under a plain padding mask (causal and real keys only,
    so a padding query sees no key), loss on real tokens only: the loss is finite, the update is
    not (the run then fails at the next step's loss)."""
    backbone, tok = model_and_tokenizer()
    _, batch = shifted_batch(tok)
    model = Coconut(Config(c_thought=1, max_latent_stage=2), tok).build_model(backbone)
    ids, labels, mask, _, _, _ = model.prepare(batch["input_ids"], batch["labels"], batch["attention_mask"])
    assert (mask[:, 0] == 0).any()  # some rows start with padding after the shift
    cols = torch.arange(ids.shape[1])
    plain = (cols[None, :] <= cols[:, None])[None] & mask.bool()[:, None, :]  # [B, T, T]
    assert not plain.any(-1).all()  # the padding queries' rows are empty
    bias = torch.zeros(plain.shape).masked_fill(~plain, float("-inf"))[:, None]  # [B, 1, T, T]
    monkeypatch.setattr(F, "scaled_dot_product_attention", sdpa_fused_style)
    hidden = backbone.ln_f(backbone.run_blocks(backbone.embed(ids, positions_from_mask(mask)), bias=bias))
    assert torch.isfinite(hidden).all()  # the forward is finite ...
    keep = labels[:, 1:] != -100
    loss = F.cross_entropy(backbone.head(hidden[:, :-1][keep]), labels[:, 1:][keep])
    assert torch.isfinite(loss)  # ... and so is the loss that the harness checks ...
    loss.backward()
    bad = [name for name, p in backbone.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert "blocks.0.attn.qkv.weight" in bad  # ... but the weight gradients are NaN


def test_coconut_training_stays_finite_with_a_kernel_that_gives_nan_on_empty_rows(monkeypatch):
    backbone, tok = model_and_tokenizer()
    method, batch = shifted_batch(tok)
    model = method.build_model(backbone)
    expected = float(model(**batch).loss.detach())  # the ordinary SDPA
    monkeypatch.setattr(F, "scaled_dot_product_attention", sdpa_fused_style)
    out = model(**batch)
    assert out.forward_passes == 3  # two thoughts: the shifted, multi-pass path
    assert torch.isfinite(out.loss) and abs(float(out.loss.detach()) - expected) < 1e-5
    out.loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    # generation pads on the left too: the answers do not change
    model.eval()
    monkeypatch.undo()
    clean = method.generate(model, EXAMPLES)
    monkeypatch.setattr(F, "scaled_dot_product_attention", sdpa_fused_style)
    assert method.generate(model, EXAMPLES).texts == clean.texts



def test_attention_bias_is_0_and_minus_infinity_in_aligned_rows():
    valid = torch.tensor([[0, 0, 1, 1, 1, 1, 1, 1, 1], [1] * 9, [0, 0, 0, 0, 0, 1, 1, 1, 1]], dtype=torch.bool)
    for q_len in (9, 4, 1):
        bias = attention_bias(valid, q_len, 9, "causal", torch.bfloat16, valid.device)
        assert bias.shape == (3, 1, q_len, 9) and bias.dtype == torch.bfloat16 and bias.stride(-2) % 16 == 0
        assert torch.equal(bias[:, 0] == 0, allowed(valid, q_len))
        assert torch.isneginf(bias[bias != 0]).all()
    bias = attention_bias(valid, 4, 9, "bidirectional", torch.float32, valid.device)
    assert bias.stride(-2) == 16 and torch.equal(bias[:, 0] == 0, (valid[:, None, :] | torch.eye(9, dtype=torch.bool)[5:]))


def test_generation_with_thoughts_stops_at_the_last_position():
    """A model that never writes eos cannot index past its position table; a prompt that does not
    fit with its thoughts is a clear error."""
    from baselines.methods.engines.latent import generate_with_thoughts

    torch.manual_seed(0)
    backbone = build_backbone(BackboneConfig("tiny", n_positions=16), 40).eval()
    prompts = [[5, 6, 7, 8, 9], [5, 6]]
    tokens, n_gen, _, positions = generate_with_thoughts(backbone, prompts, 3, [2], max_new_tokens=50, eos_id=39,
                                                         pad_id=0)
    assert int(positions.max()) <= 15 and tokens.shape[1] <= 16 - (5 + 3 + 1)
    with pytest.raises(ValueError, match="raise --n-positions"):
        generate_with_thoughts(backbone, [[5] * 14], 3, [2], max_new_tokens=4, eos_id=39, pad_id=0)
