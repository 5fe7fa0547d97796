"""Gated DeltaNet: a linear-state recurrent language model, read top to bottom.

Each layer carries, per head, a fixed-size state S [head_dim, head_dim] along the sequence and
updates it at every token with the gated delta rule (Yang, Kautz, Hatamizadeh, arXiv 2412.06464):

    S_t = alpha_t (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T        o_t = S_t^T (scale q_t)

k and q are L2-normalised, alpha_t = exp(g_t) in (0, 1] is a data-dependent decay (the gate;
alpha = 1 without it: plain DeltaNet), beta_t a data-dependent step size. The update is one
step of online gradient descent on ||S^T k_t - v_t||^2 with learning rate beta_t, after a
decay. With `negative_eigenvalues` beta_t lies in (0, 2) instead of (0, 1), so the transition
I - beta k k^T has an eigenvalue 1 - beta in (-1, 1): a reflection, which is what lets a
linear recurrence track parity and compose permutations (Grazzi et al., arXiv 2411.12537).

Three equivalent forms of the same recurrence, all on [B, T, H, K] tensors:
- `delta_rule_recurrent`: token by token (generation: O(1) state per token, no cache growth);
- `delta_rule_chunked`: the chunked parallel form in plain PyTorch (training; CPU and GPU),
  derived below; the tests check it equals the recurrence;
- `delta_rule_fla`: the Triton kernel of flash-linear-attention (`fla`) on the GPU, used when
  `kernel` is "auto" or "fla" and fla imports; `kernel_status()` says which one runs.

Padding: a position that is not valid gets beta = 0 and g = 0, so it leaves the state as it
was: a left-padded prompt gives each row the state it would have alone.

Block layout as in our GPT (pre-LayerNorm, residual, the same 4x MLP), with the attention
replaced by the gated delta rule and no position embeddings (the recurrence orders the
tokens, so the model runs at any length).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.models.gpt import MLP

KERNELS = ("auto", "fla", "torch")


@dataclass
class DeltaNetConfig:
    vocab_size: int
    n_positions: int = 1024  # longest sequence accepted (the model itself has no position table)
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    head_dim: int = 16  # key = value dimension per head; the state per layer is n_head x head_dim^2
    negative_eigenvalues: bool = True  # beta in (0, 2) instead of (0, 1)
    gate: bool = True  # data-dependent decay alpha (gated delta rule); False = DeltaNet
    chunk_size: int = 64  # chunk length of the parallel form (fla accepts 16, 32, 64)
    kernel: str = "auto"  # "auto": fla on CUDA when it imports, else "torch"; "fla" insists
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_embd", "n_head", "head_dim", "chunk_size", "n_positions"):
            if getattr(self, name) < 1:
                raise ValueError(f"DeltaNetConfig: {name}={getattr(self, name)} must be >= 1")
        if self.kernel not in KERNELS:
            raise ValueError(f"DeltaNetConfig: kernel={self.kernel!r}; expected one of {KERNELS}")

    @property
    def inner(self) -> int:
        return self.n_head * self.head_dim

    @property
    def state_size(self) -> int:
        """Recurrent state per layer (numbers): heads x key dim x value dim."""
        return self.n_head * self.head_dim * self.head_dim

    @property
    def block_matmul_params(self) -> int:
        """Weights multiplied per position in one block: q, k, v (3 d x inner), output
        (inner x d), beta and gate (d x heads each), MLP 8 d^2."""
        d = self.n_embd
        return 4 * d * self.inner + 2 * d * self.n_head + 8 * d * d


# -- the recurrence in its three forms --------------------------------------------------------------

def delta_rule_step(q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, scale: float,
                    state: Tensor) -> tuple[Tensor, Tensor]:
    """One token: q, k, v [B, H, K], g, beta [B, H], state [B, H, K, V] (fp32) -> o [B, H, V], state."""
    q, k, v = q.float() * scale, k.float(), v.float()
    state = state * g.float().exp()[..., None, None]  # decay
    w = beta.float()[..., None] * (v - torch.einsum("bhkv,bhk->bhv", state, k))  # [B, H, V]
    state = state + k[..., :, None] * w[..., None, :]  # rank-one delta update
    return torch.einsum("bhkv,bhk->bhv", state, q), state


def delta_rule_recurrent(q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, scale: float,
                         state: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Token by token. q, k [B, T, H, K], v [B, T, H, V], g, beta [B, T, H] -> o [B, T, H, V], state [B, H, K, V]."""
    batch, length, heads, dk = k.shape
    if state is None:
        state = k.new_zeros(batch, heads, dk, v.shape[-1], dtype=torch.float32)
    outputs = []
    for t in range(length):
        o, state = delta_rule_step(q[:, t], k[:, t], v[:, t], g[:, t], beta[:, t], scale, state)
        outputs.append(o)
    return torch.stack(outputs, dim=1).to(v.dtype), state


