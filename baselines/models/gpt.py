"""Our GPT: one decoder that every family builds on, read top to bottom.

GPT-2 layout: token + learned position embeddings, pre-LayerNorm blocks (LayerNorm -> multi-head
self-attention -> residual, LayerNorm -> 4x MLP with tanh-GELU -> residual), a final LayerNorm and
an output head tied to the token embedding. Attention runs through PyTorch SDPA (flash or
memory-efficient kernels on the GPU under bf16 autocast).

The hooks the families need, all on the same blocks:
- `attention="bidirectional"`: every position sees every valid position (masked diffusion).
- `run_blocks(h, start, stop, ...)`: any range of blocks on any residual stream, so a model can
  apply a range several times (looped transformers, recurrent depth) with its own input
  injection between applications.
- `active` [B, T]: a per-position mask for one application; positions not active keep their
  state (halting: a position that has stopped no longer changes, but is still attended to).
- an explicit KV cache (`KVCache`): one slot per *application* of a block, so a looped model
  with k blocks applied L times caches k*L layers and generation with a cache equals a full pass.
- `GPT.from_gpt2(model)`: weights of a transformers GPT2LMHeadModel mapped onto ours (its Conv1D
  weights are stored transposed), for users with a local pretrained checkpoint.

Dropout is left out: runs are deterministic given the seed (the harness's models use none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Attention = Literal["causal", "bidirectional"]


@dataclass
class GPTConfig:
    vocab_size: int
    n_positions: int = 1024  # learned position embeddings
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def block_matmul_params(self) -> int:
        """Weights multiplied per position in one block: QKV 3d^2 + output d^2 + MLP 8d^2."""
        return 12 * self.n_embd**2


class KVCache:
    """Keys and values of every cached column: one slot per block application [B, H, capacity, hd],
    allocated at the first write in the dtype the projections produce. `length` columns are
    filled; a pass writes its columns into every slot it uses, then `advance(t)` moves on."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.keys: dict[int, Tensor] = {}
        self.values: dict[int, Tensor] = {}
        self.length = 0

    def write(self, slot: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store k, v [B, H, T, hd] at columns length .. length+T of `slot`; return the keys and
        values of columns 0 .. length+T (views)."""
        end = self.length + k.shape[2]
        if end > self.capacity:
            raise ValueError(f"KVCache: {k.shape[2]} columns after {self.length} exceed its capacity {self.capacity}")
        if slot not in self.keys:
            shape = (*k.shape[:2], self.capacity, k.shape[3])
            self.keys[slot], self.values[slot] = k.new_zeros(shape), v.new_zeros(shape)
        self.keys[slot][:, :, self.length:end] = k
        self.values[slot][:, :, self.length:end] = v
        return self.keys[slot][:, :, :end], self.values[slot][:, :, :end]

    def advance(self, width: int) -> None:
        self.length += width


def attention_bias(key_valid: Tensor | None, q_len: int, k_len: int, attention: Attention,
                   dtype: torch.dtype, device: torch.device) -> Tensor | None:
    """Additive bias [B or 1, 1, q_len, k_len] (0 = attend, -inf = not) for queries that are the
    last q_len of k_len columns; None when plain causal (no padding, no cache) suffices.

    key_valid [B, k_len] marks real columns (None = all real). Every query also sees its own
    column, so no row is fully masked (a fully masked row gives NaN in some fused kernels)."""
    if key_valid is None and attention == "causal" and q_len == k_len:
        return None
    if key_valid is None and attention == "bidirectional":
        return None
    cols = torch.arange(k_len, device=device)
    rows = cols[k_len - q_len:]
    allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=device)
    if attention == "causal":
        allowed = cols[None, :] <= rows[:, None]
    allowed = allowed[None]  # [1, q, k]
    if key_valid is not None:
        allowed = allowed & key_valid[:, None, :].bool()
    allowed = allowed | (cols[None, :] == rows[:, None])[None]
    bias = torch.zeros(allowed.shape, dtype=dtype, device=device).masked_fill_(~allowed, float("-inf"))
    return bias[:, None]


class SelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)

    def forward(self, x: Tensor, bias: Tensor | None, attention: Attention, cache: KVCache | None,
                slot: int) -> Tensor:
        """x [B, T, D] -> [B, T, D]. With a cache, attends to the cached columns of `slot` too."""
        batch, width, dim = x.shape
        q, k, v = self.qkv(x).view(batch, width, 3, self.n_head, dim // self.n_head).permute(2, 0, 3, 1, 4)
        if cache is not None:
            k, v = cache.write(slot, k, v)  # [B, H, P+T, hd]
        causal = bias is None and attention == "causal" and k.shape[2] == width
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, is_causal=causal)  # [B, H, T, hd]
        return self.proj(y.transpose(1, 2).reshape(batch, width, dim))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.attn = SelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, bias: Tensor | None = None, attention: Attention = "causal",
                cache: KVCache | None = None, slot: int = 0) -> Tensor:
        x = x + self.attn(self.ln_1(x), bias, attention, cache, slot)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2's scaled init of the residual projections
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    # -- pieces a family composes ----------------------------------------------------------------

    def embed(self, input_ids: Tensor | None = None, positions: Tensor | None = None,
              inputs_embeds: Tensor | None = None) -> Tensor:
        """Token (or given) embeddings plus position embeddings [B, T, D]; positions default to
        0..T-1 (pass them for left-padded rows or cached continuations)."""
        x = self.wte(input_ids) if inputs_embeds is None else inputs_embeds
        if positions is None:
            positions = torch.arange(x.shape[1], device=x.device)[None]
        if int(positions.max()) >= self.config.n_positions:
            raise ValueError(f"position {int(positions.max())} is past the model's {self.config.n_positions} positions")
        return x + self.wpe(positions)

    def bias(self, x: Tensor, key_valid: Tensor | None, attention: Attention, cache: KVCache | None) -> Tensor | None:
        """The attention bias for a pass of x's columns after the cache's columns (built once per pass)."""
        past = cache.length if cache is not None else 0
        return attention_bias(key_valid, x.shape[1], past + x.shape[1], attention, _compute_dtype(x), x.device)

    def run_blocks(self, h: Tensor, start: int = 0, stop: int | None = None, *, bias: Tensor | None = None,
                   attention: Attention = "causal", cache: KVCache | None = None, first_slot: int | None = None,
                   active: Tensor | None = None) -> Tensor:
        """Blocks start..stop-1 on the residual stream h [B, T, D].

        first_slot: the cache slot of block `start` (default `start`; a looped model gives each
        application its own slots). active [B, T] bool: positions not active keep their state."""
        stop = len(self.blocks) if stop is None else stop
        slot = start if first_slot is None else first_slot
        for i in range(start, stop):
            out = self.blocks[i](h, bias, attention, cache, slot + i - start)
            h = out if active is None else torch.where(active[..., None], out, h)
        return h

    def logits(self, h: Tensor) -> Tensor:
        """Final LayerNorm and the tied head: [B, T, D] -> [B, T, V]."""
        return F.linear(self.ln_f(h), self.wte.weight)

    # -- the plain model ---------------------------------------------------------------------------

    def forward(self, input_ids: Tensor | None = None, *, inputs_embeds: Tensor | None = None,
                positions: Tensor | None = None, key_valid: Tensor | None = None,
                attention: Attention = "causal", cache: KVCache | None = None) -> Tensor:
        """Logits [B, T, V] of one pass over T columns (after the cache's columns, which it extends).
        key_valid [B, P+T] marks real columns (None = all real)."""
        h = self.embed(input_ids, positions, inputs_embeds)
        h = self.run_blocks(h, bias=self.bias(h, key_valid, attention, cache), attention=attention, cache=cache)
        if cache is not None:
            cache.advance(h.shape[1])
        return self.logits(h)

    @classmethod
    def from_gpt2(cls, hf_model: nn.Module) -> "GPT":
        """Our GPT with the weights of a transformers GPT2LMHeadModel (standard GPT-2 attention)."""
        c = hf_model.config
        model = cls(GPTConfig(vocab_size=c.vocab_size, n_positions=c.n_positions, n_layer=c.n_layer,
                              n_embd=c.n_embd, n_head=c.n_head, layer_norm_eps=c.layer_norm_epsilon))
        source = hf_model.transformer
        with torch.no_grad():
            model.wte.weight.copy_(source.wte.weight)
            model.wpe.weight.copy_(source.wpe.weight)
            for ours, theirs in zip(model.blocks, source.h):
                for a, b in ((ours.ln_1, theirs.ln_1), (ours.ln_2, theirs.ln_2)):
                    a.weight.copy_(b.weight)
                    a.bias.copy_(b.bias)
                # transformers' Conv1D stores [in, out]; nn.Linear stores [out, in]
                for a, b in ((ours.attn.qkv, theirs.attn.c_attn), (ours.attn.proj, theirs.attn.c_proj),
                             (ours.mlp.fc, theirs.mlp.c_fc), (ours.mlp.proj, theirs.mlp.c_proj)):
                    a.weight.copy_(b.weight.t())
                    a.bias.copy_(b.bias)
            model.ln_f.weight.copy_(source.ln_f.weight)
            model.ln_f.bias.copy_(source.ln_f.bias)
        return model


def _compute_dtype(x: Tensor) -> torch.dtype:
    """The dtype attention runs in: the autocast dtype when autocast is on, else x's."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters (a tied embedding/head counts once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
