"""Results: the one place that writes, reads, indexes, validates and aggregates result files.

One JSON file per harness run: results/<task>/<method>/<run_id>.json, plus results/index.json (a
small list of runs with their headline numbers, rebuilt by `latent bench report`). Files are
written only through `write_result` and `write_index`, atomically (a temporary file renamed
over the target: never a half-written file), and never edited by hand. This module imports no
torch: the site reads results with it.

Schema versions. SCHEMA_VERSION 2 adds model selection on validation (`selection`: the
validation evaluations during training and the selected step; `eval` holds the selected
checkpoint's validation metrics and its test metrics, test evaluated once), data provenance
(`data`: where each split came from), the run's full recipe (`recipe`), the task's chance
accuracy, and, for a sweep, which knob value validation selected (`sweep`). Files of version 1
(final weights, test only, no provenance) are still read: they keep `schema_version: 1`, which
marks them, and their new fields are empty.

Aggregation (`aggregate`): runs grouped by task (name and options), method, knob value and
setting (everything else of the recipe that is not the seed), then accuracy and the other
metrics as mean, sample standard deviation and a 95% Student-t interval over the seeds.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCHEMA_VERSION = 2
INDEX_FILE = "index.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Budget(_Strict):
    """The training budget rule, identical for every method: optimizer steps x batch size."""

    optimizer_steps: int
    batch_size: int  # global batch (all ranks)
    examples_seen: int  # optimizer_steps * batch_size
    train_flops: float  # analytic training FLOPs actually spent (compute.py)


class Metrics(_Strict):
    """Evaluation on one split, averaged per example."""

    split: str  # "valid" or "test"
    n_examples: int
    accuracy: float  # fraction in [0, 1]
    generated_tokens: float  # tokens sampled from the vocabulary per example
    latent_steps: float  # latent steps per example (thoughts, pauses, loops, diffusion steps)
    forward_passes: float  # sequential backbone passes per example
    inference_flops: float  # analytic FLOPs per example
    latency_ms_batch1: float | None = None  # wall-clock per example at batch size 1
    latency_ms_batchN: float | None = None  # wall-clock per example at the eval batch size
    eval_batch_size: int | None = None
    peak_memory_mb: float | None = None  # peak accelerator memory during evaluation
    step: int | None = None  # optimizer step of the weights evaluated (schema 2)
    outcomes: dict[str, float] | None = None  # share of each kind of answer (Task.outcomes), e.g. ProsQA's
    #                                           right / other_option / other_concept / malformed


class Environment(_Strict):
    git_commit: str | None
    git_dirty: bool | None  # tracked files differed from the commit (None: unknown)
    device: str  # e.g. "NVIDIA H100 80GB HBM3" or "cpu"
    world_size: int = 1
    precision: str  # "bf16-autocast" or "fp32"
    versions: dict[str, str]  # python, torch, transformers, tokenizers, latent-atlas


class DataSource(_Strict):
    """Where one split's examples came from."""

    source: Literal["generated", "official"]
    examples: int  # examples used
    task_version: int  # the task's version (its generator and scorer)
    generator_seed: int | None = None  # generated: the seed (the split has its own stream)
    file: str | None = None  # official: the path under the data directory
    sha256: str | None = None  # official: of the whole file
    file_examples: int | None = None  # official: examples in the file (the first `examples` were used)
    unknown_token_fraction: float | None = None  # test: share of question tokens the vocabulary lacks


class Selection(_Strict):
    """Model selection on the validation split: the checkpoint with the best validation accuracy."""

    split: Literal["valid"] = "valid"
    metric: Literal["accuracy"] = "accuracy"
    evaluations: list[tuple[int, float]]  # (optimizer step, validation accuracy), in order
    selected_step: int  # the step whose weights were kept (first best on ties)
    valid_examples: int
    eligible_from: int | None = None  # the first step whose weights could be kept (a staged method's
    #                                   final stage); None in files written before it was recorded


class Sweep(_Strict):
    """A sweep's knob values, each evaluated on validation and test; validation chooses."""

    values: list[int | float]
    selected_value: int | float  # best validation accuracy (the smallest value on ties)
    selected: bool  # this result is the selected value's


