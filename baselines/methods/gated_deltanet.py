"""Gated DeltaNet: a linear-state recurrent model (horizontal recurrence) that carries a fixed-size state per layer along the sequence and updates it at every token with the gated delta rule, negative eigenvalues allowed; trained with the chunked parallel form (flash-linear-attention's kernel on the GPU when installed), generating with the O(1) recurrent step.

The model (baselines/models/deltanet.py) is built from the backbone's sizes (vocabulary,
layers, width, heads), which `n_layer`, `n_embd`, `n_head` override; the backbone's weights are
not used. The state size is a setting: heads x head_dim^2 numbers per layer (`head_dim`, 0 =
n_embd / n_head). Text format and loss are no_cot's: the model reads the question and writes
the answer at once; no compute knob. It reports its compute through the compute contract:
block projections per position, and one recurrent state update per (position, layer), costed
4 x state_size FLOPs; generation memory is the states, constant in the sequence length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from baselines.compute import ModelShape
from baselines.methods.engines.sequence import SequenceConfig, decode, model_sizes, prompts, training_work
from baselines.methods.engines.token import TokenLevelMethod, scored_loss
from baselines.methods.base import Generation, StepOutput
from baselines.models.deltanet import DeltaNetConfig, GatedDeltaNet, kernel_status
from baselines.tasks.base import Example


@dataclass
class GatedDeltaNetConfig(SequenceConfig):
    head_dim: int = 0  # key = value dimension per head (0 = n_embd / n_head); state = n_head x head_dim^2
    negative_eigenvalues: bool = True  # beta in (0, 2): reflections, needed for parity and permutations
    gate: bool = True  # the data-dependent decay (False: DeltaNet)
    chunk_size: int = 64
    kernel: str = "auto"  # "auto" (fla on CUDA when it imports), "fla" or "torch"


class DeltaNetLM(nn.Module):
    """GatedDeltaNet trained with next-token loss on the labelled positions."""

    def __init__(self, config: DeltaNetConfig):
        super().__init__()
        self.model = GatedDeltaNet(config)
        self.shape = ModelShape.of(config)

    def forward(self, input_ids: Tensor, labels: Tensor, attention_mask: Tensor, **_) -> StepOutput:
        # right padding: a padded position comes after every real one, so it changes no real output
        hidden, _ = self.model(input_ids)
        loss = scored_loss(self.model.logits, hidden, labels)
        work = training_work(input_ids, labels, self.model.config.n_layer, "recurrent")
        return StepOutput(loss=loss, forward_passes=1, positions=input_ids.numel(), work=work)


class GatedDeltaNetMethod(TokenLevelMethod):
    name = "gated_deltanet"
    paper = "yang2024gated"
    Config = GatedDeltaNetConfig
    knob = None

    def model_config(self, backbone: nn.Module) -> DeltaNetConfig:
        c = self.config
        sizes = model_sizes(c, backbone)
        if sizes["n_embd"] % sizes["n_head"] and not c.head_dim:
            raise ValueError(f"--method-option n_head={sizes['n_head']} does not divide n_embd={sizes['n_embd']}; "
                             "set head_dim")
        return DeltaNetConfig(**sizes, head_dim=c.head_dim or sizes["n_embd"] // sizes["n_head"],
                              negative_eigenvalues=bool(c.negative_eigenvalues), gate=bool(c.gate),
                              chunk_size=c.chunk_size, kernel=c.kernel)

    def build_model(self, backbone: nn.Module) -> DeltaNetLM:
        return DeltaNetLM(self.model_config(backbone))

    def kernel(self, model: DeltaNetLM) -> str:
        """Which form trains this model where it is: "fla <version>" or "torch (...)"."""
        return kernel_status(next(model.parameters()).device, model.model.config.kernel)

    @torch.no_grad()
    def generate(self, model: DeltaNetLM, questions: list[Example], budget: int | None = None) -> Generation:
        """Prefill the left-padded prompts with the chunked form (padding leaves the state as it
        was), then one recurrent step per token: the states are all that is carried."""
        if budget is not None:
            raise ValueError("gated_deltanet has no compute knob; drop --knob")
        net = model.model
        prompt = prompts(self, questions, next(net.parameters()).device)
        states: list[Tensor] | None = None

        def next_logits(x: Tensor) -> Tensor:
            nonlocal states
            if states is None:  # the prompt
                h, states = net(inputs_embeds=x, valid=prompt.mask)
            else:  # one new token [B, 1, D]
                h, states = net(inputs_embeds=x, states=states, form="recurrent")
            return net.logits(h[:, -1])

        return decode(self, prompt, next_logits, net.wte, net.config.n_positions, "recurrent", net.config.n_layer)
