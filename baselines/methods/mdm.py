"""Masked diffusion (MDM): a bidirectional denoiser writes the whole answer at once and refines it over `steps` denoising steps, choosing the order of its decisions, with the question held fixed; trained with the MDLM objective (Sahoo et al. 2024), sampled ancestrally or confidence-first (LLaDA), with MGDM token reweighting (Ye et al. 2024) as an option.

Layout: `question "\\n" "###"` is the prompt, never masked; the answer span that follows has a
fixed length S = `max_new_tokens`: `" " answer <eos>` padded with <eos> to S tokens (as LLaDA
pads with EOS). Training masks the span (baselines/models/denoiser.py); generation starts from
an all-[MASK] span and reveals tokens over `steps` passes of the denoiser (the compute knob; each
pass reads the whole sequence with bidirectional attention, so the compute per example is
steps x (prompt + S) positions). Revealed tokens stay; every revealed token is the denoiser's
argmax at that position (greedy), and the text is the span up to its first <eos>.

Samplers (`sampler`):
- "confidence": at each step reveal the masked positions the denoiser is most confident about
  (max probability), as many as the schedule says for that step (LLaDA's low-confidence
  remasking: predict all, keep the most confident, remask the rest).
- "ancestral": MDLM's ancestral sampler: a position still masked at time t is revealed in the
  step to s < t with probability (alpha(s) - alpha(t)) / (1 - alpha(t)). Drawn once per example
  as a reveal time per position from a generator seeded by the prompt, so an answer does not
  depend on the batch it is in.
- "left_to_right": reveal positions in order, as many per step as the schedule says; with as
  many steps as span tokens it is left-to-right decoding by the bidirectional model.
Steps split time [1, 0] evenly; positions revealed by the end of step k: round(S alpha(t_k+1)).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import Tensor

from baselines.compute import Work
from baselines.format import question_text
from baselines.generation import left_pad
from baselines.methods.base import ANSWER_MARKER, Generation, Method, MethodConfig
from baselines.models.denoiser import Denoiser, DenoiserConfig, Schedule
from baselines.tasks.base import Example

SAMPLERS = ("confidence", "ancestral", "left_to_right")


@dataclass
class MDMConfig(MethodConfig):
    max_new_tokens: int = 32  # the answer span S (every position is denoised: sudoku needs 82)
    steps: int | None = None  # denoising steps at generation (None = one per span token, S)
    sampler: str = "confidence"  # "confidence" (LLaDA), "ancestral" (MDLM) or "left_to_right"
    schedule: str = "linear"  # alpha(t): "linear" or "cosine"
    t_min: float = 1e-3  # smallest training time
    token_reweighting: bool = False  # MGDM (Ye et al.): CE x a (1 - exp(-CE))^g
    reweight_a: float = 0.25
    reweight_g: float = 2.0

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"mdm: unknown sampler {self.sampler!r}; expected one of {SAMPLERS}")
        if self.max_new_tokens < 1:
            raise ValueError(f"mdm: max_new_tokens (the answer span) must be >= 1, got {self.max_new_tokens}")


def reveal_counts(schedule: Schedule, span: int, steps: int) -> Tensor:
    """[steps] positions revealed by the end of each step: round(S alpha(t_k+1)), t_k = 1 - k/steps,
    non-decreasing and ending at S."""
    t_next = 1.0 - torch.arange(1, steps + 1, dtype=torch.float64) / steps
    counts = torch.round(span * schedule.alpha(t_next)).long()
    counts[-1] = span
    return torch.cummax(counts, 0).values


def prompt_seed(prompt: list[int]) -> int:
    return int.from_bytes(hashlib.blake2b(repr(prompt).encode(), digest_size=8).digest(), "big") >> 1


@torch.no_grad()
def denoise(model: Denoiser, prompts: list[list[int]], pad_id: int, span: int, steps: int,
            sampler: str) -> tuple[Tensor, Tensor, Tensor]:
    """Denoise an all-[MASK] span of `span` tokens after each prompt in `steps` passes.

    Returns tokens [B, S], reveal_step [B, S] (the step at which each position was revealed) and
    the real prompt lengths [B]. All rows are denoised together: prompts are left-padded."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")
    if not 1 <= steps <= span:
        raise ValueError(f"mdm: steps={steps} must be between 1 and the span's {span} tokens (max_new_tokens)")
    device = next(model.parameters()).device
    prompt_ids, mask = left_pad(prompts, pad_id, device)  # [B, P]
    batch, width = prompt_ids.shape
    x = torch.cat([prompt_ids, torch.full((batch, span), model.mask_id, device=device)], dim=1)  # [B, P+S]
    key_valid = None if bool(mask.all()) else torch.cat([mask, mask.new_ones(batch, span)], dim=1).bool()
    counts = reveal_counts(model.schedule, span, steps).to(device)  # [K]
    if sampler == "ancestral":  # each position's reveal step, drawn from its mask time
        u = torch.stack([torch.rand(span, generator=torch.Generator().manual_seed(prompt_seed(p)),
                                    dtype=torch.float64) for p in prompts]).to(device)  # [B, S]
        planned = ((1.0 - model.schedule.mask_time(u)) * steps).long().clamp(max=steps - 1)
    elif sampler == "left_to_right":  # position i is revealed at the first step whose count exceeds i
        planned = torch.searchsorted(counts, torch.arange(span, device=device), right=True).expand(batch, span)
    reveal_step = torch.full((batch, span), -1, dtype=torch.long, device=device)
    for step in range(steps):
        logits = model.logits(x, key_valid, slice(width, None)).float()  # [B, S, V]
        confidence, prediction = logits.softmax(-1).max(-1)  # [B, S]
        masked = x[:, width:] == model.mask_id
        if sampler == "confidence":
            quota = int(counts[step]) - (int(counts[step - 1]) if step else 0)
            score = confidence.masked_fill(~masked, -1.0)
            chosen = torch.zeros_like(masked)
            if quota:
                chosen.scatter_(1, score.topk(quota, dim=1).indices, True)
        else:
            chosen = planned == step
        chosen &= masked
        x[:, width:] = torch.where(chosen, prediction, x[:, width:])
        reveal_step.masked_fill_(chosen, step)
    return x[:, width:], reveal_step, mask.sum(1)


