"""The word-level tokenizer round-trips text exactly; GPT-2 BPE loads offline; backbone presets,
GPT-2's initialisation from scratch and a local GPT-2 checkpoint mapped onto our GPT."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from baselines.backbone import SIZES, BackboneConfig, build_backbone, count_parameters
from baselines.methods.base import SPECIAL_TOKENS
from baselines.models.gpt import GPT, GPTConfig
from baselines.tokenizer import UNK, build_tokenizer, cache_encodings, load_gpt2_tokenizer, load_tokenizer, pieces

GPT2_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "gpt2-tokenizer"
TEXTS = [
    "Every shumpus is a rempus. Tom is a terpus.\nIs Tom a lempus or scrompus?",
    "5 6 3 2 * 7 4 3 4||5 5 5 6 1 + 0 0 6 4 9 0 ( 5 5 1 1 1 1 ) #### 5 5 6 0 8 2 0 1",
    "It grows .5 inches.  It cost $100, per year?\n<<4-2=2>> #### 300",
]


def test_pieces_keep_punctuation_newlines_and_marker():
    assert pieces("Tom is a lempus.\n### Tom") == ["Tom", " is", " a", " lempus", ".", "\n", "###", " Tom"]
    assert pieces("$100, x") == ["$", "1", "0", "0", ",", " x"]


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip_is_exact(text):
    tokenizer = build_tokenizer(TEXTS)
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == text


def test_special_tokens_and_determinism(tmp_path):
    tokenizer = build_tokenizer(TEXTS)
    assert tokenizer.convert_ids_to_tokens(list(range(len(SPECIAL_TOKENS) + 1))) == [UNK, *SPECIAL_TOKENS]
    assert tokenizer.pad_token == "<pad>" and tokenizer.eos_token == "<eos>"
    assert tokenizer.encode("Tom<pause><pause>", add_special_tokens=False)[-2:] == [tokenizer.convert_tokens_to_ids("<pause>")] * 2
    assert build_tokenizer(TEXTS).get_vocab() == tokenizer.get_vocab()
    assert tokenizer.encode("Tom is a zorblax", add_special_tokens=False)[-1] == tokenizer.unk_token_id
    tokenizer.save_pretrained(tmp_path)
    again = load_tokenizer(tmp_path)
    assert again.get_vocab() == tokenizer.get_vocab()
    assert again.decode(again.encode(TEXTS[2], add_special_tokens=False)) == TEXTS[2]


@pytest.mark.skipif(not GPT2_DIR.is_dir(), reason="GPT-2 tokenizer files not present")
def test_gpt2_tokenizer_offline(tmp_path):
    tokenizer = load_gpt2_tokenizer(GPT2_DIR)
    assert len(tokenizer) == 50257 + len(SPECIAL_TOKENS)
    # "Tom is a lempus." in GPT-2's encoding
    assert tokenizer.encode("Tom is a lempus.", add_special_tokens=False) == [13787, 318, 257, 443, 3149, 385, 13]
    assert tokenizer.decode(tokenizer.encode(TEXTS[0], add_special_tokens=False)) == TEXTS[0]
    tokenizer.save_pretrained(tmp_path)
    assert load_tokenizer(tmp_path).encode("x<latent>", add_special_tokens=False)[-1] == tokenizer.convert_tokens_to_ids("<latent>")


def test_gpt2_tokenizer_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab.json"):
        load_gpt2_tokenizer(tmp_path)


def test_backbone_presets():
    for size, (n_layer, n_embd, n_head) in SIZES.items():
        config = BackboneConfig(size)
        assert (config.n_layer, config.n_embd, config.n_head) == (n_layer, n_embd, n_head)
    torch.manual_seed(0)
    model = build_backbone(BackboneConfig("tiny", n_positions=64), vocab_size=40)
    assert isinstance(model, GPT)
    assert model.config == GPTConfig(vocab_size=40, n_positions=64, n_layer=2, n_embd=64, n_head=4)
    d = 64  # per layer 12 d^2 + 13 d (weights, biases, two norms); embeddings; final norm
    assert count_parameters(model) == 2 * (12 * d * d + 13 * d) + (40 + 64) * d + 2 * d
    logits = model(torch.randint(0, 40, (2, 5)))
    assert logits.shape == (2, 5, 40)
    with pytest.raises(ValueError, match="unknown model size"):
        BackboneConfig("huge")


def test_from_scratch_initialisation_is_gpt2s():
    """N(0, 0.02) weights, residual projections N(0, 0.02 / sqrt(2 n_layer)), zero biases,
    LayerNorms 1 and 0 (the gpt2 preset: enough numbers for the standard deviations)."""
    torch.manual_seed(0)
    model = build_backbone(BackboneConfig("gpt2", n_positions=128), vocab_size=1000)
    scaled = 0.02 / math.sqrt(2 * 12)
    for name, p in model.named_parameters():
        p = p.detach()
        if "ln" in name:
            assert torch.all(p == (1.0 if name.endswith("weight") else 0.0)), name
        elif name.endswith("bias"):
            assert torch.all(p == 0), name
        else:
            std = scaled if name.endswith("proj.weight") else 0.02
            assert abs(float(p.std()) - std) < 0.05 * std and abs(float(p.mean())) < 0.05 * std, name


def test_pretrained_gpt2_checkpoint_is_mapped_and_resized(tmp_path):
    """A local transformers GPT-2 folder: the same logits on our GPT, the embedding resized to the
    tokenizer (old rows kept)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    library = GPT2LMHeadModel(GPT2Config(vocab_size=30, n_positions=48, n_embd=32, n_layer=2, n_head=4,
                                         bos_token_id=None, eos_token_id=None)).eval()
    library.save_pretrained(tmp_path / "gpt2")
    ids = torch.randint(0, 30, (2, 7))
    same = build_backbone(BackboneConfig("tiny"), vocab_size=30, pretrained=str(tmp_path / "gpt2")).eval()
    assert same.config == GPTConfig(vocab_size=30, n_positions=48, n_layer=2, n_embd=32, n_head=4)
    with torch.no_grad():
        assert torch.allclose(same(ids), library(ids).logits, atol=1e-5)
    grown = build_backbone(BackboneConfig("tiny"), vocab_size=36, pretrained=str(tmp_path / "gpt2"))
    assert grown.wte.weight.shape == (36, 32) and torch.equal(grown.wte.weight[:30], same.wte.weight)
    with pytest.raises(ValueError, match="cannot load a pretrained model"):
        build_backbone(BackboneConfig("tiny"), vocab_size=30, pretrained=str(tmp_path / "missing"))