class Result(_Strict):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    status: Literal["completed", "failed"]
    failure: str | None = None  # the reason when status == "failed" (e.g. non-finite loss at step 812)
    method: str
    method_config: dict
    knob: str | None = None  # name of the test-time compute knob
    knob_value: int | float | None = None  # its value at evaluation (a float for e.g. a halting threshold)
    paper: str | None = None  # catalog id of the paper the method implements
    task: dict  # name, version, options, chance
    model: dict  # backbone: name/size, n_params, pretrained path or null, tokenizer
    seed: int
    budget: Budget
    train: dict = Field(default_factory=dict)  # final loss, loss curve (subsampled), time_s, stages
    eval: list[Metrics] = Field(default_factory=list)  # schema 2: [valid (selected step), test]
    selection: Selection | None = None
    data: dict[str, DataSource] = Field(default_factory=dict)  # split -> provenance
    recipe: dict = Field(default_factory=dict)  # every setting of the run (RunSpec), for reproduction
    sweep: Sweep | None = None
    environment: Environment
    started_at: str  # ISO 8601
    finished_at: str | None = None
    suite: str | None = None  # e.g. "smoke" or "prosqa-short"

    @model_validator(mode="after")
    def _complete(self) -> "Result":
        if self.schema_version > SCHEMA_VERSION:
            raise ValueError(f"schema_version {self.schema_version} is newer than this code ({SCHEMA_VERSION})")
        if self.schema_version >= 2 and self.status == "completed":
            missing = [name for name in ("selection", "data", "recipe") if not getattr(self, name)]
            if missing:
                raise ValueError(f"a completed schema-2 result needs {', '.join(missing)}")
            if [m.split for m in self.eval] != ["valid", "test"]:
                raise ValueError("a completed schema-2 result has eval = [valid, test]")
        return self

    @property
    def legacy(self) -> bool:
        """A schema-1 file: final weights, evaluated once, no validation selection or provenance."""
        return self.schema_version < 2

    def metrics(self, split: str) -> Metrics | None:
        return next((m for m in reversed(self.eval) if m.split == split), None)

    def headline(self) -> Metrics | None:
        """The test metrics (else the last evaluation)."""
        return self.metrics("test") or (self.eval[-1] if self.eval else None)

    def chance(self) -> float | None:
        value = self.task.get("chance")
        return float(value) if isinstance(value, (int, float)) else None


# -- files ------------------------------------------------------------------------------------------

def result_path(result: Result, root: str | Path) -> Path:
    return Path(root) / result.task["name"] / result.method / f"{result.run_id}.json"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_result(result: Result, root: str | Path) -> Path:
    """Write `result` to root/<task>/<method>/<run_id>.json atomically and return the path."""
    path = result_path(result, root)
    _write_atomic(path, result.model_dump_json(indent=2) + "\n")
    return path


STUDIES = "studies"  # results/studies/<study>/*.json: study summaries, not run results


def result_files(root: str | Path) -> list[Path]:
    """root/<task>/<method>/*.json, sorted (dot-files, such as unfinished temporary files, and the
    study summaries under root/studies skipped)."""
    root = Path(root)
    return [p for p in sorted(root.glob("*/*/*.json"))
            if not p.name.startswith(".") and p.relative_to(root).parts[0] != STUDIES]


class ResultError(ValueError):
    """A result file that cannot be read; `problems` are 'file: field: message' lines."""

    def __init__(self, problems: list[str]):
        super().__init__(problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)")
        self.problems = problems


