"""The backbone every method wraps: our GPT (baselines/models/gpt.py) at one of the size presets.

GPT-2 layout: learned absolute position embeddings, pre-LayerNorm blocks (LayerNorm -> causal
self-attention -> residual, LayerNorm -> 4x MLP with tanh-GELU -> residual), a final LayerNorm,
and an output head tied to the token embedding. Attention runs through PyTorch SDPA.

By default the model is built from scratch and initialised as GPT-2 is (weights N(0, 0.02), the
residual projections N(0, 0.02 / sqrt(2 n_layer)), zero biases, LayerNorms 1 and 0).
`pretrained` (a local folder holding a transformers GPT-2 checkpoint) loads existing GPT-2
weights instead: transformers reads the folder, the embedding is resized to the tokenizer, and
`GPT.from_gpt2` maps the weights onto our model (transformers is imported only then). Dropout is
0 everywhere: runs are deterministic given the seed, and the short budgets here do not need it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from baselines.models.gpt import GPT, GPTConfig, count_parameters

__all__ = ["SIZES", "BackboneConfig", "build_backbone", "count_parameters", "load_gpt2"]

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

    def gpt_config(self, vocab_size: int) -> GPTConfig:
        return GPTConfig(vocab_size=vocab_size, n_positions=self.n_positions, n_layer=self.n_layer,
                         n_embd=self.n_embd, n_head=self.n_head)


def load_gpt2(path: str, vocab_size: int) -> GPT:
    """Our GPT with the weights of the transformers GPT-2 checkpoint in `path` (a local folder),
    its embedding resized to `vocab_size` (new rows initialised by transformers)."""
    from transformers import GPT2LMHeadModel

    try:
        source = GPT2LMHeadModel.from_pretrained(path)
    except OSError as exc:
        raise ValueError(f"cannot load a pretrained model from {path!r}: {exc}") from exc
    if source.get_input_embeddings().num_embeddings != vocab_size:
        source.resize_token_embeddings(vocab_size)
    return GPT.from_gpt2(source.float())


def build_backbone(config: BackboneConfig, vocab_size: int, pretrained: str | None = None,
                   pad_id: int | None = None, eos_id: int | None = None) -> GPT:
    """Our GPT: from scratch at `config.size` (default) or from `pretrained`, with `vocab_size`
    token embeddings. Returned on the CPU in fp32; the harness moves it and autocasts.

    pad_id and eos_id are accepted for callers written for the transformers backbone, whose
    config stored them; the model does not use them (the methods take both from the tokenizer).
    """
    if pretrained is not None:
        return load_gpt2(pretrained, vocab_size)
    return GPT(config.gpt_config(vocab_size))