def delta_rule_chunked(q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, scale: float,
                       state: Tensor | None = None, chunk_size: int = 64) -> tuple[Tensor, Tensor]:
    """The chunked parallel form (same arguments and results as `delta_rule_recurrent`).

    Within a chunk of C tokens that starts from state S0, write the update as
    S_t = alpha_t S_{t-1} + k_t w_t^T with w_t = beta_t (v_t - alpha_t S_{t-1}^T k_t), and let
    gamma_t be the product of alpha over the chunk up to t. Unrolling,
        S_t = gamma_t S0 + sum_{s<=t} (gamma_t / gamma_s) k_s w_s^T,
    so the w's solve a unit lower-triangular system (I + A) W = diag(beta) (V - diag(gamma) K S0)
    with A[t, s] = beta_t (gamma_t / gamma_s) k_t.k_s for s < t. Solving it once for V and for
    diag(gamma) K gives W = U - Kc S0 for every chunk in parallel; then only the chunk-to-chunk
    state passing is sequential:
        O   = diag(gamma) Q S0 + (Q K^T * D * causal) W        D[t, s] = gamma_t / gamma_s
        S_C = gamma_C S0 + K^T diag(gamma_C / gamma) W
    Computed in fp32 (decays as exponentials of non-positive log-differences only).
    """
    batch, length, heads, dk = k.shape
    dv, dtype = v.shape[-1], v.dtype
    if state is None:
        state = k.new_zeros(batch, heads, dk, dv, dtype=torch.float32)
    pad = (-length) % chunk_size  # padded tokens at the end: beta = g = 0 leave the state unchanged
    # [B, T, H, X] -> [B, H, N, C, X] in fp32
    def chunks(x: Tensor) -> Tensor:
        x = F.pad(x.float(), (0, 0, 0, 0, 0, pad)) if x.dim() == 4 else F.pad(x.float(), (0, 0, 0, pad))
        x = x.transpose(1, 2)
        return x.reshape(batch, heads, -1, chunk_size, *x.shape[3:])

    q, k, v, g, beta = chunks(q) * scale, chunks(k), chunks(v), chunks(g), chunks(beta)
    n_chunks = q.shape[2]
    log_gamma = g.cumsum(-1)  # [B, H, N, C]
    ones = torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=k.device)
    causal, strict = ones.tril(), ones.tril(-1)
    diff = log_gamma[..., :, None] - log_gamma[..., None, :]  # [B, H, N, C, C]: log gamma_t / gamma_s
    decay = diff.masked_fill(~causal, -math.inf).exp()  # 0 above the diagonal
    a = (beta[..., :, None] * (k @ k.transpose(-1, -2)) * decay).masked_fill(~strict, 0.0)
    eye = torch.eye(chunk_size, dtype=a.dtype, device=a.device)
    rhs = beta[..., None] * torch.cat([v, log_gamma.exp()[..., None] * k], dim=-1)  # [B, H, N, C, V+K]
    solved = torch.linalg.solve_triangular(eye + a, rhs, upper=False, unitriangular=True)
    u, kc = solved[..., :dv], solved[..., dv:]  # [B, H, N, C, V], [B, H, N, C, K]
    scores = (q @ k.transpose(-1, -2)) * decay  # [B, H, N, C, C], causal by `decay`
    tail = (log_gamma[..., -1:] - log_gamma).exp()[..., None] * k  # k_s gamma_C / gamma_s  [B, H, N, C, K]
    outputs = []
    for n in range(n_chunks):
        w = u[:, :, n] - kc[:, :, n] @ state  # [B, H, C, V]
        outputs.append(log_gamma[:, :, n].exp()[..., None] * (q[:, :, n] @ state) + scores[:, :, n] @ w)
        state = log_gamma[:, :, n, -1].exp()[..., None, None] * state + tail[:, :, n].transpose(-1, -2) @ w
    o = torch.stack(outputs, dim=2).reshape(batch, heads, -1, dv)[:, :, :length]  # [B, H, T, V]
    return o.transpose(1, 2).to(dtype), state


_FLA_FAILED: list[str] = []  # why fla's kernel failed at run time in this process (then "auto" uses torch)


