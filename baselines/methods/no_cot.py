"""No chain of thought: the model reads the question and writes the answer at once.

The reference point of every comparison, not a paper's method (no catalog id): the same
backbone is fine-tuned on `question "\\n" "### " answer <eos>` and must answer without any
intermediate token. No compute knob.
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.methods.base import MethodConfig
from baselines.methods.engines.token import TokenLevelMethod


@dataclass
class NoCoTConfig(MethodConfig):
    pass


class NoCoT(TokenLevelMethod):
    """Nothing between question and answer: TokenLevelMethod's defaults."""

    name = "no_cot"
    paper = None
    Config = NoCoTConfig
    knob = None
