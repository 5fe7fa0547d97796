"""no_cot, cot and pause: exact training sequences and the positions their knob adds."""

from __future__ import annotations

import pytest
import torch

from baselines.backbone import BackboneConfig, build_backbone
from baselines.batching import collate
from baselines.format import full_text
from baselines.methods.base import PAUSE
from baselines.methods.cot import CoT, CoTConfig
from baselines.methods.no_cot import NoCoT, NoCoTConfig
from baselines.methods.pause import Pause, PauseConfig
from baselines.tasks.prosqa import ProsQA
from baselines.tokenizer import build_tokenizer

EXAMPLES = ProsQA().generate("train", 4, seed=0)
TOKENIZER = build_tokenizer(full_text(ex) for ex in EXAMPLES)


def ids(text: str) -> list[int]:
    return TOKENIZER.encode(text, add_special_tokens=False)


def test_training_sequences():
    ex = EXAMPLES[0]
    question, steps = ids(ex.question + "\n"), ids("".join(s + "\n" for s in ex.steps))
    answer = ids("### " + ex.answer) + [TOKENIZER.eos_token_id]
    row = NoCoT(NoCoTConfig(), TOKENIZER).encode(ex, 0)
    assert row["input_ids"] == question + answer and row["labels"] == [-100] * len(question) + answer
    row = CoT(CoTConfig(), TOKENIZER).encode(ex, 0)
    assert row["input_ids"] == question + steps + answer
    assert row["labels"] == [-100] * len(question) + steps + answer
    row = Pause(PauseConfig(pauses=3), TOKENIZER).encode(ex, 0)
    pause = TOKENIZER.convert_tokens_to_ids(PAUSE)
    assert row["input_ids"] == question + [pause] * 3 + answer
    assert row["labels"] == [-100] * (len(question) + 3) + answer  # no loss on the pauses
    assert TOKENIZER.decode(row["input_ids"]).startswith(ex.question + "\n<pause><pause><pause>### ")


def test_pauses_add_positions_not_passes():
    torch.manual_seed(0)
    backbone = build_backbone(BackboneConfig("tiny", n_positions=512), len(TOKENIZER),
                              pad_id=TOKENIZER.pad_token_id, eos_id=TOKENIZER.eos_token_id).eval()
    n = 4
    no_cot = NoCoT(NoCoTConfig(max_new_tokens=5), TOKENIZER)
    pause = Pause(PauseConfig(pauses=n, max_new_tokens=5), TOKENIZER)
    # training: each row is n positions longer; one forward pass either way
    plain = collate([no_cot.encode(ex, 0) for ex in EXAMPLES], TOKENIZER.pad_token_id)
    paused = collate([pause.encode(ex, 0) for ex in EXAMPLES], TOKENIZER.pad_token_id)
    out_plain, out_paused = no_cot.build_model(backbone)(**plain), pause.build_model(backbone)(**paused)
    assert out_paused.positions - out_plain.positions == n * len(EXAMPLES)
    assert out_plain.forward_passes == out_paused.forward_passes == 1
    # generation: n more prompt positions per example, the same passes per generated token
    model = pause.build_model(backbone)
    for budget in (0, 1, n):
        gen = pause.generate(model, EXAMPLES, budget=budget)
        prompt = torch.tensor([len(ids(ex.question + "\n")) + budget for ex in EXAMPLES])
        assert gen.latent_steps == budget
        assert torch.equal(gen.positions, prompt + gen.generated_tokens - 1)
        assert torch.equal(gen.forward_passes, gen.generated_tokens)
    base = no_cot.generate(model, EXAMPLES)
    zero = pause.generate(model, EXAMPLES, budget=0)
    assert base.texts == zero.texts and torch.equal(base.positions, zero.positions)  # 0 pauses = no_cot
    with pytest.raises(ValueError, match="pauses must be >= 0"):
        pause.generate(model, EXAMPLES, budget=-1)
