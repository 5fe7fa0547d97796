"""Harness results summarised for the site: leaderboards, sweeps and measured-vs-reported numbers.

A run's headline metrics are its evaluation on the `test` split (else its last evaluation).
Runs of the same task, method and test-time compute setting (knob value) are averaged over seeds.
A method's leaderboard row is its trained setting: runs evaluated at the knob value the method
was trained with (or with no knob); when a task only has sweep runs of a method, its largest
compute setting stands in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import mean

from atlas.charts import Series
from atlas.text import slug
from baselines.result import Metrics, Result


@dataclass
class Row:
    """One (method, knob value) on one task, averaged over its completed runs."""

    method: str
    knob: str | None
    knob_value: int | None
    trained: bool  # evaluated at the trained setting
    runs: int
    accuracy: float  # percent
    generated_tokens: float
    forward_passes: float
    latent_steps: float
    inference_flops: float
    latency_ms: float | None  # batch size 1, when measured
    paper: str | None


def task_key(result: Result) -> str:
    """A stable file-name-safe key: the task name, plus its options when it has any."""
    options = result.task.get("options") or {}
    extra = "-".join(f"{k}-{options[k]}" for k in sorted(options))
    return slug(f"{result.task.get('name', 'task')}-{extra}" if extra else str(result.task.get("name", "task")))


def task_label(result: Result) -> str:
    options = result.task.get("options") or {}
    name = str(result.task.get("name", "task"))
    if not options:
        return name
    return f"{name} ({', '.join(f'{k}={options[k]}' for k in sorted(options))})"


def headline(result: Result) -> Metrics | None:
    tests = [m for m in result.eval if m.split == "test"]
    if tests:
        return tests[-1]
    return result.eval[-1] if result.eval else None


def is_trained_setting(result: Result) -> bool:
    if result.knob is None or result.knob_value is None:
        return True
    return result.method_config.get(result.knob) == result.knob_value


@dataclass
class TaskResults:
    key: str
    label: str
    completed: list[Result]
    failed: list[Result]
    _rows: list[Row] | None = field(default=None, repr=False)
    _board: list[Row] | None = field(default=None, repr=False)

    def rows(self, method: str | None = None) -> list[Row]:
        """Every (method, knob value), sorted by method then knob value (computed once)."""
        if self._rows is None:
            groups: dict[tuple[str, int | None], list[tuple[Result, Metrics]]] = defaultdict(list)
            for result in self.completed:
                metrics = headline(result)
                if metrics is not None:
                    groups[(result.method, result.knob_value)].append((result, metrics))
            self._rows = [_row(runs) for _, runs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))]
        return [r for r in self._rows if method is None or r.method == method]

    def leaderboard(self) -> list[Row]:
        """One row per method (its trained setting), best accuracy first (computed once)."""
        if self._board is None:
            self._board = self._leaderboard()
        return self._board

    def _leaderboard(self) -> list[Row]:
        by_method: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows():
            by_method[row.method].append(row)
        board = []
        for rows in by_method.values():
            trained = [r for r in rows if r.trained]
            board.append(trained[0] if trained else max(rows, key=lambda r: r.knob_value or 0))
        return sorted(board, key=lambda r: (-r.accuracy, r.method))

    def sweep(self) -> list[Series]:
        """Accuracy against inference FLOPs per method, one point per knob value."""
        by_method: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows():
            by_method[row.method].append(row)
        return [
            Series(method, [(r.inference_flops, r.accuracy, f"{r.knob}={r.knob_value}" if r.knob else "trained") for r in rows])
            for method, rows in sorted(by_method.items())
        ]

    def has_sweep(self) -> bool:
        return any(len(s.points) > 1 for s in self.sweep())


def _row(runs: list[tuple[Result, Metrics]]) -> Row:
    first = runs[0][0]
    latencies = [m.latency_ms_batch1 for _, m in runs if m.latency_ms_batch1 is not None]
    return Row(
        method=first.method,
        knob=first.knob,
        knob_value=first.knob_value,
        trained=all(is_trained_setting(r) for r, _ in runs),
        runs=len(runs),
        accuracy=100.0 * mean(m.accuracy for _, m in runs),
        generated_tokens=mean(m.generated_tokens for _, m in runs),
        forward_passes=mean(m.forward_passes for _, m in runs),
        latent_steps=mean(m.latent_steps for _, m in runs),
        inference_flops=mean(m.inference_flops for _, m in runs),
        latency_ms=mean(latencies) if latencies else None,
        paper=first.paper,
    )


def by_task(results: list[Result]) -> dict[str, TaskResults]:
    """Results grouped by task key, in key order."""
    out: dict[str, TaskResults] = {}
    for result in sorted(results, key=lambda r: (task_key(r), r.method, r.run_id)):
        key = task_key(result)
        entry = out.setdefault(key, TaskResults(key, task_label(result), [], []))
        (entry.completed if result.status == "completed" else entry.failed).append(result)
    return out


def measured(tasks: dict[str, TaskResults], task: str, method: str) -> tuple[TaskResults, Row] | None:
    """Our trained-setting numbers for `method` on the task named `task` (key or label)."""
    for entry in tasks.values():
        if entry.key != task and entry.label != task:
            continue
        for row in entry.leaderboard():
            if row.method == method:
                return entry, row
    return None
