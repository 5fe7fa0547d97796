"""Coconut: the KV-cached multi-pass forward equals a naive recomputation, batched generation
equals one question at a time, the curriculum encodes the right steps, training lowers the loss,
and the compute counts (n+1 passes for n thoughts) are reported (fp32, tiny models, CPU)."""

from __future__ import annotations

import pytest
import torch

from baselines.backbone import BackboneConfig, build_backbone
from baselines.batching import collate
from baselines.format import BOT, EOT, LATENT, PAUSE
from baselines.methods.coconut import Coconut, CoconutNoCurriculum, CoconutNoThought, CoconutPauseAsThought, Config
from baselines.methods.engines.latent import example_parts
from baselines.tasks.base import Example
from baselines.tokenizer import build_tokenizer

EXAMPLES = [
    Example("Alex is a wumpus. Is Alex a yumpus?", ("Alex is a wumpus.", "Every wumpus is a yumpus.", "Alex is a yumpus."), "Yes"),
    Example("Sam is a zorpus?", ("Sam is a zorpus.", "No."), "No"),
    Example("Every bob is a tim. Kim is a bob. Is Kim a tim or a jim?", ("Kim is a bob.", "Every bob is a tim."), "tim"),
    Example("Is Lu a wumpus?", ("Lu is a yumpus.", "Every yumpus is a wumpus.", "Lu is a wumpus.", "Yes."), "Yes"),
]


def tokenizer():
    texts = [e.question + "\n" + "\n".join(e.steps) + "\n### " + e.answer for e in EXAMPLES]
    return build_tokenizer(texts)


def backbone(tok, seed=0):
    torch.manual_seed(seed)
    return build_backbone(BackboneConfig("tiny", n_positions=256), len(tok))


def right_pad(rows: list[dict[str, list[int]]], pad_id: int, pad_values: dict[str, int] | None = None):
    """A training batch exactly as the harness builds it (right padding)."""
    return collate(rows, pad_id, pad_values)


def naive_hidden(model, ids: list[int], latent_id: int) -> torch.Tensor:
    """No cache: recompute the whole sequence once per thought, writing each thought in place."""
    gpt = model.backbone
    embeds = gpt.wte(torch.tensor([ids]))  # [1, L, D]
    for pos in [p for p, t in enumerate(ids) if t == latent_id]:
        hidden = full_pass(gpt, embeds)
        embeds = torch.cat([embeds[:, :pos], hidden[:, pos - 1: pos], embeds[:, pos + 1:]], dim=1)
    return full_pass(gpt, embeds)[0]  # [L, D]


def full_pass(gpt, embeds: torch.Tensor) -> torch.Tensor:
    """The plain causal forward of one unpadded sequence: last hidden states [1, L, D]."""
    return gpt.ln_f(gpt.run_blocks(gpt.embed(inputs_embeds=embeds)))


def test_multipass_forward_matches_naive_recomputation():
    tok = tokenizer()
    method = Coconut(Config(c_thought=2, max_latent_stage=2), tok)
    model = method.build_model(backbone(tok)).eval()
    # different question lengths and 0, 2, 4 and 4 (final stage) thoughts in one batch
    rows = [method.encode(ex, stage) for ex, stage in zip(EXAMPLES, (0, 1, 2, 3))]
    latent = tok.convert_tokens_to_ids(LATENT)
    assert [r["input_ids"].count(latent) for r in rows] == [0, 2, 4, 4]
    batch = right_pad(rows, tok.pad_token_id)
    with torch.no_grad():
        ids, labels, mask, start, n_latent, _ = model.prepare(**batch)
        out = model.run(ids, mask, start, n_latent)
        assert out.passes == 5
        lm_head = model.backbone.head
        losses = []
        for i, row in enumerate(rows):
            cols = mask[i].nonzero()[:, 0]
            assert ids[i, cols].tolist() == row["input_ids"]
            naive = naive_hidden(model, row["input_ids"], latent)
            diff = (lm_head(out.hidden[i, cols]) - lm_head(naive)).abs().max()
            assert diff < 1e-5, f"row {i}: logits differ by {diff}"
            target = torch.tensor(row["labels"][1:])
            losses.append(torch.nn.functional.cross_entropy(lm_head(naive[:-1]), target, reduction="sum"))
        naive_loss = sum(losses) / sum(sum(t != -100 for t in r["labels"][1:]) for r in rows)
        assert abs(float(model(**batch).loss) - float(naive_loss)) < 1e-5


