"""Harness results summarised for the site: leaderboards, sweeps and measured-vs-reported numbers.

A run's headline metrics are its evaluation on the `test` split (else its last evaluation).
Runs of the same task, method and test-time compute setting (knob value) are aggregated over
seeds: mean, standard deviation and a 95% t-interval of the accuracy. A method's leaderboard
row is its trained setting: runs evaluated at the knob value the method was trained with (or
with no knob); when a task only has sweep runs of a method, its largest compute setting stands in.

Runs of the short suites (`smoke`, `*-short`) only show that a method runs end to end: their
budget is too small for the accuracy to mean anything, and every page that shows them says so.

Runs are averaged only with runs of the same setting (the whole recipe but the seed, as
`latent bench report` groups them; shown as suite, optimizer steps x batch size and model): a
method's leaderboard row is its setting with the largest budget, the others are listed apart.
A run of a suite trained for fewer steps than the suite's budget is labelled as shortened.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import mean, stdev

from atlas.charts import Series
from atlas.text import slug
from baselines.results import Metrics, Result, setting_of
from baselines.suites import SUITES


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
    std: float | None = None  # standard deviation over seeds (percent points), from 2 runs on
    ci: tuple[float, float] | None = None  # 95% t-interval of the mean (percent), from 2 runs on
    too_short: bool = False  # every run comes from a short suite
    model: str = ""  # the backbone, e.g. "small (10.9 M parameters, from scratch)"
    budget: str = ""  # optimizer steps x batch size, e.g. "2000 x 64"
    setting: str = ""  # the suite and budget the runs share, e.g. "mult4-repro, 2000 × 128" (for reading)
    key: str = ""  # what the runs share exactly: their recipe without the seed (baselines.results.setting_of)
    examples: int = 0  # training examples seen (optimizer steps x batch size)
    shortened: str | None = None  # e.g. "2,000 of the suite's 20,000 optimizer steps"


# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom; 1.96 beyond.
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]  # fmt: skip


def t_interval(values: list[float], bounds: tuple[float, float] = (0.0, 100.0)) -> tuple[float, float, float] | None:
    """(standard deviation, low, high) of the 95% t-interval of the mean, clipped to `bounds` (an
    accuracy in percent cannot leave 0..100); None for fewer than 2."""
    if len(values) < 2:
        return None
    sd = stdev(values)
    df = len(values) - 1
    half = (_T975[df - 1] if df <= len(_T975) else 1.96) * sd / len(values) ** 0.5
    centre = mean(values)
    return sd, max(bounds[0], centre - half), min(bounds[1], centre + half)


SHORT_SUITES = ("smoke",)


def is_too_short(result: Result) -> bool:
    suite = result.suite or ""
    return suite in SHORT_SUITES or suite.endswith("-short")


def shortened(result: Result) -> str | None:
    """How a run of a suite fell short of the suite's budget (None: the full budget, or no suite)."""
    spec = SUITES.get(result.suite or "")
    if spec is None or result.budget.examples_seen >= spec.steps * spec.batch_size:
        return None
    return f"{result.budget.optimizer_steps:,} of the suite's {spec.steps:,} optimizer steps"


def setting(result: Result) -> str:
    """The suite, budget and model of a run, for reading (runs are grouped by their whole recipe,
    baselines.results.setting_of)."""
    return (f"{result.suite or 'no suite'}, {result.budget.optimizer_steps} × {result.budget.batch_size}, "
            f"{model_label(result)}")


MODEL_SIZES = ("tiny", "small", "gpt2")  # `latent bench run --model-size` choices


def reproduce(result: Result) -> str:
    """The `latent bench run` command that trains and evaluates this run again (same method,
    task and options, model size, budget, knob and seed; the device is the reader's)."""
    parts = ["latent bench run", f"--method {result.method}", f"--task {result.task.get('name')}"]
    options = result.task.get("options") or {}
    parts += [f"--task-option {k}={options[k]}" for k in sorted(options)]
    size = result.model.get("size") or result.model.get("name")
    if result.model.get("pretrained"):
        parts.append(f"--model {result.model['pretrained']}")
    elif size in MODEL_SIZES:
        parts.append(f"--model-size {size}")
    parts += [f"--steps {result.budget.optimizer_steps}", f"--batch-size {result.budget.batch_size}"]
    if result.knob and result.knob_value is not None and is_trained_setting(result):
        parts.append(f"--knob {result.knob_value}")
    parts.append(f"--seed {result.seed}")
    return " ".join(parts)