@lru_cache(maxsize=1)
def _fla() -> tuple[object | None, str]:
    """(fla's chunk_gated_delta_rule or None, a line saying which kernel runs and why)."""
    try:
        import fla
        from fla.ops.gated_delta_rule import chunk_gated_delta_rule
    except Exception as exc:  # missing, or broken against this torch / triton
        return None, f"torch (flash-linear-attention unavailable: {type(exc).__name__}: {exc})"[:300]
    return chunk_gated_delta_rule, f"fla {getattr(fla, '__version__', '?')}"


def kernel_status(device: torch.device | str, kernel: str = "auto") -> str:
    """Which form trains on `device` with `kernel`: "fla <version>" or "torch (...why...)"."""
    if kernel == "torch":
        return "torch (chosen)"
    if torch.device(device).type != "cuda":
        return "torch (fla needs CUDA)"
    if kernel == "auto" and _fla()[0] is not None and not _fla_checked(torch.device(device)):
        return f"torch (fla failed its check: {_FLA_FAILED[-1]})"[:300]
    if _FLA_FAILED and kernel == "auto":
        return f"torch (fla failed at run time: {_FLA_FAILED[0]})"[:300]
    return _fla()[1]


def delta_rule_fla(q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, scale: float,
                   state: Tensor | None = None, chunk_size: int = 64) -> tuple[Tensor, Tensor]:
    """fla's Triton kernel (same arguments and results as `delta_rule_chunked`; CUDA only)."""
    kernel = _fla()[0]
    if kernel is None:
        raise RuntimeError(f"kernel 'fla' asked for, but {_fla()[1]}")
    dtype = torch.bfloat16 if q.dtype == torch.bfloat16 else v.dtype
    o, state = kernel(q.to(dtype), k.to(dtype), v.to(dtype), g.float(), beta.to(dtype), scale=scale,
                      initial_state=state, output_final_state=True, chunk_size=chunk_size)
    return o.to(v.dtype), state.float()


@lru_cache(maxsize=None)
def _fla_checked(device: torch.device) -> bool:
    """Whether fla's kernel runs forward *and backward* on `device` and agrees with the plain form
    (checked once per device on a small random batch). Some fla releases refuse a backward pass on
    some Triton versions and GPUs only when it runs (after the forward succeeded), so "auto" checks
    both before it trains with the kernel; a failure is recorded and the plain form is used."""
    generator = torch.Generator(device="cpu").manual_seed(0)

    def inputs():
        shape = (2, 64, 2, 16)  # [B, T, H, K]
        q, k = (F.normalize(torch.randn(shape, generator=generator), dim=-1).to(device) for _ in range(2))
        v = torch.randn(shape, generator=generator).to(device)
        g = F.logsigmoid(torch.randn(shape[:3], generator=generator)).to(device)
        beta = torch.rand(shape[:3], generator=generator).to(device) * 2
        return [t.requires_grad_() for t in (q, k, v, g, beta)]

    try:
        fast, plain = inputs(), None
        generator.manual_seed(0)
        plain = inputs()
        o_fast, _ = delta_rule_fla(*fast, scale=0.25, chunk_size=16)
        o_plain, _ = delta_rule_chunked(*plain, scale=0.25, chunk_size=16)
        o_fast.float().square().sum().backward()
        o_plain.float().square().sum().backward()
        for a, b in zip([o_fast] + [t.grad for t in fast], [o_plain] + [t.grad for t in plain]):
            if not torch.allclose(a.float(), b.float(), rtol=2e-2, atol=2e-2):
                raise RuntimeError(f"fla's kernel disagrees with the plain form by {float((a - b).abs().max()):.3g}")
    except Exception as exc:  # missing backward, wrong results, or a kernel that does not build here
        _FLA_FAILED.append(f"{type(exc).__name__}: {exc}")
        warnings.warn(f"fla's kernel failed its check on {device} ({_FLA_FAILED[-1][:200]}); using the plain PyTorch form")
        return False
    return True


# -- the model ------------------------------------------------------------------------------------