def read_result(path: str | Path) -> Result:
    """One result file (schema 1 or 2); ResultError names the file and each bad field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultError([f"{path}: cannot read: {exc}"]) from None
    except json.JSONDecodeError as exc:
        raise ResultError([f"{path}:{exc.lineno}: not valid JSON: {exc.msg}"]) from None
    if isinstance(data, dict) and "schema_version" not in data:
        data = {**data, "schema_version": 1}
    try:
        return Result.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(f"{path}: {where}: {error['msg']}")
        raise ResultError(problems) from None


def read_results(root: str | Path) -> list[Result]:
    """Every result under `root`, sorted by path; the first unreadable file raises ResultError."""
    return [read_result(path) for path in result_files(root)]


def read_results_lenient(root: str | Path) -> list[Result]:
    """Every readable result under `root` (`validate` reports the others)."""
    out = []
    for path in result_files(root):
        try:
            out.append(read_result(path))
        except ResultError:
            continue
    return out


def validate(root: str | Path) -> tuple[int, dict[Path, list[str]]]:
    """(files checked, problems by file): every file against the schema and against its place."""
    files = result_files(root)
    problems: dict[Path, list[str]] = {}
    for path in files:
        try:
            result = read_result(path)
        except ResultError as exc:
            problems[path] = exc.problems
            continue
        expected = result_path(result, root)
        if expected != path:
            problems[path] = [f"{path}: run_id/task/method do not match the file's place (expected {expected})"]
    return len(files), problems


# -- the index ------------------------------------------------------------------------------------

def index_entry(result: Result, path: Path, root: Path) -> dict:
    """The headline numbers of one run (what results/index.json lists)."""
    test = result.headline()
    valid = result.metrics("valid")
    return {"path": path.relative_to(root).as_posix(), "run_id": result.run_id, "status": result.status,
            "schema_version": result.schema_version, "task": result.task["name"],
            "task_version": result.task["version"], "task_options": result.task["options"],
            "chance": result.chance(), "method": result.method, "paper": result.paper, "knob": result.knob,
            "knob_value": result.knob_value, "suite": result.suite, "seed": result.seed,
            "model_size": result.model.get("size"), "optimizer_steps": result.budget.optimizer_steps,
            "batch_size": result.budget.batch_size, "split": test.split if test else None,
            "accuracy": test.accuracy if test else None, "valid_accuracy": valid.accuracy if valid else None,
            "selected_step": result.selection.selected_step if result.selection else None,
            "sweep_selected": result.sweep.selected if result.sweep else None,
            "generated_tokens": test.generated_tokens if test else None,
            "forward_passes": test.forward_passes if test else None,
            "inference_flops": test.inference_flops if test else None, "device": result.environment.device,
            "finished_at": result.finished_at}


def write_index(root: str | Path) -> tuple[Path, list[dict], list[str]]:
    """Rebuild root/index.json from the readable result files (atomically).
    Returns its path, its entries, and the problems of the files left out."""
    root = Path(root)
    entries, problems = [], []
    for path in result_files(root):
        try:
            entries.append(index_entry(read_result(path), path, root))
        except ResultError as exc:
            problems += exc.problems
    path = root / INDEX_FILE
    _write_atomic(path, json.dumps({"schema_version": SCHEMA_VERSION, "runs": entries}, indent=2) + "\n")
    return path, entries, problems


# -- aggregation over seeds -----------------------------------------------------------------------

# two-sided 95% quantiles of Student's t distribution, by degrees of freedom
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
         20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
         29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t_quantile_975(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` degrees of freedom (table; between entries the
    next smaller df's value, which is conservative; 1.960 beyond 120)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df > 120:
        return 1.960
    return _T975[max(k for k in _T975 if k <= df)]


@dataclass(frozen=True)
class Stat:
    """A metric over n runs: mean, sample standard deviation and the 95% t-interval of the mean
    (std and interval are None for a single run)."""

    n: int
    mean: float
    std: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, values: Iterable[float], bounds: tuple[float, float] | None = None) -> "Stat":
        """`bounds`: the range the metric can take (e.g. (0, 1) for an accuracy); the interval is
        clipped to it (a t-interval over a few bimodal runs otherwise reaches past 0 and 1)."""
        xs = [float(v) for v in values]
        if not xs:
            raise ValueError("Stat.of: no values")
        n, mean = len(xs), sum(xs) / len(xs)
        if n == 1:
            return cls(1, mean, None, None, None)
        std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
        half = t_quantile_975(n - 1) * std / math.sqrt(n)
        low, high = mean - half, mean + half
        if bounds is not None:
            low, high = max(low, bounds[0]), min(high, bounds[1])
        return cls(n, mean, std, low, high)

    def text(self, scale: float = 1.0, digits: int = 1) -> str:
        """'mean ± std [low, high]' (scaled, e.g. by 100 for percent)."""
        if self.std is None:
            return f"{self.mean * scale:.{digits}f}"
        return (f"{self.mean * scale:.{digits}f} ± {self.std * scale:.{digits}f} "
                f"[{self.low * scale:.{digits}f}, {self.high * scale:.{digits}f}]")


SEED_FREE = ("seed", "suite")  # recipe fields that do not define a setting


def setting_of(result: Result) -> str:
    """The recipe without the seed (and the suite label), as stable text: what seeds share."""
    recipe = {k: v for k, v in result.recipe.items() if k not in SEED_FREE}
    if not recipe:  # schema 1: no recipe; the budget and model stand in
        recipe = {"steps": result.budget.optimizer_steps, "batch_size": result.budget.batch_size,
                  "model": result.model.get("size"), "method_config": result.method_config}
    return json.dumps(recipe, sort_keys=True, default=str)


def task_key(result: Result) -> tuple[str, str]:
    options = result.task.get("options") or {}
    return str(result.task.get("name")), json.dumps(options, sort_keys=True, default=str)


@dataclass
class Group:
    """Completed runs of one task (and options), method, knob value and setting: one per seed."""

    task: str
    task_options: dict
    method: str
    knob: str | None
    knob_value: int | float | None
    setting: str
    runs: list[Result] = field(default_factory=list)

    @property
    def seeds(self) -> list[int]:
        return sorted(r.seed for r in self.runs)

    def stat(self, metric: str = "accuracy", split: str = "test") -> Stat | None:
        values = [getattr(m, metric) for r in self.runs if (m := r.metrics(split)) is not None
                  and getattr(m, metric) is not None]
        return Stat.of(values, (0.0, 1.0) if metric == "accuracy" else None) if values else None

    @property
    def chance(self) -> float | None:
        return next((c for r in self.runs if (c := r.chance()) is not None), None)

    @property
    def legacy(self) -> bool:
        return any(r.legacy for r in self.runs)

    @property
    def sweep_selected(self) -> bool | None:
        """True when every seed's validation chose this knob value, None when not a sweep."""
        flags = [r.sweep.selected for r in self.runs if r.sweep is not None]
        return all(flags) if flags else None


def aggregate(results: Iterable[Result]) -> list[Group]:
    """Completed results grouped by (task, options, method, knob value, setting), in that order.
    A seed that occurs twice in a group (a rerun) counts once: its latest run."""
    groups: dict[tuple, Group] = {}
    for result in sorted(results, key=lambda r: (r.finished_at or "", r.run_id)):
        if result.status != "completed":
            continue
        name, options = task_key(result)
        key = (name, options, result.method, result.knob_value if result.knob_value is not None else -1,
               setting_of(result))
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(name, result.task.get("options") or {}, result.method, result.knob,
                                        result.knob_value, key[-1])
        group.runs = [r for r in group.runs if r.seed != result.seed] + [result]
    return [groups[k] for k in sorted(groups)]

