"""A masked-diffusion denoiser: our GPT with bidirectional attention and one extra token, [MASK].

The model reads a sequence in which some answer tokens are replaced by [MASK] (id `vocab_size`,
one extra row of the embedding table; the tied output head never predicts it) and predicts the
clean token at every answer position, seeing the whole sequence in both directions.

Training objective (MDLM, Sahoo et al. 2024, arXiv 2406.07524), in continuous time t in (0, 1]:
a schedule alpha(t) is the probability that a token is still clean at time t (alpha(0) = 1,
alpha(1) = 0). For each example, draw t, mask every answer token independently with probability
1 - alpha(t), and take the cross-entropy of the clean token at the masked positions, weighted by

    w(t) = -alpha'(t) / (1 - alpha(t))          linear alpha = 1 - t:  w = 1 / t

The loss per example is sum_masked w(t) * CE / S (S = the answer span's length), an upper bound
on the negative log-likelihood per token; the batch loss is the mean over examples. t is clamped
at `t_min` so that the weight stays finite.

The noise (t and the masked positions) is a hash of (the example's tokens, the training step,
the seed the model was built under), not a draw from a random stream: an example gets the same
noise whatever batch, process or shard it is in, so training under DDP follows the one-process
run exactly and a resumed run continues it (the step counter is a buffer, saved with the
weights). MDLM's low-discrepancy times (evenly spaced over a batch) are therefore not used.

MGDM token reweighting (Ye et al. 2024, arXiv 2410.14157, "Beyond Autoregression"), optional:
each token's CE is multiplied by  a * (1 - exp(-CE))^g  (a focal-loss factor: tokens the model
finds hard weigh more), on top of w(t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.compute import ModelShape, StepOutput, Work
from baselines.models.gpt import GPT, GPTConfig

SCHEDULES = ("linear", "cosine")
MASK32 = 0xFFFFFFFF


@dataclass
class DenoiserConfig:
    vocab_size: int  # the tokenizer's vocabulary; [MASK] is id vocab_size
    n_positions: int = 1024
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    schedule: str = "linear"  # alpha(t): "linear" 1 - t, or "cosine" cos(pi t / 2)
    t_min: float = 1e-3  # smallest training time (w(t) ~ 1/t)
    token_reweighting: bool = False  # MGDM: CE x a (1 - exp(-CE))^g
    reweight_a: float = 0.25
    reweight_g: float = 2.0

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"DenoiserConfig: unknown schedule {self.schedule!r}; expected one of {SCHEDULES}")
        if not 0 < self.t_min < 1:
            raise ValueError(f"DenoiserConfig: t_min must be in (0, 1), got {self.t_min}")

    @property
    def block_matmul_params(self) -> int:
        return 12 * self.n_embd**2


class Schedule:
    """alpha(t) (probability a token is clean at time t), the loss weight w(t), and the time at
    which a token gets masked in the forward process (its inverse CDF: reveal order at sampling)."""

    def __init__(self, kind: str):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}; expected one of {SCHEDULES}")
        self.kind = kind

    def alpha(self, t: Tensor) -> Tensor:
        if self.kind == "linear":
            return 1.0 - t
        return torch.cos(0.5 * math.pi * t)

    def weight(self, t: Tensor) -> Tensor:
        """w(t) = -alpha'(t) / (1 - alpha(t))."""
        if self.kind == "linear":
            return 1.0 / t
        half = 0.5 * math.pi * t
        return 0.5 * math.pi * torch.sin(half) / (1.0 - torch.cos(half))

    def mask_time(self, u: Tensor) -> Tensor:
        """The time m at which a token becomes masked, from u ~ U(0, 1): P(m <= t) = 1 - alpha(t)."""
        if self.kind == "linear":
            return u
        return torch.arccos(1.0 - u) * (2.0 / math.pi)


def hash32(x: Tensor) -> Tensor:
    """A 32-bit integer mix of int64 tensors (values kept below 2^32, so nothing overflows)."""
    x = x & MASK32
    x = (((x >> 16) ^ x) * 0x45D9F3B) & MASK32
    x = (((x >> 16) ^ x) * 0x45D9F3B) & MASK32
    return (x >> 16) ^ x


