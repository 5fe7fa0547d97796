"""A looped method and a bidirectional one, each written as one file on the shared interfaces
(registry, Method, models/gpt.py, compute.Work), run by the harness from a folder of
LATENT_METHOD_DIRS, with FLOPs that match a hand count.

The two files below are small but real methods (they train and answer); the families' real
methods are their own files under baselines/methods/.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from baselines import registry
from baselines.batching import batch_indices, collate
from baselines.harness import RunOptions, execute
from baselines.suites import RunSpec

LOOPED = textwrap.dedent('''
    """Looped decoder: the backbone's blocks applied `loops` times to every position.

    Depth through repetition: the same blocks run again on their own output, so test-time
    compute grows with the loop count while the parameters stay the same. Knob: `loops`.
    """

    from dataclasses import dataclass

    import torch
    import torch.nn.functional as F
    from torch import Tensor, nn

    from baselines.compute import ModelShape, Work
    from baselines.format import Example, question_text
    from baselines.generation import decode_rows, fit_new_tokens, greedy_loop, left_pad, positions_from_mask
    from baselines.methods.base import Generation, Method, MethodConfig, StepOutput
    from baselines.methods.engines.token import answer_ids, ids
    from baselines.models.gpt import GPT, KVCache


    @dataclass
    class Config(MethodConfig):
        loops: int = 2  # applications of the whole block stack (the knob)


    class LoopedModel(nn.Module):
        def __init__(self, backbone: nn.Module, loops: int):
            super().__init__()
            self.gpt = backbone  # our GPT (baselines/backbone.py)
            self.loops = loops
            self.shape = ModelShape.of(self.gpt.config)

        def stack(self, h: Tensor, key_valid: Tensor | None, cache: KVCache | None, loops: int) -> Tensor:
            """The blocks applied `loops` times to h [B, T, D]; each application has its own cache slots."""
            bias = self.gpt.bias(h, key_valid, "causal", cache)
            n = len(self.gpt.blocks)
            for loop in range(loops):
                h = self.gpt.run_blocks(h, bias=bias, cache=cache, first_slot=loop * n)
            if cache is not None:
                cache.advance(h.shape[1])
            return h

        def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
            h = self.stack(self.gpt.embed(input_ids), None, None, self.loops)  # right padding: plain causal
            targets = labels[:, 1:]
            keep = targets != -100
            loss = F.cross_entropy(self.gpt.logits(h[:, :-1][keep]).float(), targets[keep])
            batch, width = input_ids.shape
            work = Work.zeros(batch).add_pass(len(self.gpt.blocks) * self.loops, new=width)  # padding is computed
            work.logit_positions = keep.sum(1).double()
            work.steps += self.loops
            return StepOutput(loss=loss, forward_passes=self.loops, positions=batch * width, work=work)


    class Looped(Method):
        name = "looped_demo"
        paper = None
        Config = Config
        knob = "loops"

        def build_model(self, backbone: nn.Module) -> LoopedModel:
            return LoopedModel(backbone, self.config.loops)

        def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
            question, answer = ids(self.tokenizer, question_text(example)), answer_ids(self.tokenizer, example)
            return {"input_ids": question + answer, "labels": [-100] * len(question) + answer}

        @torch.no_grad()
        def generate(self, model: LoopedModel, questions: list[Example], budget: int | None = None) -> Generation:
            loops = self.config.loops if budget is None else int(budget)
            tok, gpt = self.tokenizer, model.gpt
            device = gpt.wte.weight.device
            prompt, mask = left_pad([ids(tok, question_text(q)) for q in questions], tok.pad_token_id, device)
            new_tokens = fit_new_tokens(self.config.max_new_tokens, int(mask.sum(1).max()) - 1,
                                        gpt.config.n_positions, "the prompt")
            cache = KVCache(capacity=prompt.shape[1] + new_tokens)
            valid, positions = mask.bool(), positions_from_mask(mask)

            def next_logits(x: Tensor) -> Tensor:  # x [B, t, D] token embeddings of the new columns
                nonlocal valid, positions
                h = model.stack(gpt.embed(inputs_embeds=x, positions=positions), valid, cache, loops)
                valid = torch.cat([valid, valid.new_ones(valid.shape[0], 1)], dim=1)
                positions = positions[:, -1:] + 1
                return gpt.logits(h[:, -1:])[:, 0]

            tokens, n_gen = greedy_loop(next_logits, gpt.wte(prompt), gpt.wte, max_new_tokens=new_tokens,
                                        eos_id=tok.eos_token_id, pad_id=tok.pad_token_id)
            # per example, as if alone: the prompt's P columns, then one column per fed-back token
            layers, length = len(gpt.blocks) * loops, mask.sum(1).double()
            work = Work.zeros(len(questions)).add_pass(layers, new=length)
            for t in range(1, int(n_gen.max())):
                fed = (n_gen > t).double()  # rows that fed back their t-th token
                work.add_pass(layers, new=fed, cached=fed * (length + t - 1))
            work.logit_positions = n_gen.double()
            work.steps += loops
            return Generation(texts=decode_rows(tok, tokens, n_gen, tok.eos_token_id), generated_tokens=n_gen.cpu(),
                              forward_passes=(n_gen * loops).cpu(), latent_steps=loops,
                              positions=(mask.sum(1) + n_gen - 1).cpu(), work=work)
''')

BIDIRECTIONAL = textwrap.dedent('''
    """Masked answer slots: the answer predicted in one bidirectional pass over question and slots.

    The question is followed by `slots` placeholder tokens; every position attends to every other
    (no causal mask) and each slot predicts its answer token at once (masked prediction in a single
    denoising step). No knob.
    """

    from dataclasses import dataclass

    import torch
    import torch.nn.functional as F
    from torch import Tensor, nn

    from baselines.compute import ModelShape, Work
    from baselines.format import LATENT, Example, question_text
    from baselines.generation import decode_rows, left_pad, positions_from_mask
    from baselines.methods.base import Generation, Method, MethodConfig, StepOutput
    from baselines.methods.engines.token import answer_ids, ids
    from baselines.models.gpt import GPT


    @dataclass
    class Config(MethodConfig):
        slots: int = 8  # answer slots after the question ("### answer <eos>" must fit)


    class SlotsModel(nn.Module):
        def __init__(self, backbone: nn.Module):
            super().__init__()
            self.gpt = backbone  # our GPT (baselines/backbone.py)
            self.shape = ModelShape.of(self.gpt.config)

        def hidden(self, input_ids: Tensor, key_valid: Tensor, positions: Tensor | None = None) -> Tensor:
            h = self.gpt.embed(input_ids, positions)
            bias = self.gpt.bias(h, key_valid, "bidirectional", None)
            return self.gpt.run_blocks(h, bias=bias, attention="bidirectional")

        def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
            h = self.hidden(input_ids, attention_mask.bool())
            keep = labels != -100  # the slots: each predicts its own token (no shift)
            loss = F.cross_entropy(self.gpt.logits(h[keep]).float(), labels[keep])
            batch, width = input_ids.shape
            work = Work.zeros(batch).add_pass(len(self.gpt.blocks), new=width, attention="bidirectional")
            work.logit_positions = keep.sum(1).double()
            work.steps += 1
            return StepOutput(loss=loss, forward_passes=1, positions=batch * width, work=work)


    class MaskedSlots(Method):
        name = "masked_slots_demo"
        paper = None
        Config = Config
        knob = None

        def build_model(self, backbone: nn.Module) -> SlotsModel:
            return SlotsModel(backbone)

        def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
            question, answer = ids(self.tokenizer, question_text(example)), answer_ids(self.tokenizer, example)
            slots = self.config.slots
            if len(answer) > slots:
                raise ValueError(f"masked_slots_demo: the answer of {example.question!r} needs {len(answer)} "
                                 f"slots; raise slots (now {slots})")
            target = answer + [self.tokenizer.eos_token_id] * (slots - len(answer))
            return {"input_ids": question + [self.token_id(LATENT)] * slots, "labels": [-100] * len(question) + target}

        @torch.no_grad()
        def generate(self, model: SlotsModel, questions: list[Example], budget: int | None = None) -> Generation:
            tok, slots = self.tokenizer, self.config.slots
            device = model.gpt.wte.weight.device
            rows = [ids(tok, question_text(q)) + [self.token_id(LATENT)] * slots for q in questions]
            prompt, mask = left_pad(rows, tok.pad_token_id, device)
            h = model.hidden(prompt, mask.bool(), positions_from_mask(mask))
            tokens = model.gpt.logits(h[:, -slots:]).argmax(-1)  # [B, S]
            is_eos = tokens == tok.eos_token_id
            n_gen = torch.where(is_eos.any(1), is_eos.long().argmax(1) + 1, torch.full_like(tokens[:, 0], slots))
            work = Work.zeros(len(questions)).add_pass(len(model.gpt.blocks), new=mask.sum(1).double(),
                                                       attention="bidirectional")
            work.logit_positions += slots
            work.steps += 1
            return Generation(texts=decode_rows(tok, tokens, n_gen, tok.eos_token_id), generated_tokens=n_gen.cpu(),
                              forward_passes=torch.ones_like(n_gen).cpu(), latent_steps=1,
                              positions=mask.sum(1).cpu(), work=work)
''')

SPEC = dict(task="multiplication", task_options={"digits": 2}, steps=3, batch_size=4, lr=1e-3, n_positions=64,
            train_n=16, evals=1, valid_n=4, test_n=4, eval_batch_size=4, latency_n=0,
            method_options={"max_new_tokens": 12})
D, LAYERS = 64, 2  # the tiny model


@pytest.fixture
def methods_dir(tmp_path, monkeypatch):
    folder = tmp_path / "methods"
    folder.mkdir()
    (folder / "looped_demo.py").write_text(LOOPED, encoding="utf-8")
    (folder / "masked_slots_demo.py").write_text(BIDIRECTIONAL, encoding="utf-8")
    monkeypatch.setenv(registry.METHOD_DIRS_ENV, str(folder))
    return folder


def trained(method_name: str, tmp_path: Path, **spec):
    """(result, method, model) after a harness run of the file's method."""
    from baselines.methods import get_method
    from baselines.tokenizer import load_tokenizer

    options = RunOptions(device="cpu", results_dir=tmp_path / "r", checkpoint_dir=tmp_path / "ck", progress=False,
                         checkpoint_every=SPEC["steps"])
    [result] = execute(RunSpec(method=method_name, **{**SPEC, **spec}), options)
    folder = next((tmp_path / "ck").iterdir())
    cls = get_method(method_name)
    method = cls(cls.Config(**result.method_config), load_tokenizer(folder / "tokenizer"))
    return result, method


