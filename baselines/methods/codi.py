"""CODI: continuous chain-of-thought by self-distillation (catalog id `shen2025codi`, arXiv 2502.21074).

Shen et al., "CODI: Compressing Chain-of-Thought into Continuous Space via Self-Distillation"
(2025). One model plays two roles in one forward:
  teacher  question + CoT + answer, ordinary next-token loss on the CoT and the answer;
  student  question <bot> z_1 .. z_n <eot> answer, where z_1 is the projected last hidden
           state at <bot> and z_{k+1} the projected last hidden state at z_k; the projection is
           Linear -> GELU -> Linear -> LayerNorm; cross-entropy on the answer only.
The student is taught by aligning, at every layer, its hidden state at the token just before
the answer (the last token of the answer marker "###") with the teacher's at the same token:
L1, smooth L1 or L2, divided by the teacher's standard deviation at that layer, averaged over
the layers (the embedding output included, as in the reference); the teacher's states are
detached. loss = alpha * student CE + beta * teacher CE + gamma * distillation.

Compute knob: `latents`, the number of continuous thoughts n. The student's passes are those of
Coconut (the latent engine, engines/latent.py): one over the question and <bot>, one per further thought, and one over the
last thought, <eot> and the answer, n+1 in all, KV-cached; the teacher adds one independent pass,
so training reports n+2 forward passes. Generation runs the n+1 student passes batched, the last
one starting the greedy decoding.

Batch layout: encode returns the student sequence (input_ids, labels, student_mark) and the
teacher sequence (teacher_ids, teacher_labels, teacher_mark), right-padded inside encode to one
common length so that any collate keeps them together; masks are taken from the pad id, and
columns that are padding in every row are dropped before the passes.

Not carried over from the reference: LoRA (the backbone is trained in full) and the dropout
before the projection (0 there too). The reference's teacher drops the last CoT step by default
(on GSM8K-Aug that step is the final computation, which repeats the answer); here that is
`teacher_last_step=False`, which the reproduction suites set; the default keeps every step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.format import ANSWER_MARKER, BOT, EOT, LATENT, Example
from baselines.generation import decode_rows, positions_from_mask
from baselines.methods.base import Generation, Method, MethodConfig, StepOutput
from baselines.methods.engines.latent import LatentModel, example_parts, generate_with_thoughts
from baselines.methods.engines.token import is_right_padded, scored_loss
from baselines.models.gpt import GPT

DISTILL_LOSSES = ("smooth_l1", "l1", "l2")


@dataclass
class Config(MethodConfig):
    latents: int = 6  # continuous thoughts n (the compute knob; paper: 6)
    proj_dim: int | None = None  # hidden width of the projection MLP; None = the model width (paper, GPT-2: 768)
    distill_loss: str = "smooth_l1"  # "smooth_l1" (reference default), "l1" or "l2"
    distill_div_std: bool = True  # divide each layer's distillation loss by the teacher's std there
    alpha: float = 1.0  # weight of the student's answer cross-entropy
    beta: float = 1.0  # weight of the teacher's CoT + answer cross-entropy
    gamma: float = 1.0  # weight of the hidden-state distillation
    teacher_last_step: bool = True  # the teacher's CoT keeps its last step (the reference drops it by
    #                                  default: its include_last_cot is off; the repro suites follow it)
    compile: bool = False  # torch.compile each backbone block for the passes (CUDA only; speed, same function)

    def __post_init__(self) -> None:
        if self.distill_loss not in DISTILL_LOSSES:
            raise ValueError(f"codi config: distill_loss={self.distill_loss!r}; expected one of {DISTILL_LOSSES}")
        if self.latents < 0:
            raise ValueError(f"codi config: latents={self.latents} must be >= 0")


def projection(width: int, hidden: int) -> nn.Sequential:
    """The map from a last hidden state to the next continuous thought."""
    return nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width), nn.LayerNorm(width))


def pick(states: Tensor, index: Tensor) -> Tensor:
    """states [B, T, D], index [B] -> [B, D]."""
    return states.gather(1, index[:, None, None].expand(-1, 1, states.shape[-1]))[:, 0]


class CodiModel(LatentModel):
    """Teacher and student in one forward (see the module docstring)."""

    def __init__(self, backbone: GPT, config: Config, *, latent_id: int, bot_id: int, pad_id: int):
        super().__init__(backbone, latent_id=latent_id, bot_id=bot_id, pad_id=pad_id, feedback=True,
                         compile=config.compile)
        width = backbone.config.n_embd
        self.projection = projection(width, config.proj_dim or width)
        self.config = config

    def distill(self, student: Tensor, teacher: Tensor) -> Tensor:
        """One layer's alignment loss; student, teacher [B, D] (teacher detached)."""
        kind = self.config.distill_loss
        if kind == "smooth_l1":
            loss = F.smooth_l1_loss(student.float(), teacher.float())
        elif kind == "l1":
            loss = F.l1_loss(student.float(), teacher.float())
        else:
            loss = F.mse_loss(student.float(), teacher.float())
        if self.config.distill_div_std:
            loss = loss / teacher.float().std().clamp(min=1e-6)
        return loss

    def forward(self, input_ids: Tensor, labels: Tensor, teacher_ids: Tensor, teacher_labels: Tensor,
                student_mark: Tensor, teacher_mark: Tensor, **_) -> StepOutput:
        cfg = self.config
        # student: realign, n+1 KV-cached passes, per-layer states of the last pass
        ids, labels, mask, start, n_latent, (mark,) = self.prepare(input_ids, labels, None, ((student_mark, 0),))
        student = self.run(ids, mask, start, n_latent, project=self.projection, output_hidden_states=True)
        student_ce = scored_loss(self.backbone.head, student.hidden, labels)
        student_pos = mark.argmax(1) - student.final_start  # [B] column within the last pass
        # teacher: one ordinary pass over question + CoT + answer
        teacher_mask = (teacher_ids != self.pad_id).long()
        width = int(teacher_mask.sum(1).max())
        teacher_ids, teacher_labels, teacher_mask = teacher_ids[:, :width], teacher_labels[:, :width], teacher_mask[:, :width]
        # right padding (encode pads inside the row): plain causal attention is exact on real tokens
        teacher = self.backbone.extend(self.backbone.wte(teacher_ids), positions_from_mask(teacher_mask),
                                       None if is_right_padded(teacher_mask) else teacher_mask.bool(), output_states=True)
        teacher_ce = scored_loss(self.backbone.head, teacher.hidden, teacher_labels)
        teacher_pos = teacher_mark[:, :width].argmax(1)  # [B]
        layers = [self.distill(pick(s, student_pos), pick(t, teacher_pos).detach())
                  for s, t in zip(student.final_layers, teacher.states)]
        distill = torch.stack(layers).mean()
        loss = cfg.alpha * student_ce + cfg.beta * teacher_ce + cfg.gamma * distill
        return StepOutput(loss=loss, forward_passes=student.passes + 1,
                          positions=student.positions + teacher_ids.numel(),
                          extras={"student_ce": float(student_ce.detach()), "teacher_ce": float(teacher_ce.detach()),
                                  "distill": float(distill.detach())})


