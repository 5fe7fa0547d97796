"""GSM8K grade-school math word problems, in the equation-only format of Implicit CoT.

Each line of the files reads `question||<<16-3-4=9>> <<9*2=18>> #### 18`: the steps are the
calculator annotations of the solution (Deng et al., arXiv 2311.01460, "GSM8K-Aug"; used by
Coconut, iCoT and CODI). Evaluation reads `valid.txt` / `test.txt` from
`<data>/Internalize_CoT_Step_by_Step/gsm8k/`. There is no generator: training needs a file in
the same format, given with the task option `train_file` (`--train-file PATH`) or present as a
real `train.txt` (not a Git LFS pointer) next to the evaluation files. Answers are compared as
numbers ("18", "18.0" and "1,8" -> 18 are equal).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from baselines.data import check_options, find_data_file, is_lfs_pointer, read_examples
from baselines.tasks.base import SPLITS, Example, Task

FILES = {"train": "train.txt", "valid": "valid.txt", "test": "test.txt"}


def parse_line(line: str, where: str) -> Example:
    if "||" not in line or " #### " not in line:
        raise ValueError(f"{where}: not a GSM8K line ('question||<<steps>> #### answer'): {line[:80]!r}")
    question, rest = line.split("||", 1)
    cot, answer = rest.rsplit(" #### ", 1)
    return Example(question=question.strip(), steps=tuple(cot.split()), answer=answer.strip())


def as_number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").replace("$", "").strip().rstrip("."))
    except ValueError:
        return None


class GSM8K(Task):
    name: ClassVar[str] = "gsm8k"
    version: ClassVar[int] = 1
    description: ClassVar[str] = ("Grade-school math with equation-only steps (iCoT's GSM8K-Aug format); "
                                  "training data from a user-given file.")
    defaults: ClassVar[dict] = {"train_file": None}

    def __init__(self, data_dir: str | Path | None = None, **options):
        super().__init__(data_dir, **check_options(self.name, self.defaults, options))
        train_file = self.options.get("train_file")
        if train_file is not None and not Path(train_file).is_file():
            raise FileNotFoundError(f"task gsm8k: train_file {train_file} does not exist")

    def official_path(self, split: str) -> Path | None:
        if split == "train" and self.options.get("train_file"):
            path = Path(self.options["train_file"])
            if is_lfs_pointer(path):
                raise ValueError(f"{path} is a Git LFS pointer, not data: fetch the file with git lfs first")
            return path
        if self.data_dir is None:
            return None
        return find_data_file(folder / FILES[split] for folder in (self.data_dir / "Internalize_CoT_Step_by_Step" / "gsm8k",
                                                                  self.data_dir / "gsm8k"))

    def load(self, split: str) -> list[Example] | None:
        path = self.official_path(split)
        if path is None:
            return None
        return read_examples(path, parse_line)

    def generate(self, split: str, n: int, seed: int) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        if split == "train":
            raise ValueError("task gsm8k has no generator and no training data was found: give a file in the "
                             "iCoT format ('question||<<a*b=c>> ... #### answer' per line) with "
                             "--train-file PATH (task option train_file)")
        raise ValueError(f"task gsm8k: no {split} file found; give a data directory holding "
                         f"Internalize_CoT_Step_by_Step/gsm8k/{FILES[split]} (--data-dir or LATENT_DATA_DIR)")

    def score(self, prediction: str, example: Example) -> bool:
        predicted, expected = as_number(prediction), as_number(example.answer)
        if predicted is None or expected is None:
            return self.normalize(prediction) == self.normalize(example.answer)
        return abs(predicted - expected) <= 1e-6 * max(1.0, abs(expected))
