"""Transformer: our GPT (softmax attention, learned positions, KV cache) at sizes set by method options, the reference that linear-state recurrent models (gated_deltanet) are compared with at matched parameters.

Not a paper's method (no catalog id). The model is baselines/models/gpt.py built from the
backbone's sizes (vocabulary, positions, layers, width, heads), which `n_layer`, `n_embd` and
`n_head` override, so that its size can be matched to another family's model; the backbone's
weights are not used. Text format and loss are no_cot's; no compute knob. Generation is
batched greedy decoding with the explicit KV cache, which grows by one column per token.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from baselines.compute import ModelShape
from baselines.generation import positions_from_mask
from baselines.methods.engines.sequence import SequenceConfig, decode, model_sizes, prompts, training_work
from baselines.methods.engines.token import TokenLevelMethod, scored_loss
from baselines.methods.base import Generation, StepOutput
from baselines.models.gpt import GPT, GPTConfig, KVCache
from baselines.tasks.base import Example


@dataclass
class TransformerConfig(SequenceConfig):
    pass


class TransformerLM(nn.Module):
    """Our GPT trained with next-token loss on the labelled positions."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.model = GPT(config)
        self.shape = ModelShape.of(config)

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
        # right padding: causal attention never lets a real position see a padded one
        net = self.model
        h = net.run_blocks(net.embed(input_ids))
        loss = scored_loss(net.logits, h, labels)
        work = training_work(input_ids, labels, net.config.n_layer, "causal")
        return StepOutput(loss=loss, forward_passes=1, positions=input_ids.numel(), work=work)


class Transformer(TokenLevelMethod):
    name = "transformer"
    paper = None
    Config = TransformerConfig
    knob = None

    def build_model(self, backbone: nn.Module) -> TransformerLM:
        return TransformerLM(GPTConfig(**model_sizes(self.config, backbone)))

    @torch.no_grad()
    def generate(self, model: TransformerLM, questions: list[Example], budget: int | None = None) -> Generation:
        if budget is not None:
            raise ValueError("transformer has no compute knob; drop --knob")
        net = model.model
        prompt = prompts(self, questions, next(net.parameters()).device)
        width = prompt.ids.shape[1]
        cache = KVCache(capacity=width + self.config.max_new_tokens)
        mask = prompt.mask  # [B, P + generated]: real columns
        positions = positions_from_mask(mask)  # [B, P]

        def next_logits(x: Tensor) -> Tensor:
            nonlocal mask, positions
            if cache.length:  # one new column after the cache's
                mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
            logits = net(inputs_embeds=x, positions=positions, key_valid=mask, cache=cache)[:, -1]
            positions = positions[:, -1:] + 1
            return logits

        return decode(self, prompt, next_logits, net.wte, net.config.n_positions, "causal", net.config.n_layer)