class GatedDeltaMixer(nn.Module):
    """The sequence mixer of a block: projections -> gated delta rule -> per-head RMSNorm -> output."""

    def __init__(self, config: DeltaNetConfig):
        super().__init__()
        self.config = config
        d, inner, heads = config.n_embd, config.inner, config.n_head
        self.q = nn.Linear(d, inner, bias=False)
        self.k = nn.Linear(d, inner, bias=False)
        self.v = nn.Linear(d, inner, bias=False)
        self.beta = nn.Linear(d, heads)
        self.gate = nn.Linear(d, heads) if config.gate else None
        self.norm = nn.RMSNorm(config.head_dim, eps=config.layer_norm_eps)
        self.proj = nn.Linear(inner, d)
        self.scale = config.head_dim ** -0.5

    def inputs(self, x: Tensor, valid: Tensor | None) -> tuple[Tensor, ...]:
        """q, k, v [B, T, H, K] and g, beta [B, T, H] of x [B, T, D]; invalid positions get beta = g = 0."""
        batch, length, _ = x.shape
        heads, dk = self.config.n_head, self.config.head_dim
        q = F.normalize(self.q(x).view(batch, length, heads, dk), dim=-1)
        k = F.normalize(self.k(x).view(batch, length, heads, dk), dim=-1)
        v = self.v(x).view(batch, length, heads, dk)
        beta = self.beta(x).float().sigmoid() * (2.0 if self.config.negative_eigenvalues else 1.0)
        g = F.logsigmoid(self.gate(x).float()) if self.gate is not None else torch.zeros_like(beta)
        if valid is not None:
            beta, g = beta * valid[..., None], g * valid[..., None]
        return q, k, v, g, beta

    def forward(self, x: Tensor, valid: Tensor | None = None, state: Tensor | None = None,
                form: str = "chunked") -> tuple[Tensor, Tensor]:
        """x [B, T, D] -> y [B, T, D] and the state after the last position [B, H, K, V].
        form: "chunked" (fla or plain PyTorch, per config.kernel) or "recurrent"."""
        q, k, v, g, beta = self.inputs(x, valid)
        if form == "recurrent":
            o, state = delta_rule_recurrent(q, k, v, g, beta, self.scale, state)
        elif self.config.kernel == "fla" or (self.config.kernel == "auto" and x.is_cuda and _fla()[0] is not None
                                             and not _FLA_FAILED and _fla_checked(x.device)):
            try:
                o, state = delta_rule_fla(q, k, v, g, beta, self.scale, state, self.config.chunk_size)
            except Exception as exc:  # a kernel that imports but does not run here: "auto" falls back, said once
                if self.config.kernel == "fla":
                    raise
                _FLA_FAILED.append(f"{type(exc).__name__}: {exc}")
                warnings.warn(f"fla's kernel failed ({_FLA_FAILED[0][:200]}); using the plain PyTorch form")
                o, state = delta_rule_chunked(q, k, v, g, beta, self.scale, state, self.config.chunk_size)
        else:
            o, state = delta_rule_chunked(q, k, v, g, beta, self.scale, state, self.config.chunk_size)
        o = self.norm(o.to(x.dtype))  # [B, T, H, V]
        return self.proj(o.flatten(2)), state


class DeltaBlock(nn.Module):
    def __init__(self, config: DeltaNetConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.mixer = GatedDeltaMixer(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, valid: Tensor | None, state: Tensor | None, form: str) -> tuple[Tensor, Tensor]:
        y, state = self.mixer(self.ln_1(x), valid, state, form)
        x = x + y
        return x + self.mlp(self.ln_2(x)), state


class GatedDeltaNet(nn.Module):
    def __init__(self, config: DeltaNetConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.blocks = nn.ModuleList(DeltaBlock(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2's scaled init of the residual projections
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))
        if config.gate:  # start with slow decay (alpha ~ 0.98): long memory until the data says otherwise
            for block in self.blocks:
                nn.init.constant_(block.mixer.gate.bias, 4.0)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, input_ids: Tensor | None = None, *, inputs_embeds: Tensor | None = None,
                valid: Tensor | None = None, states: list[Tensor] | None = None,
                form: str = "chunked") -> tuple[Tensor, list[Tensor]]:
        """Hidden states [B, T, D] after the last block, and each layer's state [B, H, K, V]
        after the last position. `states` continues from earlier states (None = zeros);
        valid [B, T] marks real tokens (None = all)."""
        h = self.wte(input_ids) if inputs_embeds is None else inputs_embeds
        if h.shape[1] > self.config.n_positions:
            raise ValueError(f"a sequence of {h.shape[1]} tokens is longer than n_positions={self.config.n_positions}")
        valid_f = None if valid is None else valid.to(torch.float32)
        new_states = []
        for i, block in enumerate(self.blocks):
            h, state = block(h, valid_f, None if states is None else states[i], form)
            new_states.append(state)
        return h, new_states

    def logits(self, h: Tensor) -> Tensor:
        """Final LayerNorm and the tied head: [..., D] -> [..., V]."""
        return F.linear(self.ln_f(h), self.wte.weight)
