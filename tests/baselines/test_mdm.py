"""Masked diffusion (baselines/models/denoiser.py, baselines/methods/mdm.py): the noise schedule
and the loss weighting against their formulas, the samplers' reveal orders (left-to-right with
one token per step is exact left-to-right decoding), and the compute it reports."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from baselines.compute import work_flops
from baselines.methods.mdm import MDM, MDMConfig, denoise, reveal_counts
from baselines.models.denoiser import Denoiser, DenoiserConfig, Schedule
from baselines.tasks.base import Example
from baselines.tokenizer import build_tokenizer

V = 20


def tiny(**overrides) -> Denoiser:
    torch.manual_seed(0)
    model = Denoiser(DenoiserConfig(vocab_size=V, n_positions=64, n_layer=2, n_embd=32, n_head=4, **overrides))
    return model.eval()


# -- schedule ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_matches_its_formulas(kind):
    s = Schedule(kind)
    t = torch.linspace(0.01, 0.99, 50, dtype=torch.float64)
    expected_alpha = 1 - t if kind == "linear" else torch.cos(math.pi * t / 2)
    assert torch.allclose(s.alpha(t), expected_alpha)
    assert float(s.alpha(torch.tensor(0.0, dtype=torch.float64))) == pytest.approx(1.0)
    assert float(s.alpha(torch.tensor(1.0, dtype=torch.float64))) == pytest.approx(0.0, abs=1e-12)
    # w(t) = -alpha'(t) / (1 - alpha(t)), alpha' by central differences
    h = 1e-6
    derivative = (s.alpha(t + h) - s.alpha(t - h)) / (2 * h)
    assert torch.allclose(s.weight(t), -derivative / (1 - s.alpha(t)), rtol=1e-6)
    if kind == "linear":
        assert torch.allclose(s.weight(t), 1 / t)
    # mask time is the inverse CDF of P(m <= t) = 1 - alpha(t)
    assert torch.allclose(s.mask_time(1 - s.alpha(t)), t, atol=1e-9)


def test_training_noise_depends_on_the_example_and_step_not_the_batch():
    model = tiny()
    torch.manual_seed(5)
    rows = torch.randint(0, V, (400, 12))
    t, u = model.noise(rows, 3)
    alone_t, alone_u = model.noise(rows[7:8], 3)
    assert alone_t[0] == t[7] and torch.equal(alone_u[0], u[7])
    assert not torch.equal(model.noise(rows, 4)[0], t)  # a new step, new noise
    assert (t >= model.config.t_min).all() and (t <= 1).all()
    # uniform: times and mask uniforms have the moments of U(0, 1)
    assert float(t.mean()) == pytest.approx(0.5, abs=0.05) and float(u.mean()) == pytest.approx(0.5, abs=0.02)
    assert float((u < 0.25).float().mean()) == pytest.approx(0.25, abs=0.02)
    # training advances the step, evaluation does not
    model.train()
    labels = torch.full((2, 12), -100)
    labels[:, 6:] = rows[:2, 6:]
    model(input_ids=rows[:2], labels=labels, attention_mask=torch.ones(2, 12, dtype=torch.long))
    assert int(model.noise_step) == 1


# -- loss ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reweight", [False, True])
def test_loss_is_the_weighted_masked_cross_entropy(reweight):
    model = tiny(token_reweighting=reweight, reweight_a=0.5, reweight_g=2.0)
    torch.manual_seed(1)
    clean = torch.randint(0, V, (2, 9))
    span = torch.zeros(2, 9, dtype=torch.bool)
    span[:, 4:] = True  # 5 answer tokens per row
    masked = span & (torch.rand(2, 9) < 0.6)
    masked[0, 4] = masked[1, 8] = True
    t = torch.tensor([0.25, 0.8])
    with torch.no_grad():
        loss = model.loss(clean, span, None, t, masked)
    by_hand = 0.0
    for b in range(2):
        noisy = clean[b].clone()
        noisy[masked[b]] = model.mask_id
        logits = model.logits(noisy[None], None, slice(4, None))[0]  # [5, V]
        for j in range(5):
            if masked[b, 4 + j]:
                ce = F.cross_entropy(logits[j], clean[b, 4 + j]).item()
                factor = 0.5 * (1 - math.exp(-ce)) ** 2 if reweight else 1.0
                by_hand += (1 / float(t[b])) * factor * ce
    assert float(loss) == pytest.approx(by_hand / 10, rel=1e-5)


def test_masked_tokens_never_predict_the_mask():
    model = tiny()
    tokens = torch.full((1, 6), model.mask_id)
    assert model.logits(tokens, None, slice(0, None)).shape == (1, 6, V)


# -- samplers --------------------------------------------------------------------------------------

def test_reveal_counts_follow_the_schedule():
    assert reveal_counts(Schedule("linear"), 10, 4).tolist() == [2, 5, 8, 10]  # round(10 * k/4), 2.5 -> 2
    assert reveal_counts(Schedule("linear"), 6, 6).tolist() == [1, 2, 3, 4, 5, 6]
    counts = reveal_counts(Schedule("cosine"), 9, 3)
    assert counts[-1] == 9 and (torch.diff(counts) >= 0).all()


def test_left_to_right_with_one_token_per_step_is_left_to_right_decoding():
    model = tiny()
    prompts = [[1, 2, 3, 4], [5, 6], [7, 8, 9]]
    span = 6
    tokens, reveal, lengths = denoise(model, prompts, pad_id=0, span=span, steps=span, sampler="left_to_right")
    assert (reveal == torch.arange(span)).all()
    assert lengths.tolist() == [4, 2, 3]
    for row, prompt in enumerate(prompts):  # the reference: one position at a time, each alone
        x = torch.tensor(prompt + [model.mask_id] * span)[None]
        for i in range(span):
            x[0, len(prompt) + i] = model.logits(x, None, slice(len(prompt), None))[0, i].argmax()
        assert x[0, len(prompt):].tolist() == tokens[row].tolist()


@pytest.mark.parametrize("sampler", ["confidence", "ancestral", "left_to_right"])
def test_every_position_is_revealed_once_and_batching_does_not_matter(sampler):
    model = tiny()
    prompts = [[1, 2, 3], [4, 5, 6, 7, 8], [9]]
    tokens, reveal, _ = denoise(model, prompts, pad_id=0, span=8, steps=3, sampler=sampler)
    assert ((reveal >= 0) & (reveal < 3)).all() and (tokens < V).all()
    if sampler != "ancestral":  # the schedule's counts exactly
        per_step = torch.stack([(reveal == k).sum(1) for k in range(3)], 1)
        assert (per_step.cumsum(1) == reveal_counts(Schedule("linear"), 8, 3)).all()
    for i, prompt in enumerate(prompts):
        alone, alone_reveal, _ = denoise(model, [prompt], pad_id=0, span=8, steps=3, sampler=sampler)
        assert alone[0].tolist() == tokens[i].tolist() and alone_reveal[0].tolist() == reveal[i].tolist()


def test_confidence_sampler_reveals_the_most_confident_first():
    model = tiny()
    prompt = [3, 1, 4, 1, 5]
    tokens, reveal, _ = denoise(model, [prompt], pad_id=0, span=6, steps=2, sampler="confidence")
    x = torch.tensor(prompt + [model.mask_id] * 6)[None]
    confidence = model.logits(x, None, slice(5, None)).softmax(-1).max(-1).values[0]
    first = set(confidence.topk(3).indices.tolist())  # round(6 * 1/2) = 3 in the first step
    assert {i for i in range(6) if reveal[0, i] == 0} == first


def test_ancestral_reveal_times_follow_the_schedule():
    """Over many positions, the fraction revealed by the end of step k is alpha(t_k+1)."""
    model = tiny()
    prompts = [[i // V // V, i // V % V, i % V] for i in range(5 * V * V)]  # 2000 distinct prompts
    _, reveal, _ = denoise(model, prompts, pad_id=0, span=10, steps=4, sampler="ancestral")
    for k in range(4):
        assert float((reveal <= k).double().mean()) == pytest.approx((k + 1) / 4, abs=0.02)


def test_steps_outside_one_to_span_are_rejected():
    model = tiny()
    for steps in (0, 7):
        with pytest.raises(ValueError, match="steps"):
            denoise(model, [[1, 2]], pad_id=0, span=6, steps=steps, sampler="confidence")


# -- the method ------------------------------------------------------------------------------------

EXAMPLES = [Example("3 4 + 5", (), "3 9"), Example("1 + 2 2 2", (), "2 2 3")]


def method(**overrides) -> MDM:
    tokenizer = build_tokenizer(f"{ex.question}\n### {ex.answer}" for ex in EXAMPLES)
    return MDM(MDMConfig(**{"max_new_tokens": 6, **overrides}), tokenizer)


def test_encode_pads_the_span_with_eos_and_rejects_long_answers():
    m = method()
    row = m.encode(EXAMPLES[0], 0)
    eos = m.tokenizer.eos_token_id
    answer = m.ids(" 3 9")
    assert row["input_ids"][-6:] == answer + [eos] * (6 - len(answer))
    assert row["labels"] == [-100] * (len(row["input_ids"]) - 6) + row["input_ids"][-6:]
    assert row["input_ids"][:-6] == m.ids("3 4 + 5\n###")
    with pytest.raises(ValueError, match="max_new_tokens=2"):
        method(max_new_tokens=2).encode(EXAMPLES[0], 0)
    with pytest.raises(ValueError, match="sampler"):
        MDMConfig(sampler="random")


def test_generation_reports_bidirectional_work():
    m = method()
    backbone_like = type("B", (), {"config": type("C", (), {"vocab_size": len(m.tokenizer), "n_positions": 32,
                                                             "n_layer": 2, "n_embd": 32, "n_head": 4})()})()
    model = m.build_model(backbone_like).eval()
    gen = m.generate(model, EXAMPLES, budget=3)
    prompt = torch.tensor([len(m.prompt(ex)) for ex in EXAMPLES], dtype=torch.float64)
    assert all(text.startswith("###") for text in gen.texts)
    assert gen.forward_passes.tolist() == [3, 3] and gen.latent_steps == 3
    assert gen.positions.tolist() == (3 * (prompt + 6)).long().tolist()
    d, layers, vocab = 32, 2, len(m.tokenizer)
    by_hand = (2 * 12 * d * d * layers * 3 * (prompt + 6) + 4 * d * layers * 3 * (prompt + 6) ** 2
               + 2 * d * vocab * 3 * 6)
    assert torch.allclose(work_flops(model.shape, gen.work), by_hand)
    assert m.steps_for(None) == 6 and method(steps=2).steps_for(None) == 2


def test_mask_uniforms_are_independent_of_the_time():
    model = tiny()
    torch.manual_seed(6)
    t, u = model.noise(torch.randint(0, V, (2000, 6)), 0)
    for column in range(6):  # the fraction masked at a position is E[t] = 1/2, whatever the column
        assert float((u[:, column] < t).float().mean()) == pytest.approx(0.5, abs=0.04)
