"""Tokenizers: a word-level one built from the task's own texts (default), or GPT-2's BPE.

The word-level tokenizer (the `tokenizers` library's WordLevel model) splits text into
  - words (runs of letters), each with the single space before it when there is one
    (" lempus" and "lempus" are different tokens),
  - single digits (numbers are spelled digit by digit, so every number is covered),
  - single punctuation characters, "###" (the answer marker) as one token,
  - newlines and any other whitespace character as tokens of their own.
Because the space is part of the token, decoding is plain concatenation and gives back the
exact text (`decode(encode(t)) == t` for any text made of known pieces); nothing is lost for
the scorers. Unknown pieces map to `<unk>`.

The special tokens of baselines/format.py (SPECIAL_TOKENS: <pad> <eos> <bot> <eot> <latent>
<pause>) are added to every tokenizer, with `pad_token=<pad>` and `eos_token=<eos>`. Tokenizers
are saved next to a run's checkpoint with `save_pretrained` and read back with `load_tokenizer`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from baselines.format import EOS, PAD, SPECIAL_TOKENS

UNK = "<unk>"

# One piece per match; "isolated" keeps every match as its own pre-token and drops nothing,
# because the last alternative matches any single whitespace character left over.
PIECES = r"[ ]?###|\n|[ ]?[^\W\d_]+|[ ]?\d|[ ]?[^\s\w]|[ ]?_|\s"


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Split(Regex(PIECES), behavior="isolated")


def pieces(text: str) -> list[str]:
    """The pre-tokens of `text` (what the vocabulary is built from)."""
    return [piece for piece, _ in _pre_tokenizer().pre_tokenize_str(text)]


def _wrap(backend: Tokenizer, unk_token: str | None = UNK) -> PreTrainedTokenizerFast:
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token=unk_token,
        pad_token=PAD,
        eos_token=EOS,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": [t for t in SPECIAL_TOKENS if t not in (PAD, EOS)]})
    tokenizer.padding_side = "left"  # generation pads on the left (see generation.py)
    return tokenizer


def build_tokenizer(texts: Iterable[str], min_count: int = 1) -> PreTrainedTokenizerFast:
    """A word-level tokenizer whose vocabulary is every piece of `texts` (seen >= min_count).

    The pieces are counted by the `tokenizers` library's WordLevel trainer (in Rust, on all
    cores); ids are then assigned deterministically: the special tokens first (<unk>, then
    SPECIAL_TOKENS in order), then the pieces in sorted order, so the same texts always give
    the same ids.
    """
    specials = [UNK, *SPECIAL_TOKENS]
    counter = Tokenizer(models.WordLevel(unk_token=UNK))
    counter.pre_tokenizer = _pre_tokenizer()
    counter.train_from_iterator(texts, trainers.WordLevelTrainer(min_frequency=min_count, special_tokens=specials,
                                                                 show_progress=False))
    pieces_seen = sorted(set(counter.get_vocab()) - set(specials))
    vocab = {token: i for i, token in enumerate(specials + pieces_seen)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    backend.pre_tokenizer = _pre_tokenizer()
    backend.decoder = decoders.Fuse()
    return _wrap(backend)


def load_gpt2_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """GPT-2's byte-level BPE from a folder holding vocab.json and merges.txt, plus our specials.

    Built with the `tokenizers` library directly (byte-level pre-tokenizer and decoder, no
    prefix space), which behaves the same across transformers versions.
    """
    folder = Path(path)
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    for file in (vocab, merges):
        if not file.is_file():
            raise FileNotFoundError(f"GPT-2 tokenizer file missing: {file}")
    bpe = models.BPE.from_file(str(vocab), str(merges))
    backend = Tokenizer(bpe)
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return _wrap(backend, unk_token=None)
    return tokenizer


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """A tokenizer saved with `save_pretrained` (word-level or GPT-2)."""
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    tokenizer.padding_side = "left"
    return tokenizer


def cache_encodings(tokenizer: PreTrainedTokenizerFast, maxsize: int = 2**20) -> PreTrainedTokenizerFast:
    """Memoize `tokenizer.encode(text, add_special_tokens=False)` (what methods call on every
    training step) for up to `maxsize` distinct texts; other calls go through unchanged.

    Training revisits the same questions, steps and answers every epoch, and encoding a long
    question costs far more than looking it up; each call returns a fresh list, so a caller
    may modify it. Returns the same tokenizer object.
    """
    plain = tokenizer.encode

    @functools.lru_cache(maxsize=maxsize)
    def cached(text: str) -> tuple[int, ...]:
        return tuple(plain(text, add_special_tokens=False))

    def encode(text, *args, **kwargs):
        if isinstance(text, str) and not args and kwargs == {"add_special_tokens": False}:
            return list(cached(text))
        return plain(text, *args, **kwargs)

    tokenizer.encode = encode
    return tokenizer
