"""The word-level tokenizer round-trips text exactly; GPT-2 BPE loads offline; backbone presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from baselines.backbone import SIZES, BackboneConfig, build_backbone, count_parameters
from baselines.methods.base import SPECIAL_TOKENS
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
    model = build_backbone(BackboneConfig("tiny", n_positions=64), vocab_size=40, pad_id=1, eos_id=2)
    assert model.config.n_layer == 2 and model.config.n_embd == 64 and model.config.n_positions == 64
    assert model.config._attn_implementation == "sdpa"
    assert model.lm_head.weight is model.transformer.wte.weight  # tied
    d = 64  # per layer 12 d^2 + 13 d (weights, biases, two norms); embeddings; final norm
    assert count_parameters(model) == 2 * (12 * d * d + 13 * d) + (40 + 64) * d + 2 * d
    with pytest.raises(ValueError, match="unknown model size"):
        BackboneConfig("huge")


def test_cached_encodings_are_the_same_and_safe_to_modify():
    tokenizer = build_tokenizer(TEXTS)
    expected = tokenizer.encode(TEXTS[0], add_special_tokens=False)
    cached = cache_encodings(build_tokenizer(TEXTS))
    first = cached.encode(TEXTS[0], add_special_tokens=False)
    assert first == expected
    first.append(-1)  # a caller modifying its list does not change the next answer
    assert cached.encode(TEXTS[0], add_special_tokens=False) == expected
    assert cached.encode(TEXTS[1]) == tokenizer.encode(TEXTS[1])  # other calls pass through
