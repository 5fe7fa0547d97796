"""A lean forward over the blocks of a transformers GPT-2, for the latent methods' loops.

Coconut and CODI run the backbone many times per example: one pass over the question, one per
continuous thought (a single column each), one over the rest. `LeanGPT2` runs those passes over
the very modules of a `GPT2LMHeadModel` (its LayerNorms, Conv1D projections and MLPs: nothing
is copied, save/load and the library's own forward are unchanged) with three differences:

1. Every query sees at least its own column. The training batch is shifted right so that the
   thoughts of all rows share columns (coconut.align_rows) and generation pads on the left, so
   the first columns of a row can be padding, and a padding query sees no valid key at all.
   What an attention kernel returns for such a fully masked row depends on the kernel: a fused
   kernel that keeps the row's log-sum-exp (-inf) and recomputes the weights from it in the
   backward pass gets exp(-inf - (-inf)) = NaN there. The loss never reads that row (its
   gradient is 0), but each weight gradient sums activation x gradient over all rows, and
   0 x NaN = NaN: one backward poisons every weight (tests/baselines/test_lean_gpt2.py shows it
   with such a kernel). Letting a padding query see itself keeps every row finite whatever the
   kernel; real queries never see padding keys, so nothing they compute changes.
2. The KV cache is plain tensors: a training pass concatenates its keys and values to those of
   the passes before it (autograd keeps each pass's view); generation writes into one buffer
   allocated up front.
3. Each block is a small module that `torch.compile` can compile on its own (`compile=True`,
   CUDA only): the blocks are alike, so one compiled graph serves them all, and the Python and
   kernel-launch cost of the single-column passes shrinks.

Dropout follows the model's config and training mode, as in the library's forward.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.attention import attention_kernels

KV = tuple[Tensor, Tensor]  # keys, values [B, H, K, hd]


def attention_mask(key_valid: Tensor, q_len: int) -> Tensor:
    """[B, 1, T, K] boolean mask (True = attend) for the last `q_len` of K columns.

    key_valid [B, K] (True = a real token). Query q (column K - T + q) sees the valid columns up
    to itself, and always itself, so no row of the mask is empty.
    """
    width = key_valid.shape[1]
    cols = torch.arange(width, device=key_valid.device)  # [K]
    rows = cols[width - q_len:]  # [T] the queries' own columns
    causal = cols[None, :] <= rows[:, None]  # [T, K]
    own = cols[None, :] == rows[:, None]  # [T, K]
    return ((causal[None] & key_valid[:, None, :]) | own[None])[:, None]


def attention_bias(key_valid: Tensor, q_len: int, dtype: torch.dtype) -> Tensor:
    """attention_mask as an additive bias (0 = attend, -inf = not) [B, 1, T, K], built once per
    pass rather than converted by SDPA in every layer. Its rows are stored 16 columns aligned (a
    view of a wider tensor), as the memory-efficient kernel wants them, so no layer copies it."""
    mask = attention_mask(key_valid, q_len)
    width = mask.shape[-1]
    bias = mask.new_zeros((*mask.shape[:-1], -(-width // 16) * 16), dtype=dtype)[..., :width]
    return bias.masked_fill_(~mask, float("-inf"))


class Block(nn.Module):
    """One GPT-2 block, run on its own parameters with an explicit KV cache."""

    def __init__(self, block: nn.Module, n_head: int, activation: str):
        super().__init__()
        self.block = block
        self.n_head = n_head
        # GPT-2's "gelu_new" is the tanh approximation of GELU: one fused kernel instead of the
        # eight elementwise ones of its formula (the same function up to rounding)
        self.tanh_gelu = activation in ("gelu_new", "gelu_pytorch_tanh")

    def mlp(self, h: Tensor) -> Tensor:
        mlp = self.block.mlp
        x = mlp.c_fc(h)
        x = F.gelu(x, approximate="tanh") if self.tanh_gelu else mlp.act(x)
        return mlp.dropout(mlp.c_proj(x))

    def qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x [B, T, D] -> q, k, v [B, H, T, hd]."""
        batch, width, dim = x.shape
        qkv = self.block.attn.c_attn(self.block.ln_1(x))  # [B, T, 3D]
        q, k, v = qkv.view(batch, width, 3, self.n_head, dim // self.n_head).permute(2, 0, 3, 1, 4)
        return q, k, v

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, causal: bool) -> Tensor:
        p = self.block.attn.attn_dropout.p if self.block.training else 0.0
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal)

    def finish(self, x: Tensor, y: Tensor) -> Tensor:
        """Residual stream after attention output y [B, H, T, hd] and the MLP."""
        batch, _, width, _ = y.shape
        y = y.transpose(1, 2).reshape(batch, width, -1)  # [B, T, D]
        x = x + self.block.attn.resid_dropout(self.block.attn.c_proj(y))
        return x + self.mlp(self.block.ln_2(x))

    def forward(self, x: Tensor, mask: Tensor | None, past_k: Tensor | None, past_v: Tensor | None
                ) -> tuple[Tensor, Tensor, Tensor]:
        """x [B, T, D]; mask [B, 1, T, P+T] (attention_bias) or None (plain causal, no cache); past [B, H, P, hd].
        Returns x [B, T, D] and the keys and values of all P+T columns."""
        q, k, v = self.qkv(x)
        if past_k is not None:
            k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
        y = self.attend(q, k, v, mask, causal=mask is None and past_k is None)
        return self.finish(x, y), k, v


