"""The text format every task and method shares (coconut's), the bottom floor of the package.

An example is a question, reasoning steps and an answer. As one training text:

    question "\\n" step_1 "\\n" ... step_k "\\n" "### " answer <eos>

The answer marker "###" opens the answer; `extract_answer` reads what a model wrote after the
last marker. Token-level methods replace the steps with special tokens (SPECIAL_TOKENS), which
every tokenizer of baselines/tokenizer.py adds. Nothing here imports torch or another module
of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANSWER_MARKER = "###"
PAD, EOS, BOT, EOT, LATENT, PAUSE = "<pad>", "<eos>", "<bot>", "<eot>", "<latent>", "<pause>"
SPECIAL_TOKENS = (PAD, EOS, BOT, EOT, LATENT, PAUSE)
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Example:
    question: str
    steps: tuple[str, ...]
    answer: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)


def question_text(example: Example) -> str:
    return example.question + "\n"


def steps_text(example: Example) -> str:
    return "".join(step + "\n" for step in example.steps)


def answer_text(example: Example) -> str:
    return f"{ANSWER_MARKER} {example.answer}"


def full_text(example: Example) -> str:
    """The whole example as one string (the word tokenizer's vocabulary is built from these)."""
    return question_text(example) + steps_text(example) + answer_text(example)


def extract_answer(text: str) -> str:
    """The answer is what follows the last answer marker, up to the end of that line."""
    if ANSWER_MARKER not in text:
        return ""
    return text.rsplit(ANSWER_MARKER, 1)[1].split("\n", 1)[0].strip()
