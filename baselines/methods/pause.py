"""Pause tokens: learned `<pause>` tokens between the question and the answer.

Goyal et al., "Think before you speak: Training Language Models With Pause Tokens" (catalog id
`goyal2023think`). The model is fine-tuned on `question "\\n" <pause> x n "### " answer <eos>`
with no loss on the pause positions: the pauses only give the model n more positions (more
parallel computation inside the one forward pass over the prompt) before it must answer; the
reasoning steps are not used. Compute knob: `pauses`, the number of pause tokens (training uses
the configured value; evaluation may use others, as in the paper's sweeps). The paper also
pretrains with pauses; here, as for every method, the backbone is trained on the task only.
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.format import PAUSE, Example
from baselines.methods.base import MethodConfig
from baselines.methods.engines.token import TokenLevelMethod


@dataclass
class PauseConfig(MethodConfig):
    pauses: int = 10  # pause tokens after the question (the paper's choice for fine-tuning)

    def __post_init__(self) -> None:
        if self.pauses < 0:
            raise ValueError(f"pause: pauses must be >= 0, got {self.pauses}")


class Pause(TokenLevelMethod):
    name = "pause"
    paper = "goyal2023think"
    Config = PauseConfig
    knob = "pauses"

    def pause_ids(self, n: int) -> list[int]:
        if n < 0:
            raise ValueError(f"pause: the number of pauses must be >= 0, got {n}")
        return [self.token_id(PAUSE)] * n

    def middle(self, example: Example, stage: int) -> tuple[list[int], bool]:
        return self.pause_ids(self.config.pauses), False  # unscored: the pauses only add positions

    def prompt_middle(self, budget: int | None) -> list[int]:
        return self.pause_ids(self.latent_steps(budget))

    def latent_steps(self, budget: int | None) -> int:
        return self.config.pauses if budget is None else budget
