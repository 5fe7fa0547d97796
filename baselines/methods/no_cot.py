"""No chain of thought: the model reads the question and writes the answer at once.

The reference point of every comparison, not a paper's method (no catalog id): the same
backbone is fine-tuned on `question "\\n" "### " answer <eos>` and must answer without any
intermediate token. No compute knob.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from baselines.methods import _token
from baselines.methods._token import TokenLevelMethod, TokenLM, scored_loss  # noqa: F401  (shared with other methods)
from baselines.methods.base import Generation, Method, MethodConfig
from baselines.tasks.base import Example


@dataclass
class NoCoTConfig(MethodConfig):
    pass


class NoCoT(Method):
    name = "no_cot"
    paper = None
    Config = NoCoTConfig
    knob = None

    def build_model(self, backbone: nn.Module) -> _token.TokenLM:
        return _token.TokenLM(backbone)

    def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
        return _token.encode(self.tokenizer, example, middle=[], middle_scored=False)

    def generate(self, model: _token.TokenLM, questions: list[Example], budget: int | None = None) -> Generation:
        return _token.generate(self, model, questions, prompt_middle=[], latent_steps=0)