def model_label(result: Result) -> str:
    model = result.model
    size = str(model.get("name") or model.get("size") or "model")
    params = model.get("n_params")
    origin = f"from {model['pretrained']}" if model.get("pretrained") else "from scratch"
    return f"{size} ({params / 1e6:.1f} M parameters, {origin})" if params else f"{size} ({origin})"


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
    """The test metrics (of the checkpoint selected on validation), else the last evaluation."""
    return result.headline()


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
    chance: float | None = None  # accuracy of guessing (fraction), when the task declares one
    _rows: list[Row] | None = field(default=None, repr=False)
    _board: list[Row] | None = field(default=None, repr=False)

    def rows(self, method: str | None = None, every_setting: bool = False) -> list[Row]:
        """Every (method, knob value) of each method's headline setting (the leaderboard's), sorted
        by method then knob value; with every_setting=True, those of every setting (computed once)."""
        if self._rows is None:
            groups: dict[tuple[str, int | None, str], list[tuple[Result, Metrics]]] = defaultdict(list)
            for result in self.completed:
                metrics = headline(result)
                if metrics is not None:
                    groups[(result.method, result.knob_value, setting_of(result))].append((result, metrics))
            self._rows = [_row(runs) for _, runs in
                          sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2]))]
        rows = [r for r in self._rows if method is None or r.method == method]
        if every_setting:
            return rows
        headline_setting = {r.method: r.key for r in self.leaderboard()}
        return [r for r in rows if r.key == headline_setting.get(r.method)]

    def other_settings(self) -> list[Row]:
        """Trained-setting rows of settings that are not their method's leaderboard row (another
        suite, a shorter budget), by method then setting."""
        board = {(r.method, r.key) for r in self.leaderboard()}
        return [r for r in self.rows(every_setting=True) if r.trained and (r.method, r.key) not in board]

    def leaderboard(self) -> list[Row]:
        """One row per method (its trained setting), best accuracy first (computed once)."""
        if self._board is None:
            self._board = self._leaderboard()
        return self._board

    def _leaderboard(self) -> list[Row]:
        by_method: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows(every_setting=True):
            by_method[row.method].append(row)
        board = []
        for rows in by_method.values():
            trained = [r for r in rows if r.trained]
            if trained:  # the setting with the largest budget, then the most seeds
                board.append(max(trained, key=lambda r: (r.examples, r.runs)))
            else:
                board.append(max(rows, key=lambda r: (r.examples, r.knob_value or 0)))
        return sorted(board, key=lambda r: (-r.accuracy, r.method))

    def sweep(self) -> list[Series]:
        """Accuracy against inference FLOPs per method, one point per knob value."""
        by_method: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows():
            by_method[row.method].append(row)
        return [
            Series(method, [_point(r.inference_flops, r) for r in rows])
            for method, rows in sorted(by_method.items())
        ]

    def knob_sweeps(self) -> dict[str, list[Series]]:
        """Per knob name (thoughts, pauses, loops, steps): accuracy against the knob's value, one
        series per method swept over at least two values."""
        by_knob: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
        for row in self.rows():
            if row.knob and row.knob_value is not None:
                by_knob[row.knob][row.method].append(row)
        out = {}
        for knob, methods in sorted(by_knob.items()):
            series = [Series(m, [_point(r.knob_value, r) for r in rows]) for m, rows in sorted(methods.items()) if len(rows) > 1]
            if series:
                out[knob] = series
        return out

    @property
    def too_short(self) -> bool:
        """Every completed run of the task comes from a short suite."""
        return bool(self.completed) and all(is_too_short(r) for r in self.completed)

    def has_sweep(self) -> bool:
        return any(len(s.points) > 1 for s in self.sweep())


def _row(runs: list[tuple[Result, Metrics]]) -> Row:
    first = runs[0][0]
    latencies = [m.latency_ms_batch1 for _, m in runs if m.latency_ms_batch1 is not None]
    spread = t_interval([100.0 * m.accuracy for _, m in runs])
    budgets = sorted({f"{r.budget.optimizer_steps} × {r.budget.batch_size}" for r, _ in runs})
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
        std=spread[0] if spread else None,
        ci=(spread[1], spread[2]) if spread else None,
        too_short=all(is_too_short(r) for r, _ in runs),
        model=" / ".join(sorted({model_label(r) for r, _ in runs})),
        budget=" / ".join(budgets),
        setting=setting(first),
        key=setting_of(first),
        examples=first.budget.examples_seen,
        shortened=shortened(first),
    )


def _point(x: float, row: Row) -> tuple:
    label = f"{row.knob}={row.knob_value}" if row.knob else "trained"
    return (x, row.accuracy, label, row.ci)


def by_task(results: list[Result], chance: dict[str, float] | None = None) -> dict[str, TaskResults]:
    """Results grouped by task key, in key order. `chance` maps task names to the accuracy of
    guessing (a result's own `task.chance` wins)."""
    chance = chance or {}
    out: dict[str, TaskResults] = {}
    for result in sorted(results, key=lambda r: (task_key(r), r.method, r.run_id)):
        key = task_key(result)
        name = str(result.task.get("name"))
        level = result.task.get("chance", chance.get(name))
        entry = out.setdefault(key, TaskResults(key, task_label(result), [], [], level))
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