def test_curriculum_encode_replaces_steps_with_thoughts():
    tok = tokenizer()
    method = Coconut(Config(c_thought=2, max_latent_stage=2), tok)
    assert method.num_stages == 4  # stages 0, 1, 2 and the final stage
    ex = EXAMPLES[3]
    question, steps, answer = example_parts(tok, ex)
    bot, eot, latent = (tok.convert_tokens_to_ids(t) for t in (BOT, EOT, LATENT))
    for stage, (skip, n) in enumerate([(0, 0), (1, 2), (2, 4), (4, 4)]):
        row = method.encode(ex, stage)
        kept = [t for s in steps[skip:] for t in s]
        assert row["input_ids"] == question + [bot] + [latent] * n + [eot] + kept + answer
        assert row["labels"] == [-100] * (len(question) + n + 2) + kept + answer
    # w/o curriculum: every stage is the final one
    no_cur = CoconutNoCurriculum(CoconutNoCurriculum.Config(c_thought=2, max_latent_stage=2), tok)
    assert no_cur.num_stages == 1 and no_cur.encode(ex, 0) == method.encode(ex, 3)
    # w/o thought: the same steps removed, no thoughts, no markers
    no_thought = CoconutNoThought(CoconutNoThought.Config(c_thought=2, max_latent_stage=2), tok)
    assert no_thought.config.thoughts == 0
    assert no_thought.encode(ex, 1)["input_ids"] == question + [t for s in steps[1:] for t in s] + answer
    # pause as thought: <pause> tokens where Coconut has thoughts
    pause = CoconutPauseAsThought(CoconutPauseAsThought.Config(c_thought=2, max_latent_stage=2), tok)
    pause_id = tok.convert_tokens_to_ids(PAUSE)
    assert pause.encode(ex, 2)["input_ids"] == [pause_id if t == latent else t for t in method.encode(ex, 2)["input_ids"]]


def test_stage_schedule_equal_shares_and_fixed_share():
    tok = tokenizer()
    method = Coconut(Config(max_latent_stage=2), tok)
    assert [method.stage_at(s, 100) for s in (0, 24, 25, 50, 75, 99)] == [0, 0, 1, 2, 3, 3]
    fixed = Coconut(Config(max_latent_stage=2, stage_share=0.1), tok)
    assert [fixed.stage_at(s, 100) for s in (0, 9, 10, 29, 30, 99)] == [0, 0, 1, 2, 3, 3]
    with pytest.raises(ValueError, match="thought="):
        Config(thought="hidden")


@pytest.mark.parametrize("cls", [Coconut, CoconutPauseAsThought, CoconutNoThought])
def test_batched_generation_equals_one_at_a_time(cls):
    tok = tokenizer()
    method = cls(cls.Config(c_thought=1, max_latent_stage=3, max_new_tokens=12), tok)
    model = method.build_model(backbone(tok, seed=3)).eval()
    batched = method.generate(model, EXAMPLES)
    n = method.config.thoughts
    assert batched.latent_steps == n
    for i, ex in enumerate(EXAMPLES):
        single = method.generate(model, [ex])
        assert single.texts == [batched.texts[i]]
        assert int(single.generated_tokens[0]) == int(batched.generated_tokens[i])
        assert int(single.forward_passes[0]) == int(batched.forward_passes[i])
        assert int(single.positions[0]) == int(batched.positions[i])
    # continuous thoughts: n passes before the decoding passes (one per generated token);
    # pauses and no thoughts: the prompt is known, decoding starts at once
    extra = n if cls is Coconut else 0
    assert (batched.forward_passes == batched.generated_tokens + extra).all()


def test_generation_budget_zero_and_positions():
    tok = tokenizer()
    method = Coconut(Config(c_thought=1, max_latent_stage=2, max_new_tokens=5), tok)
    model = method.build_model(backbone(tok)).eval()
    for budget in (0, 1, 4):
        gen = method.generate(model, EXAMPLES[:2], budget=budget)
        assert gen.latent_steps == budget
        prompt = torch.tensor([len(example_parts(tok, e)[0]) + 1 for e in EXAMPLES[:2]])  # question + <bot>
        # prompt, thoughts, <eot>, then one position per later decoding pass
        assert (gen.positions == prompt + budget + 1 + gen.generated_tokens - 1).all()
        assert (gen.forward_passes == gen.generated_tokens + budget).all()