def batches(method, result):
    """The training batches the harness used (same data order)."""
    from baselines.tasks import get_task

    train = get_task("multiplication", None, digits=2).examples("train", SPEC["train_n"], result.seed)
    for step in range(SPEC["steps"]):
        rows = [method.encode(train[i], 0) for i in batch_indices(len(train), result.seed, step, SPEC["batch_size"])]
        yield collate(rows, method.tokenizer.pad_token_id)


def test_a_looped_method_in_one_file_counts_its_loops(methods_dir, tmp_path):
    result, method = trained("looped_demo", tmp_path, knob=2)
    vocab = result.model["vocab_size"]
    assert result.status == "completed" and result.knob == "loops" and result.knob_value == 2
    assert registry.methods()["looped_demo"].path == methods_dir / "looped_demo.py"
    # training, by hand: 2 blocks x 2 loops over every padded column T of each row, causal pairs
    # T (T + 1) / 2 per block application, logits on the scored positions; forward + backward = 3x
    expected = 0.0
    for batch in batches(method, result):
        rows, width = batch["input_ids"].shape
        scored = int((batch["labels"][:, 1:] != -100).sum())
        applications = LAYERS * 2
        expected += 3 * (2 * 12 * D * D * applications * width * rows
                         + 4 * D * applications * rows * width * (width + 1) / 2 + 2 * D * vocab * scored)
    assert result.budget.train_flops == pytest.approx(expected)
    # twice the loops: twice the block and attention FLOPs (not four times the attention)
    from baselines.compute import work_flops
    from baselines.methods.engines.token import ids

    batch = next(batches(method, result))
    model = method.build_model(_backbone(vocab))
    one = model(**batch).work
    model.loops = 4
    two = model(**batch).work
    assert torch.equal(two.layer_positions, 2 * one.layer_positions)
    assert torch.equal(two.pairs["causal"], 2 * one.pairs["causal"])
    assert torch.equal(two.logit_positions, one.logit_positions)
    # generation, by hand per example: the prompt's P columns, then g - 1 fed-back columns
    from baselines.tasks import get_task

    questions = get_task("multiplication", None, digits=2).examples("test", 4, 0)
    gen = method.generate(model, questions, budget=3)
    for i, q in enumerate(questions):
        p, g, a = len(ids(method.tokenizer, q.question + "\n")), int(gen.generated_tokens[i]), LAYERS * 3
        columns = p + g - 1
        pairs = p * (p + 1) / 2 + sum(p + t for t in range(1, g))  # = columns (columns + 1) / 2
        assert pairs == columns * (columns + 1) / 2
        by_hand = 2 * 12 * D * D * a * columns + 4 * D * a * pairs + 2 * D * vocab * g
        assert float(work_flops(model.shape, gen.work)[i]) == pytest.approx(by_hand)
    assert (gen.work.steps == 3).all() and gen.latent_steps == 3