def test_cached_encodings_are_the_same_and_safe_to_modify():
    tokenizer = build_tokenizer(TEXTS)
    expected = tokenizer.encode(TEXTS[0], add_special_tokens=False)
    cached = cache_encodings(build_tokenizer(TEXTS))
    first = cached.encode(TEXTS[0], add_special_tokens=False)
    assert first == expected
    first.append(-1)  # a caller modifying its list does not change the next answer
    assert cached.encode(TEXTS[0], add_special_tokens=False) == expected
    assert cached.encode(TEXTS[1]) == tokenizer.encode(TEXTS[1])  # other calls pass through


def test_the_model_stack_needs_no_transformers_model():
    """Building, training and decoding a from-scratch backbone with every method file imported
    never imports transformers (only the tokenizer and a pretrained checkpoint use it)."""
    code = (
        "import sys, torch\n"
        "import baselines.generation, baselines.methods.engines.latent\n"
        "from baselines.methods import all_methods\n"
        "all_methods()\n"
        "from baselines.backbone import BackboneConfig, build_backbone\n"
        "model = build_backbone(BackboneConfig('tiny', n_positions=32), 20)\n"
        "ids = torch.randint(0, 20, (2, 5))\n"
        "model(ids).sum().backward()\n"
        "from baselines.generation import greedy_decode\n"
        "greedy_decode(model.eval(), model.wte(ids), torch.ones_like(ids), max_new_tokens=3, eos_id=1, pad_id=0)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'transformers'], 'transformers was imported'\n"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(repo), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