def test_training_reports_n_plus_one_passes():
    tok = tokenizer()
    method = Coconut(Config(c_thought=2, max_latent_stage=2), tok)
    model = method.build_model(backbone(tok))
    for stage, n in ((0, 0), (1, 2), (3, 4)):
        out = model(**right_pad([method.encode(ex, stage) for ex in EXAMPLES], tok.pad_token_id))
        assert out.forward_passes == n + 1
        assert out.positions > 0 and torch.isfinite(out.loss)
    pause = CoconutPauseAsThought(CoconutPauseAsThought.Config(c_thought=2, max_latent_stage=2), tok)
    out = pause.build_model(backbone(tok))(**right_pad([pause.encode(ex, 3) for ex in EXAMPLES], tok.pad_token_id))
    assert out.forward_passes == 1  # pauses are known tokens: one pass


@pytest.mark.parametrize("cls", [Coconut, CoconutNoCurriculum, CoconutNoThought, CoconutPauseAsThought])
def test_training_lowers_the_loss(cls):
    tok = tokenizer()
    method = cls(cls.Config(c_thought=1, max_latent_stage=2), tok)
    model = method.build_model(backbone(tok))
    stage = method.num_stages - 1
    batch = right_pad([method.encode(ex, stage) for ex in EXAMPLES], tok.pad_token_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(15):
        loss = model(**batch).loss
        first = float(loss.detach()) if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(model(**batch).loss.detach()) < 0.7 * first


def test_first_generated_token_matches_training_forward():
    """The token generation picks after <eot> is the argmax the training forward predicts there."""
    tok = tokenizer()
    method = Coconut(Config(c_thought=2, max_latent_stage=2, max_new_tokens=1), tok)
    model = method.build_model(backbone(tok, seed=7)).eval()
    batch = right_pad([method.encode(ex, method.num_stages - 1) for ex in EXAMPLES], tok.pad_token_id)
    eot = tok.convert_tokens_to_ids(EOT)
    with torch.no_grad():
        ids, _, mask, start, n_latent, _ = model.prepare(**batch)
        assert n_latent.tolist() == [4] * len(EXAMPLES)
        hidden = model.run(ids, mask, start, n_latent).hidden
        expected = model.backbone.head(hidden[ids == eot]).argmax(-1)  # [B], one <eot> per row
    gen = method.generate(model, EXAMPLES)
    assert [tok.convert_tokens_to_ids(t) for t in gen.texts] == expected.tolist()


def test_harness_resets_the_optimizer_at_each_stage_change(tmp_path, monkeypatch):
    """Through the harness: AdamW's step counter restarts at every curriculum stage."""
    from baselines import harness
    from baselines.suites import RunSpec

    counters: list[int] = []
    make_optimizer = harness._optimizer

    def recording_optimizer(*args, **kwargs):
        optimizer = make_optimizer(*args, **kwargs)
        first = optimizer.param_groups[0]["params"][0]
        optimizer.register_step_post_hook(lambda opt, *_: counters.append(int(opt.state[first]["step"])))
        return optimizer

    monkeypatch.setattr(harness, "_optimizer", recording_optimizer)
    spec = RunSpec(method="coconut", task="multiplication", task_options={"digits": 2}, steps=8, batch_size=4,
                   n_positions=128, train_n=16, valid_n=4, test_n=4, eval_batch_size=4, latency_n=0,
                   method_options={"max_latent_stage": 2, "max_new_tokens": 8})
    options = harness.RunOptions(device="cpu", results_dir=tmp_path / "r", checkpoint_dir=tmp_path / "c",
                                 checkpoint_every=0, progress=False, write=False)
    [result] = harness.execute(spec, options)
    assert result.train["stages"] == [[0, 0], [2, 1], [4, 2], [6, 3]]
    assert counters == [1, 2] * 4
    assert result.knob_value == 2 and result.eval[0].latent_steps == 2