def test_a_bidirectional_method_in_one_file_counts_every_pair(methods_dir, tmp_path):
    result, method = trained("masked_slots_demo", tmp_path)
    vocab, slots = result.model["vocab_size"], method.config.slots
    assert result.status == "completed" and [m.split for m in result.eval] == ["valid", "test"]
    expected = 0.0
    for batch in batches(method, result):
        rows, width = batch["input_ids"].shape
        expected += 3 * (2 * 12 * D * D * LAYERS * width * rows + 4 * D * LAYERS * rows * width * width
                         + 2 * D * vocab * rows * slots)
    assert result.budget.train_flops == pytest.approx(expected)
    # generation: one bidirectional pass over P + S columns, logits at the S slots
    from baselines.compute import work_flops
    from baselines.methods.engines.token import ids
    from baselines.tasks import get_task

    model = method.build_model(_backbone(vocab))
    questions = get_task("multiplication", None, digits=2).examples("test", 4, 0)
    gen = method.generate(model, questions)
    for i, q in enumerate(questions):
        columns = len(ids(method.tokenizer, q.question + "\n")) + slots
        by_hand = 2 * 12 * D * D * LAYERS * columns + 4 * D * LAYERS * columns**2 + 2 * D * vocab * slots
        assert float(work_flops(model.shape, gen.work)[i]) == pytest.approx(by_hand)
    # the test metrics the harness recorded are these FLOPs, averaged (the selected weights' generation)
    test = result.metrics("test")
    assert test.inference_flops == pytest.approx(by_hand)  # every 2-digit question has the same length


def _backbone(vocab: int):
    from baselines.backbone import BackboneConfig, build_backbone

    torch.manual_seed(0)
    return build_backbone(BackboneConfig("tiny", n_positions=64), vocab)


@pytest.mark.slow
def test_the_shared_conformance_suite_covers_both_files(methods_dir):
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/baselines/test_method_conformance.py", "-k", "demo"],
                         cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stdout[-2000:]
    assert "11 passed" in out.stdout, out.stdout[-500:]  # 6 checks of the looped one (it has a knob), 5 of the other
