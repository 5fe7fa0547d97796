"""The three splits of a run and where they came from.

Training examples are generated with the run's seed (or read from an official training file);
validation and test examples are the official files when the data directory holds them, else
generated with `eval_seed`, the same for every training seed, so that seeds are compared on the
same questions. Each split's provenance (generated: task version and seed; official: the file
under the data directory and its sha256) is recorded in every result. The word vocabulary is
built from the training and validation texts only (`vocabulary_texts`): test words the model
never saw map to <unk>, and the share of such tokens is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.format import Example, full_text
from baselines.tasks.base import Task

GENERATED_EVAL_N = 500  # validation / test examples generated when a task has no official split


@dataclass
class Splits:
    train: list[Example]
    valid: list[Example]
    test: list[Example]
    provenance: dict[str, dict]  # split -> baselines.results.DataSource fields

    def vocabulary_texts(self) -> list[str]:
        """The texts the word vocabulary is built from: training and validation, never test."""
        return [full_text(ex) for ex in self.train + self.valid]


def _size(task: Task, split: str, n: int | None) -> int | None:
    """`n`, or for an unspecified size: the whole official split, or GENERATED_EVAL_N generated examples."""
    if n is not None or task.load(split) is not None:
        return n
    return GENERATED_EVAL_N


def load_splits(task: Task, train_n: int | None, valid_n: int | None, test_n: int | None, seed: int,
                eval_seed: int) -> Splits:
    """The examples of the three splits and their provenance."""
    sizes = {"train": train_n, "valid": _size(task, "valid", valid_n), "test": _size(task, "test", test_n)}
    seeds = {"train": seed, "valid": eval_seed, "test": eval_seed}
    examples = {split: task.examples(split, sizes[split], seeds[split]) for split in sizes}
    for split, rows in examples.items():
        if not rows:
            raise ValueError(f"task {task.name}: the {split} split is empty")
    provenance = {split: task.provenance(split, sizes[split], seeds[split]) for split in sizes}
    for split, rows in examples.items():
        provenance[split]["examples"] = len(rows)
    return Splits(examples["train"], examples["valid"], examples["test"], provenance)


def unknown_token_fraction(tokenizer, examples: list[Example]) -> float | None:
    """The share of the tokens of `examples` that are <unk> (None for a tokenizer without one)."""
    unk = tokenizer.unk_token_id
    if unk is None:
        return None
    ids = [i for ex in examples for i in tokenizer.encode(full_text(ex), add_special_tokens=False)]
    return sum(i == unk for i in ids) / max(1, len(ids))
