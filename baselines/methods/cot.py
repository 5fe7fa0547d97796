"""Chain of thought: the model writes the reasoning steps as text before the answer.

Explicit step-by-step reasoning as in Wei et al., "Chain-of-Thought Prompting Elicits Reasoning
in Large Language Models" (a baseline, not a catalog entry), learned by fine-tuning on
`question "\\n" step_1 "\\n" ... step_k "\\n" "### " answer <eos>` with the loss on the steps and
the answer: the CoT baseline of Coconut, iCoT and CODI. Every reasoning step costs generated
tokens; there is no separate compute knob (the model decides how many tokens to write).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from baselines.data import steps_text
from baselines.methods import _token
from baselines.methods.base import Generation, Method, MethodConfig
from baselines.tasks.base import Example


@dataclass
class CoTConfig(MethodConfig):
    max_new_tokens: int = 256  # the steps and the answer are generated


class CoT(Method):
    name = "cot"
    paper = None
    Config = CoTConfig
    knob = None

    def build_model(self, backbone: nn.Module) -> _token.TokenLM:
        return _token.TokenLM(backbone)

    def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
        steps = _token.ids(self.tokenizer, steps_text(example))
        return _token.encode(self.tokenizer, example, middle=steps, middle_scored=True)

    def generate(self, model: _token.TokenLM, questions: list[Example], budget: int | None = None) -> Generation:
        return _token.generate(self, model, questions, prompt_middle=[], latent_steps=0)
