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

The multi-pass latent methods (Coconut, CODI) run the model many times per example: one pass over
the question, one per continuous thought (a single column each), one over the rest. Two entry
points serve them (and the token-level methods, whose training is one such pass):
- `GPT.extend`: a causal training pass over new columns on top of the keys and values of the
  passes before it, kept as plain per-block tensors that each pass concatenates to (autograd
  keeps every pass's view); each block's pass can be compiled (`compile_blocks`, CUDA only: the
  blocks are alike, so one graph serves them all, and the cost of single-column passes shrinks);
- `GPT.step`: a generation pass that writes its keys and values into a `KVCache` allocated once.

Every query sees at least its own column (`attention_bias`). Batches are shifted right so that
the thoughts of all rows share columns, and generation pads on the left, so the first columns of
a row can be padding, whose queries would see no valid key at all. What a fused attention kernel
returns for such a fully masked row depends on the kernel: one that keeps the row's log-sum-exp
(-inf) and recomputes the weights from it in the backward pass gets exp(-inf - (-inf)) = NaN.
The loss never reads that row, but each weight gradient sums activation x gradient over all rows,
and 0 x NaN = NaN: one backward would poison every weight (tests/baselines/test_gpt_passes.py
shows it with such a kernel). Real queries never see padding keys, so nothing they compute changes.

Dropout is left out: runs are deterministic given the seed (the harness's models use none).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.attention import attention_kernels

Attention = Literal["causal", "bidirectional"]
KV = tuple[Tensor, Tensor]  # one block's keys and values [B, H, K, hd]


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
    column, so no row is fully masked (a fully masked row gives NaN in some fused kernels). The
    bias is built once per pass, not converted by SDPA in every block, and its rows are stored 16
    columns aligned (a view of a wider tensor), as the memory-efficient kernel wants them, so no
    block copies it."""
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
    allowed = allowed | (cols[None, :] == rows[:, None])[None]  # [B or 1, q, k]
    aligned = -(-k_len // 16) * 16
    bias = torch.zeros((*allowed.shape[:-1], aligned), dtype=dtype, device=device)[..., :k_len]
    return bias.masked_fill_(~allowed, float("-inf"))[:, None]


class SelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x [B, T, D] -> q, k, v [B, H, T, hd]."""
        batch, width, dim = x.shape
        q, k, v = self.qkv(x).view(batch, width, 3, self.n_head, dim // self.n_head).permute(2, 0, 3, 1, 4)
        return q, k, v

    def attend(self, q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, causal: bool) -> Tensor:
        """Queries q [B, H, T, hd] over keys and values [B, H, K, hd] -> [B, T, D] (projected)."""
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, is_causal=causal)  # [B, H, T, hd]
        batch, _, width, _ = y.shape
        return self.proj(y.transpose(1, 2).reshape(batch, width, -1))

    def forward(self, x: Tensor, bias: Tensor | None, attention: Attention, cache: KVCache | None,
                slot: int) -> Tensor:
        """x [B, T, D] -> [B, T, D]. With a cache, attends to the cached columns of `slot` too."""
        q, k, v = self.heads(x)
        if cache is not None:
            k, v = cache.write(slot, k, v)  # [B, H, P+T, hd]
        causal = bias is None and attention == "causal" and k.shape[2] == x.shape[1]
        return self.attend(q, k, v, bias, causal)


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

    def extend(self, x: Tensor, bias: Tensor | None, past_k: Tensor | None, past_v: Tensor | None
               ) -> tuple[Tensor, Tensor, Tensor]:
        """A causal pass over x [B, T, D] after P earlier columns (past [B, H, P, hd] or None).
        bias [B, 1, T, P+T] (attention_bias), or None for plain causal attention without a past.
        Returns x [B, T, D] and the keys and values of all P+T columns (concatenated, in the graph)."""
        q, k, v = self.attn.heads(self.ln_1(x))
        if past_k is not None:
            k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
        x = x + self.attn.attend(q, k, v, bias, causal=bias is None and past_k is None)
        return x + self.mlp(self.ln_2(x)), k, v


@dataclass
class PassOutput:
    hidden: Tensor  # [B, T, D] after the final LayerNorm
    cache: list[KV]  # per block, the keys and values of every column so far (this pass's included)
    states: tuple[Tensor, ...] | None  # on request: the input of each block, then `hidden`


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
        self._compile = False  # compile_blocks: Block.extend compiled on CUDA at first use
        self._compiled: list[Callable] | None = None

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

    def head(self, hidden: Tensor) -> Tensor:
        """The tied output head on hidden states after the final LayerNorm: [..., D] -> [..., V]."""
        return F.linear(hidden, self.wte.weight)

    def logits(self, h: Tensor) -> Tensor:
        """Final LayerNorm and the tied head: [B, T, D] -> [B, T, V]."""
        return self.head(self.ln_f(h))

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

    # -- the passes of the multi-pass methods (see the module docstring) ---------------------------

    def compile_blocks(self) -> None:
        """Run `extend` through each block's `Block.extend` compiled by torch.compile (CUDA only,
        compiled at first use; the CPU runs the blocks eagerly). The same function, faster."""
        self._compile = True

    def _extenders(self, device: torch.device) -> list[Callable]:
        if not self._compile or device.type != "cuda":
            return [block.extend for block in self.blocks]
        if self._compiled is None:
            # Sizes symbolic from the start (batch, columns and cache length change every step).
            # Without duck shaping, a size that happens to equal the head count or head width
            # is not tied to it (and then fixed to its value, forcing a recompile per shape).
            import torch.fx.experimental._config as fx_config

            fx_config.use_duck_shape = False
            self._compiled = [torch.compile(block.extend, dynamic=True) for block in self.blocks]
        return self._compiled

    def extend(self, inputs_embeds: Tensor, positions: Tensor, key_valid: Tensor | None,
               past: list[KV] | None = None, output_states: bool = False) -> PassOutput:
        """One causal pass over T new columns after the P columns of `past` (training: keeps the graph).

        inputs_embeds [B, T, D] (token embeddings or fed-back states), positions [B, T],
        key_valid [B, P+T] real columns among the earlier and new ones, or None when all are real
        and there is no past (plain causal attention: the flash kernel); past: `PassOutput.cache`
        of the pass before. Positions are not checked against the table here (that would wait
        for the GPU at every pass): callers keep them below n_positions.
        """
        if key_valid is None and past is not None:
            raise ValueError("GPT.extend: a pass after cached columns needs key_valid")
        x = inputs_embeds + self.wpe(positions)  # [B, T, D]
        width = x.shape[1]
        bias = None
        if key_valid is not None:
            before = past[0][0].shape[2] if past else 0
            bias = attention_bias(key_valid, width, before + width, "causal", _compute_dtype(x), x.device)
        states = [x] if output_states else None
        cache: list[KV] = []
        with attention_kernels():
            for i, extend in enumerate(self._extenders(x.device)):
                past_k, past_v = past[i] if past is not None else (None, None)
                x, k, v = extend(x, bias, past_k, past_v)
                cache.append((k, v))
                if states is not None and i < len(self.blocks) - 1:
                    states.append(x)
        hidden = self.ln_f(x)
        if states is not None:
            states.append(hidden)
        return PassOutput(hidden, cache, tuple(states) if states is not None else None)

    @torch.no_grad()
    def step(self, inputs_embeds: Tensor, positions: Tensor, key_valid: Tensor, cache: KVCache) -> Tensor:
        """Generation: T new columns after the cache's `length` columns, causal. Writes their keys
        and values into the cache (slot i = block i), advances it, and returns the hidden states
        [B, T, D] after the final LayerNorm. inputs_embeds [B, T, D], positions [B, T],
        key_valid [B, length+T]."""
        x = inputs_embeds + self.wpe(positions)  # [B, T, D]
        width = x.shape[1]
        if key_valid.shape[1] != cache.length + width:
            raise ValueError(f"GPT.step: key_valid covers {key_valid.shape[1]} columns, the cache holds "
                             f"{cache.length} and the pass adds {width}")
        bias = attention_bias(key_valid, width, cache.length + width, "causal", _compute_dtype(x), x.device)
        with attention_kernels():
            x = self.run_blocks(x, bias=bias, cache=cache)
        cache.advance(width)
        return self.ln_f(x)

    @classmethod
    def from_gpt2(cls, hf_model: nn.Module) -> "GPT":
        """Our GPT with the weights of a transformers GPT2LMHeadModel (standard GPT-2 attention)."""
        c = hf_model.config
        if getattr(c, "scale_attn_by_inverse_layer_idx", False) or getattr(c, "reorder_and_upcast_attn", False) \
                or not getattr(c, "scale_attn_weights", True) or getattr(c, "add_cross_attention", False):
            raise ValueError("GPT.from_gpt2 maps the standard GPT-2 attention only (scaled by 1/sqrt(head dim), "
                             "no layer-index scaling, no cross-attention)")
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
