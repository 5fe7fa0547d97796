"""The depth-recurrent models (looped, Universal Transformer with ACT, recurrent depth) and their
methods: equivalences, halting weights, truncated backpropagation, caches and hand-counted FLOPs."""

from __future__ import annotations

import pytest
import torch

from baselines.compute import work_flops
from baselines.methods.looped import Looped, LoopedMethodConfig
from baselines.methods.recurrent_depth import RecurrentDepth, RecurrentDepthMethodConfig
from baselines.methods.universal_act import UniversalACT, UniversalACTConfig
from baselines.models.gpt import GPT, KVCache
from baselines.models.looped import LoopedConfig, LoopedGPT
from baselines.models.recurrent_depth import RecurrentDepthConfig, RecurrentDepthGPT
from baselines.models.universal import UniversalConfig, UniversalTransformer

V, D, H = 23, 32, 4


def ids(batch=2, width=7, seed=0):
    return torch.randint(3, V, (batch, width), generator=torch.Generator().manual_seed(seed))


def randomize(model: torch.nn.Module, seed=0) -> torch.nn.Module:
    """Weights of a realistic scale everywhere (the zero-initialised biases too)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model.eval()


def test_looped_with_one_loop_is_the_plain_model():
    looped = randomize(LoopedGPT(LoopedConfig(vocab_size=V, n_layer=3, loops=1, n_embd=D, n_head=H)))
    plain = GPT(looped.gpt.config)
    plain.load_state_dict(looped.gpt.state_dict())
    x = ids()
    assert torch.allclose(looped(x), plain(x), atol=1e-5)
    # and L loops are L applications of the same blocks, with the input injected between them
    looped.config.loops = 3
    e = plain.embed(x)
    h = plain.run_blocks(e)
    h = plain.run_blocks(plain.run_blocks(h + e) + e)
    assert torch.allclose(looped(x), plain.logits(h), atol=1e-5)


def test_act_halting_weights_sum_to_one_per_position():
    model = randomize(UniversalTransformer(UniversalConfig(vocab_size=V, n_layer=1, max_steps=5, n_embd=D, n_head=H)))
    for threshold in (0.3, 0.9, 0.99, 1.0):
        _, halting = model.hidden(ids(3, 9), threshold=threshold)
        assert torch.allclose(halting.weight_sum, torch.ones_like(halting.weight_sum), atol=1e-6)
        assert ((halting.steps >= 1) & (halting.steps <= 5)).all()
        assert ((halting.remainder > 0) & (halting.remainder <= 1)).all()
    first = torch.sigmoid(model.halt(model.gpt.run_blocks(model.gpt.embed(ids(3, 9))))).min()
    steps = model.hidden(ids(3, 9), threshold=float(first.detach()))[1].steps
    assert (steps == 1).all(), "a threshold at or below every first halting probability halts after one step"


def test_act_output_is_the_weighted_mean_of_states_for_one_position():
    config = UniversalConfig(vocab_size=V, n_layer=1, max_steps=3, n_embd=D, n_head=H, input_injection=False)
    model = randomize(UniversalTransformer(config))
    x = ids(1, 1)  # one position: no other position's halting interferes
    out, halting = model.hidden(x, threshold=1.0)
    states, h = [], model.gpt.embed(x)
    for _ in range(3):
        h = model.gpt.run_blocks(h)
        states.append(h)
    p = [torch.sigmoid(model.halt(s)).squeeze() for s in states]
    weights, summed = [], 0.0
    for i, pi in enumerate(p):  # the threshold 1.0: halt when the sum reaches 1, or at the last step
        if summed + pi >= 1.0 or i == 2:
            weights.append(1.0 - summed)
            break
        weights.append(pi)
        summed = summed + pi
    expected = sum(w * s for w, s in zip(weights, states))
    assert torch.allclose(out, expected, atol=1e-5) and int(halting.steps) == len(weights)


def test_truncated_backpropagation_reaches_only_the_last_k_iterations():
    config = RecurrentDepthConfig(vocab_size=V, prelude=1, core=1, coda=1, n_embd=D, n_head=H)
    model = randomize(RecurrentDepthGPT(config)).train()
    x, r, k = ids(), 6, 2
    states = []
    original = model.core_step

    def recording(s, *args, **kwargs):
        out = original(s, *args, **kwargs)
        if out.requires_grad:
            out.retain_grad()
        states.append(out)
        return out

    model.core_step = recording
    torch.manual_seed(0)
    model(x, recurrence=r, backprop_depth=k).sum().backward()
    assert len(states) == r
    assert all(not s.requires_grad for s in states[:r - k]), "iterations before the last k carry no graph"
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in states[r - k:])
    truncated = [p.grad.clone() for p in model.parameters()]
    # the same gradients as a full graph in which the state entering the last k iterations is detached
    model.zero_grad()
    model.core_step = original
    torch.manual_seed(0)
    e = model.prelude(model.gpt.embed(x), None, None)
    s = model.initial_state(e)
    for i in range(r):
        s = model.core_step(s.detach() if i == r - k else s, e.detach() if i < r - k else e, i, None, None)
    model.coda(s, None, None, r).sum().backward()
    for a, p in zip(truncated, model.parameters()):
        assert torch.allclose(a, p.grad, atol=1e-5)
    # and the whole graph gives other gradients for the core
    model.zero_grad()
    torch.manual_seed(0)
    model(x, recurrence=r, backprop_depth=r).sum().backward()
    core = model.gpt.blocks[1].mlp.fc.weight
    assert not torch.allclose(core.grad, truncated[[n for n, _ in model.named_parameters()].index("gpt.blocks.1.mlp.fc.weight")])


def test_recurrence_draws_follow_the_log_normal_poisson_and_repeat():
    config = RecurrentDepthConfig(vocab_size=V, mean_recurrence=6, n_embd=D, n_head=H, seed=3)
    model = RecurrentDepthGPT(config)
    draws = [model.sample_recurrence() for _ in range(2000)]
    assert abs(sum(draws) / len(draws) - 7) < 0.3  # 1 + Poisson(mean 6)
    assert min(draws) >= 1 and max(draws) <= 24
    again = RecurrentDepthGPT(config)
    assert [again.sample_recurrence() for _ in range(50)] == draws[:50]


# -- generation: cached equals uncached, batched equals one at a time --------------------------------

def _uncached_greedy(forward, prompt: torch.Tensor, n: int) -> list[int]:
    seq = prompt.clone()
    for _ in range(n):
        seq = torch.cat([seq, forward(seq)[:, -1].argmax(-1, keepdim=True)], dim=1)
    return seq[0, prompt.shape[1]:].tolist()


def _cached_greedy(step, model_embed, prompt: torch.Tensor, n: int) -> list[int]:
    cache = KVCache(prompt.shape[1] + n)
    positions = torch.arange(prompt.shape[1])[None]
    valid = torch.ones_like(prompt, dtype=torch.bool)
    x, out = model_embed(prompt), []
    for _ in range(n):
        logits = step(x, positions, valid, cache)
        token = logits.argmax(-1)
        out.append(int(token))
        x, positions = model_embed(token)[:, None], positions[:, -1:] + 1
        valid = torch.cat([valid, valid.new_ones(1, 1)], 1)
    return out


def test_cached_generation_equals_uncached():
    prompt, n = ids(1, 6, seed=1), 6
    looped = randomize(LoopedGPT(LoopedConfig(vocab_size=V, n_layer=2, loops=3, n_embd=D, n_head=H)))
    step = lambda x, p, v, c: looped.logits(looped.hidden(inputs_embeds=x, positions=p, key_valid=v, cache=c)[:, -1])  # noqa: E731
    assert _cached_greedy(step, looped.gpt.wte, prompt, n) == _uncached_greedy(looped, prompt, n)

    ut = randomize(UniversalTransformer(UniversalConfig(vocab_size=V, n_layer=1, max_steps=4, n_embd=D, n_head=H)))
    for threshold in (0.5, 0.99):
        step = lambda x, p, v, c: ut.logits(ut.hidden(inputs_embeds=x, positions=p, key_valid=v, cache=c,  # noqa: E731
                                                      threshold=threshold)[0][:, -1])
        full = lambda seq: ut(seq, threshold=threshold)  # noqa: E731
        assert _cached_greedy(step, ut.gpt.wte, prompt, n) == _uncached_greedy(full, prompt, n)

    rd = randomize(RecurrentDepthGPT(RecurrentDepthConfig(vocab_size=V, prelude=1, core=2, coda=1, n_embd=D, n_head=H)))
    step = lambda x, p, v, c: rd.decode_pass(x, p, v, c, 3)[0]  # noqa: E731
    assert _cached_greedy(step, rd.gpt.wte, prompt, n) == _uncached_greedy(lambda seq: rd(seq, recurrence=3), prompt, n)


def test_exit_fills_the_skipped_cache_slots_with_the_last_iteration():
    config = RecurrentDepthConfig(vocab_size=V, prelude=1, core=2, coda=1, n_embd=D, n_head=H)
    model = randomize(RecurrentDepthGPT(config))
    prompt = ids(2, 5)
    cache = KVCache(8)
    valid = torch.ones(2, 5, dtype=torch.bool)
    model.decode_pass(model.gpt.wte(prompt), torch.arange(5)[None].expand(2, 5), valid, cache, 4)
    x = model.gpt.wte(ids(2, 1, seed=5))
    valid = torch.ones(2, 6, dtype=torch.bool)
    # a threshold above any change: every row exits after the second iteration
    _, depth, _ = model.decode_pass(x, torch.full((2, 1), 5), valid, cache, 4, "norm", 1e9)
    assert depth.tolist() == [2, 2]
    for j in range(2):  # core block j: iterations 2 and 3 hold iteration 1's keys at column 5
        last = cache.keys[1 + 1 * 2 + j][:, :, 5]
        for t in (2, 3):
            assert torch.equal(cache.keys[1 + t * 2 + j][:, :, 5], last)
    # KL: the same, and every probe counted
    _, depth, probes = model.decode_pass(x, torch.full((2, 1), 6), torch.ones(2, 7, dtype=torch.bool), cache, 4,
                                         "kl", 1e9)
    assert depth.tolist() == [2, 2] and probes.tolist() == [2, 2]


# -- FLOPs by hand ---------------------------------------------------------------------------------

class _Tok:
    """The few tokenizer members the methods use: ids are the characters' codes mod V."""

    pad_token_id, eos_token_id = 0, 1

    def encode(self, text, add_special_tokens=False):
        return [3 + ord(ch) % (V - 3) for ch in text]

    def convert_tokens_to_ids(self, token):
        return 2

    def decode(self, row, skip_special_tokens=False):
        return " ".join(map(str, row))


