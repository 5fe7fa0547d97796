"""What every method computes on a tiny, fully specified setting: the reference that proves a
refactoring keeps each method's behaviour (tests/baselines/test_method_parity.py).

For each registered method of the reference list: a word tokenizer built from 8 multiplication
examples, a 2-layer GPT-2 backbone whose every weight is a fixed function of its name (not of
the random generator, so another model stack that maps GPT-2 weights loads the same ones: the
reference was recorded on transformers' GPT2LMHeadModel, the current code maps them onto our GPT),
a batch encoded at the first and at the last curriculum stage, the training loss of each (fp32),
five AdamW steps at the last stage, and greedy generation on 4 test questions after them (texts,
generated tokens, passes, positions). Run as a script it prints the JSON that
fixtures/method_parity.json holds:

    python -m tests.baselines.method_parity > tests/baselines/fixtures/method_parity.json
"""

from __future__ import annotations

import hashlib
import json
import random
import sys

import torch

try:  # the package layout changed: find collate and full_text wherever this checkout has them
    from baselines.batching import collate
    from baselines.format import full_text
except ImportError:  # pragma: no cover - the layout the reference was recorded with
    from baselines.data import collate, full_text
from baselines.backbone import BackboneConfig, build_backbone
from baselines.methods import all_methods
from baselines.tasks.multiplication import Multiplication
from baselines.tokenizer import build_tokenizer

REFERENCE_METHODS = ("coconut", "coconut_no_curriculum", "coconut_no_thought", "coconut_pause_as_thought", "codi",
                     "cot", "icot", "no_cot", "pause")
STEPS = 5


def named_weight(name: str, shape: torch.Size) -> torch.Tensor:
    """A weight that depends on its name and shape only: N(0, 0.02) from a generator seeded by the
    name's hash; LayerNorm scales 1 + that, biases that / 10."""
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % (2**63)
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 0.02
    if name.endswith(".bias") or name.endswith("_bias"):
        noise = noise / 10
    elif ".ln_" in name and name.endswith(".weight"):
        noise = 1 + noise
    return noise.float()


def setting():
    task = Multiplication(digits=2)
    train, test = task.generate("train", 8, seed=0), task.generate("test", 4, seed=0)
    tokenizer = build_tokenizer(full_text(ex) for ex in train + test)
    return train, test, tokenizer


def backbone_for(tokenizer):
    """The backbone of the setting: a 2-layer GPT-2 in transformers' layout (the names and shapes
    the weights are a function of, as when the reference was recorded) given the named weights,
    then mapped onto our GPT, the model build_backbone gives for the same setting."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from baselines.models.gpt import GPT

    config = BackboneConfig("tiny", n_positions=128)
    library = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=config.n_positions, n_embd=config.n_embd,
                                         n_layer=config.n_layer, n_head=config.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
                                         attn_pdrop=0.0, tie_word_embeddings=True,
                                         bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                                         pad_token_id=tokenizer.pad_token_id))
    state = library.state_dict()
    library.load_state_dict({k: named_weight(k, v.shape) if v.is_floating_point() else v for k, v in state.items()})
    # a method's own modules (CODI's projection) draw their initial weights from the random
    # generator right after the backbone's initialisation, as when the reference was recorded:
    # the mapping draws on a fork of the generator
    with torch.random.fork_rng():
        backbone = GPT.from_gpt2(library)
        assert backbone.config == build_backbone(config, len(tokenizer)).config
    return backbone


def measure(name: str) -> dict:
    train, test, tokenizer = setting()
    cls = all_methods()[name]
    method = cls(cls.Config(max_new_tokens=10), tokenizer)
    model = method.build_model(backbone_for(tokenizer))
    random.seed(0)
    torch.manual_seed(0)
    last = method.stage_at(99, 100)
    out: dict = {"losses": {}}
    model.train()
    for stage in sorted({0, last}):
        batch = collate([method.encode(ex, stage) for ex in train], tokenizer.pad_token_id, method.pad_values)
        with torch.no_grad():
            step = model(**batch)
        out["losses"][str(stage)] = float(step.loss)
        out.setdefault("passes", {})[str(stage)] = step.forward_passes
        out.setdefault("positions", {})[str(stage)] = step.positions
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    batch = collate([method.encode(ex, last) for ex in train], tokenizer.pad_token_id, method.pad_values)
    curve = []
    for _ in range(STEPS):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        curve.append(float(loss.detach()))
    out["train_curve"] = curve
    model.eval()
    gen = method.generate(model, test)
    out["generation"] = {"texts": gen.texts, "generated_tokens": gen.generated_tokens.tolist(),
                         "forward_passes": gen.forward_passes.tolist(), "positions": gen.positions.tolist(),
                         "latent_steps": gen.latent_steps}
    return out


def main() -> int:
    torch.set_num_threads(1)
    json.dump({name: measure(name) for name in REFERENCE_METHODS}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
