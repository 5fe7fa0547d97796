"""Chain of thought: the model writes the reasoning steps as text before the answer.

Explicit step-by-step reasoning as in Wei et al., "Chain-of-Thought Prompting Elicits Reasoning
in Large Language Models" (a baseline, not a catalog entry), learned by fine-tuning on
`question "\\n" step_1 "\\n" ... step_k "\\n" "### " answer <eos>` with the loss on the steps and
the answer: the CoT baseline of Coconut, iCoT and CODI. Every reasoning step costs generated
tokens; there is no separate compute knob (the model decides how many tokens to write).
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.format import Example, steps_text
from baselines.methods.base import MethodConfig
from baselines.methods.engines.token import TokenLevelMethod


@dataclass
class CoTConfig(MethodConfig):
    max_new_tokens: int = 256  # the steps and the answer are generated


class CoT(TokenLevelMethod):
    name = "cot"
    paper = None
    Config = CoTConfig
    knob = None

    def middle(self, example: Example, stage: int) -> tuple[list[int], bool]:
        return self.ids(steps_text(example)), True  # the steps are written and scored
