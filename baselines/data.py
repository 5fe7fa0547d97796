"""Where task data comes from: the helpers every task file uses (no torch, so tasks, and the
worker processes that generate their data, stay light).

- where the official data files are (`resolve_data_dir`, `find_data_file`, Git LFS pointers),
- reading one-example-a-line files (`read_examples`),
- a file's sha256 (`sha256_file`), recorded as the provenance of official data,
- task options checked against their defaults (`check_options`),
- generating many examples in worker processes (`parallel_generate`).

Batching (collate, the order in which training examples are visited) is baselines/batching.py;
the text format is baselines/format.py.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from baselines.format import Example

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


# -- reading line files ---------------------------------------------------------------------

def read_examples(path: Path, parse: Callable[[str, str], Example]) -> list[Example]:
    """parse(line, "path:number") for every non-blank line of a UTF-8 text file (one example a line)."""
    with open(path, encoding="utf-8") as handle:
        return [parse(line.rstrip("\n"), f"{path}:{i}") for i, line in enumerate(handle, 1) if line.strip()]


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: str | Path) -> str:
    """The hex sha256 of a file (cached while its size and modification time stay the same)."""
    stat = Path(path).stat()
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


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