@dataclass
class Buffer:
    """A generation KV cache: per layer keys and values [B, H, capacity, hd] (allocated at the
    first write, in the dtype the projections produce), of which `length` columns are filled."""

    capacity: int
    keys: list[Tensor]
    values: list[Tensor]
    length: int = 0

    def write(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store k, v [B, H, T, hd] at columns length .. length+T; the keys and values of
        columns 0 .. length+T (views of the buffer)."""
        if len(self.keys) <= layer:
            shape = (*k.shape[:2], self.capacity, k.shape[3])
            self.keys.append(k.new_empty(shape))
            self.values.append(v.new_empty(shape))
        end = self.length + k.shape[2]
        self.keys[layer][:, :, self.length:end] = k
        self.values[layer][:, :, self.length:end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]


@dataclass
class LeanOutput:
    hidden: Tensor  # [B, T, D] after the final LayerNorm
    cache: list[KV] | None  # per layer, keys and values of every column so far (training passes)
    hidden_states: tuple[Tensor, ...] | None  # the library's layout: the input of each block, then hidden


class LeanGPT2:
    """Passes over a GPT2LMHeadModel's blocks (see the module docstring). Not an nn.Module: it
    owns no parameters, so the model that holds it saves and loads exactly the backbone."""

    def __init__(self, model: nn.Module, compile: bool = False):
        config = model.config
        if getattr(config, "scale_attn_by_inverse_layer_idx", False) or getattr(config, "reorder_and_upcast_attn", False) \
                or not getattr(config, "scale_attn_weights", True) or getattr(config, "add_cross_attention", False):
            raise ValueError("LeanGPT2 supports the standard GPT-2 attention only (scaled by 1/sqrt(head dim), "
                             "no layer-index scaling, no cross-attention)")
        self.model = model
        self.transformer = model.transformer
        self.blocks = [Block(block, config.n_head, config.activation_function) for block in self.transformer.h]
        self.compile = compile
        self._compiled: list[nn.Module] | None = None

    def _runners(self, device: torch.device) -> list[nn.Module]:
        """The blocks, compiled on first use on CUDA when asked to (the CPU runs them eagerly)."""
        if not self.compile or device.type != "cuda":
            return self.blocks
        if self._compiled is None:
            # Sizes symbolic from the start (batch, columns and cache length change every step).
            # Without duck shaping, a size that happens to equal the head count or head width
            # is not tied to it (and then fixed to its value, forcing a recompile per shape).
            import torch.fx.experimental._config as fx_config

            fx_config.use_duck_shape = False
            self._compiled = [torch.compile(block, dynamic=True) for block in self.blocks]
        return self._compiled

    def embed(self, embeds: Tensor, positions: Tensor) -> Tensor:
        """Input embeddings [B, T, D] plus position embeddings, then the embedding dropout."""
        return self.transformer.drop(embeds + self.transformer.wpe(positions))

    def forward(self, embeds: Tensor, positions: Tensor, key_valid: Tensor | None, past: list[KV] | None = None,
                output_hidden_states: bool = False) -> LeanOutput:
        """One pass over T new columns (training: keeps the graph, concatenates the cache).

        embeds [B, T, D] input embeddings (tokens or fed-back states), positions [B, T],
        key_valid [B, P+T] real tokens among the cached and new columns, or None when all are real
        and there is no cache (plain causal attention: the flash kernel), past: the cache of P columns.
        """
        x = self.embed(embeds, positions)
        if key_valid is None and past is not None:
            raise ValueError("LeanGPT2.forward: a pass after cached columns needs key_valid")
        mask = None
        if key_valid is not None:  # in the dtype of the queries (the projections' under autocast)
            dtype = torch.get_autocast_dtype(x.device.type) if torch.is_autocast_enabled(x.device.type) else x.dtype
            mask = attention_bias(key_valid, x.shape[1], dtype)
        states = [x] if output_hidden_states else None
        cache = []
        runners = self._runners(x.device)
        with attention_kernels():
            for i, block in enumerate(runners):
                past_k, past_v = past[i] if past is not None else (None, None)
                x, k, v = block(x, mask, past_k, past_v)
                cache.append((k, v))
                if states is not None and i < len(runners) - 1:
                    states.append(x)
        hidden = self.transformer.ln_f(x)
        if states is not None:
            states.append(hidden)
        return LeanOutput(hidden, cache, tuple(states) if states is not None else None)

    # -- generation: a buffer written in place, no graph ---------------------------------------

    @torch.no_grad()
    def step(self, embeds: Tensor, positions: Tensor, key_valid: Tensor, buffer: Buffer) -> Tensor:
        """T new columns on top of the `buffer.length` cached ones; writes their keys and values
        into the buffer. key_valid [B, length+T]. Returns the hidden states [B, T, D]."""
        x = self.embed(embeds, positions)
        width = x.shape[1]
        end = buffer.length + width
        if end > buffer.capacity or key_valid.shape[1] != end:
            raise ValueError(f"LeanGPT2.step: {width} columns after {buffer.length} do not fit the buffer "
                             f"({buffer.capacity}) or the mask ({key_valid.shape[1]})")
        bias = None
        with attention_kernels():
            for i, block in enumerate(self.blocks):
                q, k, v = block.qkv(x)
                if bias is None:
                    bias = attention_bias(key_valid, width, q.dtype)
                keys, values = buffer.write(i, k, v)
                x = block.finish(x, block.attend(q, keys, values, bias, causal=False))
        buffer.length = end
        return self.transformer.ln_f(x)
