"""The backbone every method wraps: a GPT-2-style causal language model from transformers.

GPT-2 style means: learned absolute position embeddings, pre-LayerNorm blocks (LayerNorm ->
causal self-attention -> residual, LayerNorm -> 4x MLP with GELU -> residual), a final
LayerNorm, and an output head tied to the token embedding. We use `transformers.GPT2LMHeadModel`
as is, so save/load, KV caches and `inputs_embeds` (which latent methods feed their continuous
thoughts through) come from the library. Attention runs through PyTorch SDPA.

By default the model is built from scratch with one of the size presets below; `pretrained`
(a local folder or a hub id) loads existing GPT-2 weights instead and resizes the embedding to
the tokenizer. Dropout is 0 everywhere: runs are deterministic given the seed, and the short
budgets here do not need it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from transformers import GPT2Config, GPT2LMHeadModel

# name -> (n_layer, n_embd, n_head)
SIZES: dict[str, tuple[int, int, int]] = {
    "tiny": (2, 64, 4),  # tests and the CPU smoke suite
    "small": (6, 384, 6),  # quick GPU runs
    "gpt2": (12, 768, 12),  # GPT-2 124M, the size Coconut, iCoT and CODI use
}


@dataclass
class BackboneConfig:
    size: str = "tiny"
    n_positions: int = 1024  # longest sequence (question + steps/latents + answer)

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"unknown model size {self.size!r}; expected one of {sorted(SIZES)}")

    @property
    def n_layer(self) -> int:
        return SIZES[self.size][0]

    @property
    def n_embd(self) -> int:
        return SIZES[self.size][1]

    @property
    def n_head(self) -> int:
        return SIZES[self.size][2]

    def to_dict(self) -> dict:
        return {**asdict(self), "n_layer": self.n_layer, "n_embd": self.n_embd, "n_head": self.n_head}


def gpt2_config(config: BackboneConfig, vocab_size: int, pad_id: int | None = None,
                eos_id: int | None = None) -> GPT2Config:
    """The transformers config for a from-scratch backbone of `config.size`."""
    return GPT2Config(
        vocab_size=vocab_size,
        n_positions=config.n_positions,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        tie_word_embeddings=True,
    )


def build_backbone(config: BackboneConfig, vocab_size: int, pretrained: str | None = None,
                   pad_id: int | None = None, eos_id: int | None = None) -> GPT2LMHeadModel:
    """A GPT2LMHeadModel: from scratch (default) or from `pretrained`, resized to `vocab_size`.

    `pretrained` is a local folder or a hub id (the hub needs the network; tests run offline).
    The model is returned on the CPU in fp32; the harness moves it and autocasts.
    """
    if pretrained is None:
        model = GPT2LMHeadModel(gpt2_config(config, vocab_size, pad_id, eos_id))
    else:
        try:
            model = GPT2LMHeadModel.from_pretrained(pretrained, attn_implementation="sdpa")
        except OSError as exc:
            raise ValueError(f"cannot load a pretrained model from {pretrained!r}: {exc}") from exc
        if model.get_input_embeddings().num_embeddings != vocab_size:
            model.resize_token_embeddings(vocab_size)
        model.config.pad_token_id = pad_id
        model.config.eos_token_id = eos_id
    model.config._attn_implementation = "sdpa"
    return model


def count_parameters(model) -> int:
    """Distinct parameters (a tied embedding/head counts once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
