"""Data plumbing shared by tasks, methods and the harness (torch is imported only by `collate`,
so that tasks, and the worker processes that generate their data, stay light).

- where the official data files are (`resolve_data_dir`),
- the text pieces of the shared format (question, steps, answer marker),
- the training collate (RIGHT padding; generation pads on the left, see generation.py),
- the deterministic order in which training examples are visited (`batch_indices`): a function
  of (seed, step, batch size, rank, world size) only, so a resumed run sees the same data.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from baselines.tasks.base import Example

if TYPE_CHECKING:
    import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "LATENT_DATA_DIR"


# -- data directory -----------------------------------------------------------------------------

def resolve_data_dir(explicit: str | Path | None = None) -> Path | None:
    """The folder holding the official files, in this order of preference:

    1. `explicit` (the `--data-dir` option): must exist;
    2. the environment variable LATENT_DATA_DIR: must exist;
    3. `data/` in the repository (where scripts/download_data.py puts the files), when it exists;
    4. `../shared/data` next to the repository, when it exists;
    5. None: tasks then generate their data locally.
    """
    for origin, value in (("--data-dir", explicit), (DATA_ENV, os.environ.get(DATA_ENV))):
        if value:
            path = Path(value).expanduser()
            if not path.is_dir():
                raise FileNotFoundError(f"{origin}: data directory {path} does not exist")
            return path
    for default in (REPO_ROOT / "data", REPO_ROOT.parent / "shared" / "data"):
        if default.is_dir():
            return default
    return None


def is_lfs_pointer(path: Path) -> bool:
    """True for a Git LFS pointer file (what a clone without LFS holds instead of the data)."""
    with open(path, "rb") as handle:
        return handle.read(40).startswith(b"version https://git-lfs")


def find_data_file(candidates: Iterable[Path]) -> Path | None:
    """The first of `candidates` that is a file holding data; a Git LFS pointer is passed over
    with a warning (the task then generates its examples instead)."""
    for path in candidates:
        if path.is_file():
            if is_lfs_pointer(path):
                warnings.warn(f"{path} is a Git LFS pointer, not data; passed over", stacklevel=2)
                continue
            return path
    return None


# -- the shared text format ---------------------------------------------------------------------
#   question "\n" step_1 "\n" ... step_k "\n" "### " answer <eos>

def read_examples(path: Path, parse: Callable[[str, str], Example]) -> list[Example]:
    """parse(line, "path:number") for every non-blank line of a UTF-8 text file (one example a line)."""
    with open(path, encoding="utf-8") as handle:
        return [parse(line.rstrip("\n"), f"{path}:{i}") for i, line in enumerate(handle, 1) if line.strip()]


def question_text(example: Example) -> str:
    return example.question + "\n"


def steps_text(example: Example) -> str:
    return "".join(step + "\n" for step in example.steps)


def answer_text(example: Example) -> str:
    from baselines.methods.base import ANSWER_MARKER

    return f"{ANSWER_MARKER} {example.answer}"


def full_text(example: Example) -> str:
    """The whole example as one string (the tokenizer's vocabulary is built from these)."""
    return question_text(example) + steps_text(example) + answer_text(example)


# -- training batches ---------------------------------------------------------------------------

def collate(rows: list[dict[str, list[int]]], pad_id: int, pad_values: dict[str, int] | None = None,
            device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Right-pad encoded examples into a batch.

    Every row has `input_ids`, `labels` and any method extras, all of the row's length.
    Returns `input_ids` [B, T] (pad_id), `labels` [B, T] (-100), `attention_mask` [B, T]
    (1 on real tokens) and each extra [B, T] padded with `pad_values.get(key, 0)`.
    """
    import torch

    if not rows:
        raise ValueError("collate: empty batch")
    pad_values = {"input_ids": pad_id, "labels": -100, **(pad_values or {})}
    width = max(len(row["input_ids"]) for row in rows)
    batch: dict[str, torch.Tensor] = {}
    for key in rows[0]:
        fill = pad_values.get(key, 0)
        out = torch.full((len(rows), width), fill, dtype=torch.long)
        for i, row in enumerate(rows):
            if len(row[key]) != len(row["input_ids"]):
                raise ValueError(f"collate: field {key!r} of row {i} has length {len(row[key])}, "
                                 f"input_ids has {len(row['input_ids'])}")
            out[i, : len(row[key])] = torch.tensor(row[key], dtype=torch.long)
        batch[key] = out
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        mask[i, : len(row["input_ids"])] = 1
    batch["attention_mask"] = mask
    return {key: value.to(device) for key, value in batch.items()}


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """A permutation of range(n), fixed by (seed, epoch)."""
    order = list(range(n))
    random.Random(f"{seed}/{epoch}").shuffle(order)
    return order


def batch_indices(n: int, seed: int, step: int, batch_size: int, rank: int = 0, world_size: int = 1) -> list[int]:
    """Indices of the training examples of optimizer step `step` that this rank processes.

    The global batch is the `batch_size` examples at stream positions [step*B, (step+1)*B) of
    an endless sequence of shuffled epochs; rank r takes the r-th contiguous 1/world_size of it
    (the data position of a run is therefore step * batch_size).
    """
    if batch_size % world_size:
        raise ValueError(f"batch size {batch_size} is not divisible by the number of processes {world_size}")
    local = batch_size // world_size
    start = step * batch_size + rank * local
    out, orders = [], {}
    for position in range(start, start + local):
        epoch, index = divmod(position, n)
        if epoch not in orders:
            orders[epoch] = epoch_order(n, seed, epoch)
        out.append(orders[epoch][index])
    return out


# -- task options -------------------------------------------------------------------------------

def check_options(task: str, defaults: dict, given: dict) -> dict:
    """`given` merged over `defaults`; unknown names and values of the wrong type are errors.

    Values may be strings from the command line ("digits=4"): they are converted to the type
    of the default (int, float, bool, str); a default of None accepts any string.
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        known = ", ".join(sorted(defaults)) or "none"
        raise ValueError(f"task {task}: unknown option(s) {', '.join(unknown)}; known options: {known}")
    out = dict(defaults)
    for key, value in given.items():
        default = defaults[key]
        kind = type(default)
        if default is None or value is None:
            out[key] = value
            continue
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            out[key] = value
            continue
        try:
            if kind is bool:
                if str(value).lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                out[key] = str(value).lower() in ("true", "1", "yes")
            else:
                out[key] = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"task {task}: option {key}={value!r} is not a valid {type(default).__name__}") from None
    return out


# -- generating many examples -------------------------------------------------------------------

PARALLEL_ABOVE = 4000  # below this many examples, one process is faster than starting a pool


def parallel_generate(make: Callable[..., list], args: tuple, n: int, chunk: int = 1000) -> list:
    """`make(*args, start, stop)` over [0, n) in chunks, in worker processes for large n.

    `make` must be a module-level function whose result for a chunk depends only on its
    arguments, so the output is the same with or without workers.
    """
    bounds = [(start, min(start + chunk, n)) for start in range(0, n, chunk)]
    workers = min(len(bounds), os.cpu_count() or 1, 16)
    if n < PARALLEL_ABOVE or workers < 4:  # with fewer cores, starting workers costs more than it saves
        return [x for start, stop in bounds for x in make(*args, start, stop)]
    context = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        parts = pool.map(make, *zip(*[(*args, start, stop) for start, stop in bounds]))
        return [x for part in parts for x in part]