class _Backbone:
    class config:  # noqa: N801
        vocab_size, n_positions, n_embd, n_head = V, 64, D, H


def _question(text):
    from baselines.tasks.base import Example

    return Example(question=text, steps=(), answer="x")


def _hand(blocks_per_column: list[float], pairs: float, logits: float, extra_layers: float = 0.0) -> float:
    return 2 * 12 * D * D * (sum(blocks_per_column) + extra_layers) + 4 * D * pairs + 2 * D * V * logits


@pytest.mark.parametrize("loops", [1, 3])
def test_looped_flops_by_hand(loops):
    method = Looped(LoopedMethodConfig(layers=2, loops=loops, max_new_tokens=4), _Tok())
    model = method.build_model(_Backbone()).eval()
    gen = method.generate(model, [_question("abcd"), _question("ab")])
    for i, prompt in enumerate((5, 3)):  # the question and its newline
        n = int(gen.generated_tokens[i])
        columns = prompt + n - 1
        blocks = 2 * loops
        by_hand = _hand([blocks] * columns, blocks * columns * (columns + 1) / 2, n)
        assert work_flops(model.shape, gen.work)[i].item() == pytest.approx(by_hand)
        assert int(gen.forward_passes[i]) == loops * n


def test_universal_act_flops_by_hand():
    method = UniversalACT(UniversalACTConfig(layers=2, max_steps=3, max_new_tokens=3), _Tok())
    model = method.build_model(_Backbone()).eval()
    randomize(model.model.halt)
    question = _question("abc")
    prompt = _Tok().encode("abc\n")
    gen = method.generate(model, [question])
    n = int(gen.generated_tokens[0])
    # the steps of every column, from one full pass over the prompt and the tokens fed back
    full = torch.tensor([prompt + _generated_ids(method, model, question)[: n - 1]])
    steps = model.model.hidden(full)[1].steps[0].tolist()
    pairs = sum(s * 2 * (c + 1) for c, s in enumerate(steps))
    by_hand = _hand([2 * s for s in steps], pairs, n)
    assert work_flops(model.shape, gen.work)[0].item() == pytest.approx(by_hand, rel=1e-9)


