"""The Method interface: every baseline is one file in this folder with one Method subclass.

A method has four members and nothing else that the harness calls:

1. `build_model(backbone)`   wraps the backbone (our GPT, baselines/models/gpt.py, built by
                             baselines/backbone.py; its config gives the sizes) into
                             an `nn.Module` whose `forward(**batch)` returns a `StepOutput` with
                             the training loss. Putting the whole training computation, all
                             latent passes included, inside one `forward` is what lets the same
                             module run under DDP without per-pass synchronisation.
2. `encode(example, stage)`  turns an Example into token-id lists for training at curriculum
                             `stage` (`input_ids`, `labels` with -100 on positions not scored,
                             and any method extras of equal length).
3. `generate(model, questions, budget)`  answers a batch of questions with batched, KV-cached
                             greedy decoding; `budget` is the test-time compute knob (latent
                             steps, pauses, loop depth, diffusion steps; None = the trained one).
4. `stage_at(step, total_steps)`  the curriculum stage at an optimizer step (0 for methods
                             without a curriculum); the harness resets the optimizer when the
                             stage changes and `config.reset_optimizer` is set.

A method's hyperparameters live in a dataclass `Config` declared next to it; `knob` names the
config field that is the test-time compute knob. Every method reports forward passes and
generated tokens per example, and the number of positions each forward pass processed, so that
compute.py can turn them into FLOPs. A method whose model is not a plain causal stack (loops,
bidirectional attention, a recurrent state, per-position depth) reports `work` (compute.Work) in
StepOutput and Generation instead, and its model exposes `shape` (compute.ModelShape): the harness
then counts FLOPs with `compute.work_flops`.

The text format shared by all methods and tasks (Example, the answer marker, the special
tokens, answer extraction) is baselines/format.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from baselines.compute import Generation, StepOutput, Work  # noqa: F401 (the contract methods return)
from baselines.format import (ANSWER_MARKER, BOT, EOS, EOT, LATENT, PAD, PAUSE, SPECIAL_TOKENS, Example,
                              extract_answer)

__all__ = ["ANSWER_MARKER", "BOT", "EOS", "EOT", "LATENT", "PAD", "PAUSE", "SPECIAL_TOKENS", "Example",
           "extract_answer", "Generation", "Method", "MethodConfig", "StepOutput"]


@dataclass
class MethodConfig:
    """Fields every method has; subclasses add their own."""

    reset_optimizer: bool = False  # reset AdamW state at each curriculum stage change
    max_new_tokens: int = 64  # generation limit after the question (and latent steps)


class Method(ABC):
    name: ClassVar[str]  # the file name, e.g. "coconut"
    paper: ClassVar[str | None] = None  # catalog id of the paper it implements
    Config: ClassVar[type[MethodConfig]] = MethodConfig
    knob: ClassVar[str | None] = None  # config field that is the test-time compute knob
    num_stages: int = 1

    def __init__(self, config: MethodConfig, tokenizer):
        self.config = config
        self.tokenizer = tokenizer  # transformers.PreTrainedTokenizerFast with SPECIAL_TOKENS

    def token_id(self, token: str) -> int:
        return self.tokenizer.convert_tokens_to_ids(token)

    @property
    def pad_values(self) -> dict[str, int]:
        """Fill values the harness's collate uses for `encode`'s extra fields (default 0;
        `input_ids` are padded with the pad id and `labels` with -100 in any case)."""
        return {}

    @abstractmethod
    def build_model(self, backbone: nn.Module) -> nn.Module:
        """Wrap the backbone; the returned module's forward(**batch) returns a StepOutput."""

    @abstractmethod
    def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
        """Token ids for training: input_ids, labels (-100 = not scored), extras."""

    @abstractmethod
    def generate(self, model: nn.Module, questions: list[Example], budget: int | None = None) -> Generation:
        """Batched greedy answers to `questions` at test-time compute `budget`."""

    def stage_at(self, step: int, total_steps: int) -> int:
        """Curriculum stage at optimizer step `step` of `total_steps` (equal shares per stage)."""
        if self.num_stages <= 1 or total_steps <= 0:
            return 0
        return min(step * self.num_stages // total_steps, self.num_stages - 1)

    def selectable_from(self, total_steps: int) -> int:
        """The first optimizer step (counted from 1, as validation counts them) whose weights model
        selection may keep: weights trained in the method's final curriculum stage. Before it a
        staged method is another model (iCoT before its CoT is removed still writes the CoT,
        Coconut before its last stage still writes the steps it has not replaced), so a
        validation score there says nothing about the method. Every step for a single-stage method."""
        if self.num_stages <= 1 or total_steps <= 1:
            return 1
        last = self.num_stages - 1
        first = next((s for s in range(total_steps) if self.stage_at(s, total_steps) == last), total_steps - 1)
        return first + 1
