"""Helpers shared by the GPU benchmarks: timing, the measured matmul ceiling, the result file.

Result files (benchmarks/results/<name>.json, read by the site's benchmarks page) have the shape
    {"name", "title", "description", "device", "command", "rows": [{...}, ...], "notes", ...}
where every row is a flat mapping of scalars (one table per file) and any further top-level
scalar is shown as a fact above the table.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[], object], device: torch.device, repeat: int, warmup: int = 1) -> list[float]:
    """Milliseconds of each of `repeat` calls of fn after `warmup` calls (CUDA events on a GPU)."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeat):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            began = time.perf_counter()
            fn()
            times.append(1000 * (time.perf_counter() - began))
    return times


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def matmul_peak_tflops(device: torch.device, n: int = 8192, repeat: int = 20) -> float:
    """bf16 n x n x n matrix products on random data (three operand pairs in turn, so no
    product reads what the last left in cache): the median rate, TFLOP/s."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    pairs = [(torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype))
             for _ in range(3)]
    out = torch.empty(n, n, device=device, dtype=dtype)
    state = {"i": 0}

    def product():
        a, b = pairs[state["i"] % 3]
        state["i"] += 1
        torch.mm(a, b, out=out)

    times = time_ms(product, device, repeat=repeat, warmup=3)
    return 2 * n**3 / (median(times) / 1000) / 1e12


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name} ({props.total_memory / 2**30:.0f} GiB, {props.multi_processor_count} SMs)"
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def versions() -> dict[str, str]:
    import transformers

    out = {"torch": torch.__version__, "transformers": transformers.__version__,
           "python": platform.python_version()}
    if torch.version.cuda:
        out["cuda"] = torch.version.cuda
    # the code measured: the commit a copy of the tree states it came from (a copy's own .git may be
    # stale), else the checkout's
    from baselines.environment import COMMIT_ENV, _git

    out["git_commit"] = os.environ.get(COMMIT_ENV) or _git("rev-parse", "HEAD") or "unknown"
    return out


def command_line() -> str:
    """The command that ran, with paths inside the repository written relative to it (a result
    names no machine's folders)."""
    repo = Path(__file__).resolve().parents[1]

    def relative(arg: str) -> str:
        path = Path(arg)
        if path.is_absolute() and path.resolve().is_relative_to(repo):
            return path.resolve().relative_to(repo).as_posix()
        return arg

    return " ".join(shlex.quote(relative(a)) for a in [Path(sys.executable).name, *sys.argv])


def write_result(name: str, payload: dict, folder: Path = RESULTS_DIR) -> Path:
    """Write folder/<name>.json atomically (temp file in the same folder, then os.replace)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    handle, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".json", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(payload, out, indent=2)
        out.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def print_table(rows: list[dict], columns: list[str] | None = None) -> None:
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))

    def cell(value: object) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    table = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) if table else len(c) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in table:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