def _generated_ids(method, model, question) -> list[int]:
    gen = method.generate(model, [question])
    return [int(t) for t in gen.texts[0].split()] if gen.texts[0] else []


def test_recurrent_depth_flops_by_hand():
    for criterion in ("none", "kl"):
        config = RecurrentDepthMethodConfig(prelude=1, core=2, coda=1, max_new_tokens=4, exit_criterion=criterion,
                                            exit_threshold=1e9)
        method = RecurrentDepth(config, _Tok())
        model = method.build_model(_Backbone()).eval()
        r = 5
        gen = method.generate(model, [_question("abcd")], budget=r)
        n, prompt = int(gen.generated_tokens[0]), 5
        # prompt columns at depth r; a generated column at r (none) or 2 (the exit after the 2nd
        # iteration), plus 2 coda probes with their logits under KL
        depths = [r] * prompt + [r if criterion == "none" else 2] * (n - 1)
        probes = [0] * prompt + [0 if criterion == "none" else 2] * (n - 1)
        blocks = [1 + 1 + 2 * d + 1 * q for d, q in zip(depths, probes)]
        pairs = sum(b * (c + 1) for c, b in enumerate(blocks))
        adapter = sum(d * 2 / 12 for d in depths)
        logits = n + sum(probes)
        by_hand = _hand(blocks, pairs, logits, extra_layers=adapter)
        assert work_flops(model.shape, gen.work)[0].item() == pytest.approx(by_hand)
        assert int(gen.forward_passes[0]) == r + sum(depths[prompt:])