class MDM(Method):
    """Masked diffusion on the answer span; `steps` denoising passes is the compute knob."""

    name = "mdm"
    paper = "sahoo2024simple"
    Config = MDMConfig
    knob = "steps"

    def ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def prompt(self, example: Example) -> list[int]:
        return self.ids(question_text(example)) + self.ids(ANSWER_MARKER)

    def build_model(self, backbone) -> Denoiser:
        c, m = backbone.config, self.config
        return Denoiser(DenoiserConfig(vocab_size=c.vocab_size, n_positions=c.n_positions, n_layer=c.n_layer,
                                       n_embd=c.n_embd, n_head=c.n_head, schedule=m.schedule, t_min=m.t_min,
                                       token_reweighting=m.token_reweighting, reweight_a=m.reweight_a,
                                       reweight_g=m.reweight_g))

    def encode(self, example: Example, stage: int) -> dict[str, list[int]]:
        span = self.config.max_new_tokens
        answer = self.ids(" " + example.answer) + [self.tokenizer.eos_token_id]
        if len(answer) > span:
            raise ValueError(f"mdm: the answer of {example.question[:40]!r}... has {len(answer)} tokens with <eos>, "
                             f"more than the span max_new_tokens={span}; raise it")
        answer += [self.tokenizer.eos_token_id] * (span - len(answer))
        prompt = self.prompt(example)
        return {"input_ids": prompt + answer, "labels": [-100] * len(prompt) + answer}

    def steps_for(self, budget: int | None) -> int:
        steps = budget if budget is not None else self.config.steps
        return self.config.max_new_tokens if steps is None else int(steps)

    def generate(self, model: Denoiser, questions: list[Example], budget: int | None = None) -> Generation:
        span, steps = self.config.max_new_tokens, self.steps_for(budget)
        eos = self.tokenizer.eos_token_id
        tokens, _, prompt_len = denoise(model, [self.prompt(q) for q in questions], self.tokenizer.pad_token_id,
                                        span, steps, self.config.sampler)
        texts = []
        for row in tokens.tolist():
            row = row[:row.index(eos)] if eos in row else row
            texts.append(ANSWER_MARKER + self.tokenizer.decode(row, skip_special_tokens=False))
        batch = len(questions)
        work = Work.zeros(batch).add_pass(model.config.n_layer * steps, (prompt_len + span).cpu(),
                                          attention="bidirectional")
        work.logit_positions += steps * span
        work.steps += steps
        return Generation(texts=texts, generated_tokens=torch.full((batch,), span),
                          forward_passes=torch.full((batch,), steps), latent_steps=steps,
                          positions=(steps * (prompt_len + span)).cpu(), work=work)
