"""CODI: the encoded teacher/student pair, the student's KV-cached passes with the projection
equal a naive recomputation, batched generation equals one question at a time, the compute
counts, and a few training steps lower the loss (fp32, tiny models, CPU)."""

from __future__ import annotations

import pytest
import torch

from baselines.methods.base import ANSWER_MARKER, BOT, EOT, LATENT
from baselines.methods.codi import Codi, Config
from baselines.methods.engines.latent import example_parts
from test_coconut import EXAMPLES, backbone, right_pad, tokenizer  # tests/baselines is on sys.path under pytest

def batch_of(method, examples):
    return right_pad([method.encode(ex, 0) for ex in examples], method.tokenizer.pad_token_id, method.pad_values)


def test_encode_teacher_and_student():
    tok = tokenizer()
    method = Codi(Config(latents=3), tok)
    ex = EXAMPLES[0]
    question, steps, answer = example_parts(tok, ex)
    row = method.encode(ex, 0)
    assert len({len(v) for v in row.values()}) == 1  # one common length
    bot, eot, latent, pad = (tok.convert_tokens_to_ids(t) for t in (BOT, EOT, LATENT, tok.pad_token))
    student = question + [bot] + [latent] * 3 + [eot] + answer
    cot = [t for s in steps for t in s]
    teacher = question + cot + answer
    assert row["input_ids"][: len(student)] == student and set(row["input_ids"][len(student):]) <= {pad}
    assert row["teacher_ids"][: len(teacher)] == teacher and set(row["teacher_ids"][len(teacher):]) <= {pad}
    assert [t for t in row["labels"] if t != -100] == answer
    assert [t for t in row["teacher_labels"] if t != -100] == cot + answer
    marker = tok.convert_tokens_to_ids(ANSWER_MARKER)
    for ids, mark in (("input_ids", "student_mark"), ("teacher_ids", "teacher_mark")):
        assert sum(row[mark]) == 1 and row[ids][row[mark].index(1)] == marker  # the token before the answer
    with pytest.raises(ValueError, match="distill_loss"):
        Config(distill_loss="cosine")


def test_teacher_without_its_last_step_as_in_the_reference():
    tok = tokenizer()
    ex = next(e for e in EXAMPLES if len(e.steps) >= 2)
    question, steps, answer = example_parts(tok, ex)
    row = Codi(Config(latents=3, teacher_last_step=False), tok).encode(ex, 0)
    cot = [t for s in steps[:-1] for t in s]
    teacher = question + cot + answer
    assert row["teacher_ids"][: len(teacher)] == teacher
    assert [t for t in row["teacher_labels"] if t != -100] == cot + answer
    marker = tok.convert_tokens_to_ids(ANSWER_MARKER)
    assert row["teacher_ids"][row["teacher_mark"].index(1)] == marker
    # the student is unchanged (only the common padded length may differ)
    full = Codi(Config(latents=3), tok).encode(ex, 0)["input_ids"]
    pad = tok.pad_token_id
    assert [t for t in row["input_ids"] if t != pad] == [t for t in full if t != pad]


def test_student_passes_match_naive_recomputation():
    tok = tokenizer()
    method = Codi(Config(latents=3), tok)
    model = method.build_model(backbone(tok)).eval()
    batch = batch_of(method, EXAMPLES)
    latent = tok.convert_tokens_to_ids(LATENT)
    gpt = model.backbone

    def full_pass(embeds):  # the plain causal forward of one unpadded sequence, no cache
        return gpt.ln_f(gpt.run_blocks(gpt.embed(inputs_embeds=embeds)))

    with torch.no_grad():
        ids, labels, mask, start, n_latent, _ = model.prepare(batch["input_ids"], batch["labels"])
        out = model.run(ids, mask, start, n_latent, project=model.projection)
        assert out.passes == 4
        for i in range(len(EXAMPLES)):
            cols = mask[i].nonzero()[:, 0]
            row = ids[i, cols].tolist()
            embeds = gpt.wte(torch.tensor([row]))
            for pos in [p for p, t in enumerate(row) if t == latent]:  # naive: no cache
                hidden = full_pass(embeds)
                thought = model.projection(hidden[:, pos - 1: pos])
                embeds = torch.cat([embeds[:, :pos], thought, embeds[:, pos + 1:]], dim=1)
            naive = full_pass(embeds)[0]
            lm_head = model.backbone.head
            assert (lm_head(out.hidden[i, cols]) - lm_head(naive)).abs().max() < 1e-5


def test_batched_generation_equals_one_at_a_time_and_counts():
    tok = tokenizer()
    method = Codi(Config(latents=3, max_new_tokens=12), tok)
    model = method.build_model(backbone(tok, seed=5)).eval()
    batched = method.generate(model, EXAMPLES)
    assert batched.latent_steps == 3
    assert (batched.forward_passes == batched.generated_tokens + 3).all()
    for i, ex in enumerate(EXAMPLES):
        single = method.generate(model, [ex])
        assert single.texts == [batched.texts[i]]
        assert int(single.forward_passes[0]) == int(batched.forward_passes[i])
        assert int(single.positions[0]) == int(batched.positions[i])
    assert method.generate(model, EXAMPLES[:2], budget=1).latent_steps == 1


def test_first_generated_token_matches_training_forward():
    """The token generation picks after <eot> is the argmax the training forward predicts there."""
    tok = tokenizer()
    method = Codi(Config(latents=2, max_new_tokens=1), tok)
    model = method.build_model(backbone(tok, seed=2)).eval()
    batch = batch_of(method, EXAMPLES)
    eot = tok.convert_tokens_to_ids(EOT)
    with torch.no_grad():
        ids, _, mask, start, n_latent, _ = model.prepare(batch["input_ids"], batch["labels"])
        hidden = model.run(ids, mask, start, n_latent, project=model.projection).hidden
        at_eot = hidden[ids == eot]  # [B, D], one <eot> per row
        expected = model.backbone.head(at_eot).argmax(-1)
    gen = method.generate(model, EXAMPLES)
    assert [tok.convert_tokens_to_ids(t) if t else None for t in gen.texts] == expected.tolist()


def test_training_reports_passes_and_lowers_the_loss():
    tok = tokenizer()
    method = Codi(Config(latents=2, distill_loss="l1"), tok)
    model = method.build_model(backbone(tok))
    batch = batch_of(method, EXAMPLES)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(15):
        out = model(**batch)
        assert out.forward_passes == 2 + 2  # n+1 student passes and the teacher's
        assert set(out.extras) == {"student_ce", "teacher_ce", "distill"}
        first = float(out.loss.detach()) if first is None else first
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    assert model.projection[0].weight.grad is not None
    assert float(model(**batch).loss.detach()) < 0.7 * first
