"""Recorded benchmark figures (benchmarks/results/*.json) made readable: one section per file
with its headline figures, a compact table whose column names say their units in words, what
it was measured on, and the command that reproduces it.

The files are free-form (each script writes its own fields), so names are turned into words by
their unit suffixes (`_ms`, `_s`, `_gib`, `_per_s`, ...) and a few known names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# fields that describe the machine or the software, shown on one "measured on" line
ENVIRONMENT = ("device", "machine", "mode", "platform", "python", "torch", "transformers", "reference_transformers",
               "cuda", "cpu_count", "usable_cpus", "load_average_1min", "git_commit", "date")  # fmt: skip
TEXT = ("name", "benchmark", "title", "description", "command", "notes", "rows")
MAX_ROWS = 12  # rows shown at once; the rest fold away

KNOWN = {
    "mfu": "MFU (share of the peak bf16 matmul throughput)",
    "best_mfu": "best MFU (share of the peak bf16 matmul throughput)",
    "share": "share of GPU time",
    "efficiency": "scaling efficiency (throughput per GPU over one GPU's)",
    "papers": "papers",
    "pages": "pages",
    "vocab": "vocabulary size",
    "seq": "sequence length (tokens)",
    "batch": "batch size",
    "calls": "calls",
    "met": "target met",
    "within_target": "within the target",
    "target": "target",
    "unit": "unit",
    "megabytes": "catalog size (megabytes)",
    "repeats": "repeats",
}
SUFFIXES = [
    ("_tokens_per_s", "tokens per second"),
    ("_per_second", "per second"),
    ("_per_s", "per second"),
    ("_tflops", "TFLOP/s"),
    ("_gib", "GiB"),
    ("_mb", "MB"),
    ("_ms", "milliseconds"),
    ("_seconds", "seconds"),
    ("_s", "seconds"),
]


def words(key: str) -> str:
    """A field name in words with its unit: 'step_ms' -> 'step (milliseconds)'."""
    if key in KNOWN:
        return KNOWN[key]
    if key == "tokens_per_s":
        return "tokens per second"
    for stat in ("min", "max", "median", "all"):
        if key.endswith(f"_{stat}") and len(key) > len(stat) + 1:
            return f"{words(key[: -len(stat) - 1])}, {stat}"
    for suffix, unit in SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            base = key[: -len(suffix)].replace("_", " ")
            if unit.startswith("per second"):
                return f"{base} {unit}"
            return f"{base} ({unit})"
    return key.replace("_", " ")


def cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, list) and all(isinstance(v, (int, float, str)) for v in value):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass
class Table:
    heading: str | None  # the rows' section, when the file groups them
    columns: list[str]  # in words
    rows: list[list[str]]
    same: list[tuple[str, str]] = field(default_factory=list)  # columns with one value in every row


@dataclass
class Section:
    name: str
    title: str
    description: str
    command: str
    measured_on: str
    figures: list[tuple[str, str]]  # headline figures: (words, value)
    tables: list[Table]
    notes: str


def _table(heading: str | None, rows: list[dict]) -> Table:
    keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k != "section"]
    keys = [k for k in keys if any(r.get(k) is not None for r in rows)]  # drop empty columns
    varying = [k for k in keys if len({cell(r.get(k)) for r in rows}) > 1 or len(rows) == 1]
    same = [(words(k), cell(rows[0].get(k))) for k in keys if k not in varying]
    return Table(heading, [words(k) for k in varying], [[cell(r.get(k)) for k in varying] for r in rows], same)


def section(name: str, data: dict, script_exists: bool) -> Section:
    rows = data.get("rows") if isinstance(data.get("rows"), list) else []
    rows = [r for r in rows if isinstance(r, dict)]
    tables: list[Table] = []
    if rows and all(isinstance(r.get("section"), str) for r in rows):
        for heading in dict.fromkeys(r["section"] for r in rows):
            tables.append(_table(heading, [r for r in rows if r["section"] == heading]))
    elif rows:
        tables.append(_table(None, rows))
    command = data.get("command") if isinstance(data.get("command"), str) else ""
    if not command and script_exists:
        command = f"python benchmarks/{name}.py"
    environment = [f"{words(k)} {cell(data[k])}" if k not in ("device", "machine", "mode") else cell(data[k])
                   for k in ENVIRONMENT if data.get(k) not in (None, "")]  # fmt: skip
    figures = [(words(k), cell(v)) for k, v in data.items() if k not in ENVIRONMENT and k not in TEXT]
    return Section(
        name=name,
        title=str(data.get("title") or name.replace("_", " ")),
        description=str(data.get("description") or ""),
        command=command,
        measured_on="; ".join(environment),
        figures=figures,
        tables=tables,
        notes=str(data.get("notes") or ""),
    )