class Codi(Method):
    name = "codi"
    paper = "shen2025codi"
    Config = Config
    knob = "latents"

    @property
    def pad_values(self) -> dict[str, int]:
        """How the harness's collate pads the teacher's fields."""
        return {"teacher_ids": self.tokenizer.pad_token_id, "teacher_labels": -100}

    def build_model(self, backbone: GPT) -> CodiModel:
        return CodiModel(backbone, self.config, latent_id=self.token_id(LATENT), bot_id=self.token_id(BOT),
                         pad_id=self.tokenizer.pad_token_id)

    def encode(self, example: Example, stage: int = 0) -> dict[str, list[int]]:
        question, steps, answer = example_parts(self.tokenizer, example)
        marker = len(self.tokenizer.encode(ANSWER_MARKER, add_special_tokens=False)) - 1  # in `answer`
        thoughts = [self.token_id(BOT)] + [self.token_id(LATENT)] * self.config.latents + [self.token_id(EOT)]
        student = question + thoughts + answer
        student_labels = [-100] * (len(question) + len(thoughts)) + answer
        student_mark = [0] * len(student)
        student_mark[len(question) + len(thoughts) + marker] = 1
        kept = steps if self.config.teacher_last_step else steps[:-1]
        cot = list(itertools.chain.from_iterable(kept))
        teacher = question + cot + answer
        teacher_labels = [-100] * len(question) + cot + answer
        teacher_mark = [0] * len(teacher)
        teacher_mark[len(question) + len(cot) + marker] = 1
        width = max(len(student), len(teacher))
        pad = self.tokenizer.pad_token_id

        def fill(row: list[int], value: int) -> list[int]:
            return row + [value] * (width - len(row))

        return {
            "input_ids": fill(student, pad), "labels": fill(student_labels, -100), "student_mark": fill(student_mark, 0),
            "teacher_ids": fill(teacher, pad), "teacher_labels": fill(teacher_labels, -100),
            "teacher_mark": fill(teacher_mark, 0),
        }

    def generate(self, model: CodiModel, questions: list[Example], budget: int | None = None) -> Generation:
        n = self.config.latents if budget is None else int(budget)
        if n < 0:
            raise ValueError(f"codi: budget must be >= 0 latent steps, got {n}")
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        prompts = [example_parts(self.tokenizer, q)[0] + [self.token_id(BOT)] for q in questions]
        tokens, n_gen, passes, positions = generate_with_thoughts(
            model.backbone, prompts, n, [self.token_id(EOT)], self.config.max_new_tokens, eos, pad,
            project=model.projection)
        return Generation(texts=decode_rows(self.tokenizer, tokens, n_gen, eos), generated_tokens=n_gen.cpu(),
                          forward_passes=passes.cpu(), latent_steps=n, positions=positions.cpu())
