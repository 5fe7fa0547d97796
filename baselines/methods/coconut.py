"""Coconut: reasoning in a continuous latent space (catalog id `hao2024training`).

Hao et al., "Training Large Language Models to Reason in a Continuous Latent Space" (2024).
The model's last hidden state is fed back as the next input embedding (a "continuous thought")
instead of being decoded into a token. A staged curriculum teaches it: at stage k the first k
reasoning steps of the chain are replaced by k*c thoughts between `<bot>` and `<eot>`, and the
model is trained with cross-entropy on the language tokens that remain (the later steps and the
answer). Stages 0..max_latent_stage follow one another; a final stage drops every remaining
step and keeps max_latent_stage*c thoughts. The optimizer is reset at every stage change.

Compute knob: `thoughts`, the number of continuous thoughts at test time (default c x
max_latent_stage, the number the final stage trains with). n thoughts cost n+1 sequential
backbone passes before the first answer token.

Ablations (the paper's section on what matters) are config values, not separate code paths:
  curriculum=False     "w/o curriculum": train on the final stage from the first step
  thought="none"       "w/o thought": the same curriculum over removed steps, but no thoughts
                       (and no <bot>/<eot> markers): the model learns to skip steps
  thought="pause"      "pause as thought": each thought is the learned embedding of the
                       `<pause>` token instead of a fed-back hidden state (same curriculum)
Each is also registered as a method of its own (coconut_no_curriculum, coconut_no_thought,
coconut_pause_as_thought: tiny subclasses at the end of this file that only change defaults),
so `latent bench run --method coconut_pause_as_thought` and `latent bench ls` name them.

Training and generation run the multi-pass latent engine (baselines/methods/engines/latent.py,
shared with codi and icot): the batch is realigned so that every row's thoughts share columns
(examples of a batch may have different numbers of thoughts: `uniform_prob` mixes stages), then
n thoughts cost n+1 KV-cached passes, each computing only its new columns, as the reference
does. `compile=True` compiles the backbone blocks on CUDA.

Where the harness's Coconut differs from the reference, and why: stages are shares of the
optimizer steps (`stage_share`; the ProsQA suite's 0.1 is the reference's 5 of 50 epochs per
stage), not epochs, since every method here gets one budget in steps; the reproduction suites
train a small model from scratch at lr 3e-4 instead of fine-tuning pretrained GPT-2 at 1e-4 (no
hub weights, and a run must fit minutes of one GPU); model selection keeps only checkpoints of
the final stage (the reference evaluates every epoch at that epoch's stage and its authors pick
the best final-stage one), since an earlier stage's model still writes the steps it has not
replaced.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from torch import Tensor

from baselines.format import BOT, EOT, LATENT, PAUSE, Example
from baselines.generation import decode_rows
from baselines.methods.base import Generation, Method, MethodConfig, StepOutput
from baselines.methods.engines.latent import LatentModel, example_parts, generate_with_thoughts
from baselines.methods.engines.token import scored_loss
from baselines.models.gpt import GPT

THOUGHT_KINDS = ("continuous", "pause", "none")


# -- the method -----------------------------------------------------------------------------------
@dataclass
class Config(MethodConfig):
    c_thought: int = 1  # continuous thoughts per replaced reasoning step (c)
    max_latent_stage: int = 6  # stages that replace steps by thoughts; then the final stage
    thoughts: int | None = None  # test-time thoughts (the knob); None = c_thought * max_latent_stage,
    #                              the number the final stage trains with (training ignores this field)
    thought: str = "continuous"  # "continuous" (Coconut), "pause" (pause as thought), "none" (w/o thought)
    curriculum: bool = True  # False = "w/o curriculum": train on the final stage only
    stage_share: float | None = None  # share of the optimizer steps per non-final stage (None = equal shares;
    #                                   the reference's ProsQA recipe, 5 of 50 epochs per stage, is 0.1)
    uniform_prob: float = 0.0  # probability that an example is drawn at a random stage instead (reference: 0)
    reset_optimizer: bool = True  # fresh AdamW state at every stage change
    compile: bool = False  # torch.compile each backbone block for the passes (CUDA only; speed, same function)

    def __post_init__(self) -> None:
        if self.thought not in THOUGHT_KINDS:
            raise ValueError(f"coconut config: thought={self.thought!r}; expected one of {THOUGHT_KINDS}")
        if self.c_thought < 0 or self.max_latent_stage < 0:
            raise ValueError("coconut config: c_thought and max_latent_stage must be >= 0")
        if self.stage_share is not None and not 0 < self.stage_share <= 1:
            raise ValueError(f"coconut config: stage_share={self.stage_share} must be in (0, 1]")
        trained = 0 if self.thought == "none" else self.c_thought * self.max_latent_stage
        if self.thoughts is None:
            self.thoughts = trained
        if self.thought == "none" and self.thoughts != 0:
            raise ValueError("coconut config: thought='none' uses no thoughts; thoughts must be 0")


class CoconutModel(LatentModel):
    """The backbone plus the multi-pass training forward (baselines/methods/engines/latent.py)."""

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor | None = None, **_) -> StepOutput:
        input_ids, labels, mask, start, n_latent, _ = self.prepare(input_ids, labels, attention_mask)
        out = self.run(input_ids, mask, start, n_latent)
        loss = scored_loss(self.backbone.head, out.hidden, labels)
        return StepOutput(loss=loss, forward_passes=out.passes, positions=out.positions,
                          extras={"thoughts": float(n_latent.float().mean())})


class Coconut(Method):
    name = "coconut"
    paper = "hao2024training"
    Config = Config
    knob = "thoughts"

    def __init__(self, config: Config, tokenizer):
        super().__init__(config, tokenizer)
        self.final_stage = config.max_latent_stage + 1
        self.num_stages = self.final_stage + 1 if config.curriculum else 1

    def build_model(self, backbone: GPT) -> CoconutModel:
        return CoconutModel(backbone, latent_id=self.token_id(LATENT), bot_id=self.token_id(BOT),
                            pad_id=self.tokenizer.pad_token_id, feedback=self.config.thought == "continuous",
                            compile=self.config.compile)

    def stage_at(self, step: int, total_steps: int) -> int:
        share = self.config.stage_share
        if share is None or self.num_stages <= 1 or total_steps <= 0:
            return super().stage_at(step, total_steps)
        return min(int(step // max(1, round(share * total_steps))), self.num_stages - 1)

    def _thought_tokens(self, n: int) -> list[int]:
        """<bot> n placeholders <eot>, or nothing for thought='none'."""
        cfg = self.config
        if cfg.thought == "none":
            return []
        filler = self.token_id(PAUSE if cfg.thought == "pause" else LATENT)
        return [self.token_id(BOT)] + [filler] * n + [self.token_id(EOT)]

    def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
        cfg = self.config
        question, steps, answer = example_parts(self.tokenizer, example)
        stage = stage if cfg.curriculum else self.final_stage
        if cfg.uniform_prob > 0 and random.random() < cfg.uniform_prob:
            stage = random.randint(0, len(steps))
        if stage > cfg.max_latent_stage:  # final stage: every step removed
            skip, n = len(steps), cfg.max_latent_stage
        else:
            skip, n = stage, stage
        n = 0 if cfg.thought == "none" else n * cfg.c_thought
        thoughts = self._thought_tokens(n)
        language = list(itertools.chain.from_iterable(steps[skip:])) + answer
        return {
            "input_ids": question + thoughts + language,
            "labels": [-100] * (len(question) + len(thoughts)) + language,
        }

    def generate(self, model: CoconutModel, questions: list[Example], budget: int | None = None) -> Generation:
        cfg = self.config
        n = cfg.thoughts if budget is None else int(budget)
        if cfg.thought == "none" and n != 0:
            raise ValueError("coconut with thought='none' has no thoughts to spend; use budget 0")
        if n < 0:
            raise ValueError(f"coconut: budget must be >= 0 thoughts, got {n}")
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        questions_ids = [example_parts(self.tokenizer, q)[0] for q in questions]
        if cfg.thought == "continuous":
            prompts = [q + [self.token_id(BOT)] for q in questions_ids]
            tokens, n_gen, passes, positions = generate_with_thoughts(
                model.backbone, prompts, n, [self.token_id(EOT)], cfg.max_new_tokens, eos, pad)
        else:  # pause tokens or no thoughts: the whole prompt is known, one pass then decoding
            prompts = [q + self._thought_tokens(n) for q in questions_ids]
            tokens, n_gen, passes, positions = generate_with_thoughts(
                model.backbone, prompts, 0, [], cfg.max_new_tokens, eos, pad)
        return Generation(texts=decode_rows(self.tokenizer, tokens, n_gen, eos), generated_tokens=n_gen.cpu(),
                          forward_passes=passes.cpu(), latent_steps=n, positions=positions.cpu())


# -- the ablations, registered under their own names --------------------------------------------------
@dataclass
class NoCurriculumConfig(Config):
    curriculum: bool = False


@dataclass
class NoThoughtConfig(Config):
    thought: str = "none"


@dataclass
class PauseAsThoughtConfig(Config):
    thought: str = "pause"


class CoconutNoCurriculum(Coconut):
    name = "coconut_no_curriculum"
    Config = NoCurriculumConfig


class CoconutNoThought(Coconut):
    name = "coconut_no_thought"
    Config = NoThoughtConfig
    knob = None  # no thoughts to count


class CoconutPauseAsThought(Coconut):
    name = "coconut_pause_as_thought"
    Config = PauseAsThoughtConfig