def row_keys(tokens: Tensor) -> Tensor:
    """[B] a 32-bit key of each row's tokens [B, T] (a polynomial hash mod 2^31 - 1)."""
    modulus = 2**31 - 1
    powers = torch.tensor([pow(131, i, modulus) for i in range(tokens.shape[1])], device=tokens.device)
    return hash32((tokens.long() * powers).sum(1) % modulus)


class Denoiser(nn.Module):
    def __init__(self, config: DenoiserConfig):
        super().__init__()
        self.config = config
        self.mask_id = config.vocab_size
        self.gpt = GPT(GPTConfig(vocab_size=config.vocab_size + 1, n_positions=config.n_positions,
                                 n_layer=config.n_layer, n_embd=config.n_embd, n_head=config.n_head))
        self.schedule = Schedule(config.schedule)
        self.shape = ModelShape(n_embd=config.n_embd, vocab_size=config.vocab_size,
                                block_matmul_params=config.block_matmul_params)
        # the noise's seed and step counter (see the module docstring)
        self.register_buffer("noise_seed", torch.tensor(torch.initial_seed() & MASK32))
        self.register_buffer("noise_step", torch.tensor(0))

    def logits(self, tokens: Tensor, key_valid: Tensor | None, span: slice | Tensor) -> Tensor:
        """Logits over the vocabulary (no [MASK]) at the `span` positions of tokens [B, T].

        key_valid [B, T] marks real columns (None = all real); positions count real columns only,
        so a left- or right-padded row gets the positions it has alone. span: a column slice
        (-> [B, S, V]) or a bool mask [B, T] (-> [K, V])."""
        positions = None if key_valid is None else (key_valid.long().cumsum(-1) - 1).clamp(min=0)
        h = self.gpt.embed(tokens, positions)  # [B, T, D]
        bias = self.gpt.bias(h, key_valid, "bidirectional", None)
        h = self.gpt.run_blocks(h, bias=bias, attention="bidirectional")
        return self.gpt.logits(h[:, span] if isinstance(span, slice) else h[span])[..., :-1]

    def noise(self, tokens: Tensor, step: int | Tensor) -> tuple[Tensor, Tensor]:
        """(t [B] in [t_min, 1], u [B, T] uniforms for the masks) of rows tokens [B, T] at `step`."""
        base = hash32(row_keys(tokens) + hash32(self.noise_seed * 1_000_003 + step))  # [B]
        t = hash32(base ^ 0x5BD1E995).double() / 2**32
        columns = torch.arange(1, tokens.shape[1] + 1, device=tokens.device) * 0x9E3779B1
        u = hash32(base[:, None] + columns[None, :]).double() / 2**32  # [B, T]
        return (self.config.t_min + (1.0 - self.config.t_min) * t).float(), u.float()

    def loss(self, clean: Tensor, span: Tensor, key_valid: Tensor | None, t: Tensor, masked: Tensor) -> Tensor:
        """The MDLM loss of a batch for given times t [B] and masked positions masked [B, T] (a
        subset of span [B, T]): sum of w(t) * CE over masked tokens / number of span tokens."""
        noisy = torch.where(masked, torch.full_like(clean, self.mask_id), clean)
        logits = self.logits(noisy, key_valid, span)  # [K, V], every span position
        ce = F.cross_entropy(logits.float(), clean[span], reduction="none")  # [K]
        if self.config.token_reweighting:
            ce = self.config.reweight_a * (1.0 - torch.exp(-ce)) ** self.config.reweight_g * ce
        weight = self.schedule.weight(t)[:, None].expand_as(span)[span]  # [K]
        return (weight * masked[span].float() * ce).sum() / span.sum()

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
        """input_ids [B, T] clean tokens (right-padded), labels [B, T] the span's tokens (-100
        elsewhere), attention_mask [B, T]."""
        batch, width = input_ids.shape
        span = labels != -100  # [B, T]
        key_valid = None if bool(attention_mask.all()) else attention_mask.bool()
        t, u = self.noise(input_ids * attention_mask, self.noise_step)  # [B], [B, T]; padding not hashed
        if self.training:
            self.noise_step += 1
        masked = (u < (1.0 - self.schedule.alpha(t))[:, None]) & span
        loss = self.loss(input_ids, span, key_valid, t, masked)
        work = Work.zeros(batch, input_ids.device).add_pass(self.config.n_layer, width, attention="bidirectional")
        work.logit_positions = span.sum(1).double()
        return StepOutput(loss=loss, forward_passes=1, positions=batch * width, work=work)
