"""State tracking: a linear-state recurrent model (gated_deltanet) against the transformer at
matched parameters, trained at one length and tested at longer ones.

    python -m benchmarks.linear_study --device cuda --workers 8          # the study
    python -m benchmarks.linear_study --summarize-only                   # re-aggregate results/

Every point is a run of the one harness (baselines.harness.execute): it trains on lengths up to
the task's `length`, keeps the weights that score best on the validation split (lengths as in
training; 3 evaluations) and evaluates them once on test examples of exactly `test_length` tokens of
state.
A run evaluates one test length, so each (task, method, seed, test length) is its own run with
the same seed and training data. Runs go to results/<task>/<method>/*.json with suite
"linear-state-tracking"; the summary (results/studies/linear-state-tracking/summary.json),
its plot (accuracy.svg/png) and its README are written from them: mean, std and a 95%
t-interval over seeds for every configuration, chance level from the task. `--quick` runs a
smoke of the same pipeline into another folder, labelled as too short to mean anything.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUDY = "linear-state-tracking"

# (label, task, options, chance, train length, test lengths)
TASKS = [
    ("parity", "state_parity", {}, 1 / 2, 16, (16, 32, 64)),
    ("S3", "permutation", {"group": "s3"}, 1 / 6, 16, (16, 32, 64)),
    ("S5", "permutation", {"group": "s5"}, 1 / 120, 16, (16, 32, 64)),
    ("flip-flop", "flipflop", {}, 1 / 2, 32, (32, 64, 128)),
]
# (label, method, method options): the same width, depth and heads; the ablation only on parity
MODEL = {"n_layer": 2, "n_embd": 128, "n_head": 4}
METHODS = [
    ("gated_deltanet", "gated_deltanet", {**MODEL, "negative_eigenvalues": True}),
    ("transformer", "transformer", dict(MODEL)),
    ("gated_deltanet, beta in (0,1)", "gated_deltanet", {**MODEL, "negative_eigenvalues": False}),
]
ABLATION_TASKS = {"parity"}
FULL = {"seeds": (0, 1, 2), "steps": 500, "batch_size": 256, "train_n": 20000, "eval_n": 512, "evals": 3, "lr": 1e-3}
QUICK = {"seeds": (0, 1), "steps": 20, "batch_size": 64, "train_n": 1000, "eval_n": 64, "evals": 2, "lr": 1e-3}

# two-sided 95% Student t quantiles by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def tokens_per_example(task: str, length: int) -> int:
    """Longest training text in tokens: the symbols (2 per flip-flop instruction), newline, marker, answer, eos."""
    return (2 * length if task == "flipflop" else length) + 4


def grid(quick: bool, steps: int | None = None) -> list:
    """Every RunSpec of the study (`steps` overrides the plan's optimizer steps)."""
    from baselines.suites import RunSpec

    plan = {**(QUICK if quick else FULL), **({"steps": steps} if steps else {})}
    specs = []
    for label, task, options, _, length, tests in TASKS:
        if quick and label not in ("parity", "flip-flop"):
            continue
        tests = tests[:2] if quick else tests
        n_positions = tokens_per_example(task, max(tests)) + 8  # the same table for every run of a task
        for method_label, method, method_options in METHODS:
            if "beta in (0,1)" in method_label and label not in ABLATION_TASKS:
                continue
            for seed in plan["seeds"]:
                for test_length in tests:
                    specs.append(RunSpec(
                        method=method, task=task,
                        task_options={**options, "length": length, "test_length": test_length},
                        method_options={**method_options, "max_new_tokens": 4},
                        steps=plan["steps"], batch_size=plan["batch_size"], lr=plan["lr"], model_size="tiny",
                        n_positions=n_positions, seed=seed, train_n=plan["train_n"], evals=plan["evals"],
                        valid_n=plan["eval_n"], test_n=plan["eval_n"], eval_batch_size=256, latency_n=4, suite=STUDY))
    return specs


def _run_one(spec_dict: dict, device: str, results_dir: str, start_by: float | None) -> tuple[str, str, str | None]:
    """One harness run in a worker process: (status, what, the form that trained gated_deltanet);
    a run whose turn comes after `start_by` (a time.time()) is skipped."""
    from baselines.harness import RunFailed, RunOptions, execute
    from baselines.suites import RunSpec

    import torch

    torch.set_num_threads(1)
    spec = RunSpec(**spec_dict)
    options = RunOptions(device=device, results_dir=Path(results_dir), checkpoint_every=0, progress=False,
                         threads=1)
    what = f"{spec.task} {spec.task_options} {spec.method} {spec.method_options.get('negative_eigenvalues', '')} s{spec.seed}"
    if start_by is not None and time.time() > start_by:
        return "skipped (deadline)", what, None
    from baselines.models.deltanet import kernel_status

    try:
        result = execute(spec, options)[0]
    except RunFailed as exc:
        return "failed", f"{what}: {exc}", None
    except Exception as exc:  # one broken run is reported, the others go on
        return "error", f"{what}: {type(exc).__name__}: {exc}", None
    kernel = None
    if spec.method == "gated_deltanet":  # asked after the run: a kernel that failed at run time says so
        kernel = kernel_status("cpu" if result.environment.device == "cpu" else "cuda",
                               spec.method_options.get("kernel", "auto"))
    return "completed", f"{what}: accuracy {result.headline().accuracy:.3f} in {result.train['time_s']:.0f}s", kernel


def run_all(specs: list, device: str, workers: int, results_dir: Path, study_dir: Path,
            deadline_s: float | None) -> None:
    """Every spec in `workers` processes (seed 0 of every configuration first, then seed 1, ...);
    runs whose turn comes after `deadline_s` are skipped, so a cut study has fewer seeds, not fewer points."""
    started = time.time()
    start_by = None if deadline_s is None else started + deadline_s
    specs = sorted(specs, key=lambda s: s.seed)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_run_one, asdict(spec), device, str(results_dir), start_by) for spec in specs]
        outcomes = []
        for i, future in enumerate(as_completed(futures), 1):
            try:
                outcomes.append(future.result())
            except Exception as exc:  # the worker process itself died
                outcomes.append(("error", f"worker: {type(exc).__name__}: {exc}", None))
            status, what, _ = outcomes[-1]
            print(f"[{i}/{len(specs)} {time.time() - started:.0f}s] {status}: {what}", flush=True)
    kernels: dict[str, int] = {}
    for status, _, kernel in outcomes:
        if kernel:
            kernels[kernel] = kernels.get(kernel, 0) + 1
    study_dir.mkdir(parents=True, exist_ok=True)  # which form trained gated_deltanet: runs per kernel
    (study_dir / "kernels.json").write_text(json.dumps(kernels, indent=2) + "\n", encoding="utf-8")
    print(f"{sum(o[0] == 'completed' for o in outcomes)} of {len(specs)} runs completed in "
          f"{time.time() - started:.0f}s", flush=True)


# -- aggregation ----------------------------------------------------------------------------------

def interval(values: list[float]) -> dict:
    """mean, std (n-1), n and the 95% t-interval of the mean (None below 2 values)."""
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return {"mean": mean, "std": None, "n": n, "ci95": None}
    std = statistics.stdev(values)
    half = T95.get(n - 1, 1.96) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "n": n, "ci95": [mean - half, mean + half]}


def parameter_counts(vocab_size: int, n_positions: int) -> dict[str, int]:
    """Parameters of the study's models for one task (vocabulary and position table matter)."""
    from baselines.models.deltanet import DeltaNetConfig, GatedDeltaNet
    from baselines.models.gpt import GPT, GPTConfig, count_parameters

    head_dim = MODEL["n_embd"] // MODEL["n_head"]
    return {"gated_deltanet": count_parameters(GatedDeltaNet(DeltaNetConfig(vocab_size=vocab_size, n_positions=n_positions,
                                                                            head_dim=head_dim, **MODEL))),
            "transformer": count_parameters(GPT(GPTConfig(vocab_size=vocab_size, n_positions=n_positions, **MODEL)))}


def method_label(result) -> str:
    for label, method, options in METHODS:
        if result.method == method and all(result.method_config.get(k) == v for k, v in options.items()):
            return label
    return result.method


def study_results(results_dir: Path) -> list:
    """The completed runs of this study under results_dir/<task>/<method>/*.json (studies/ is not a task)."""
    from baselines.results import Result

    out = []
    for task in ("state_parity", "permutation", "flipflop"):
        for path in sorted((results_dir / task).glob("*/*.json")):
            if not path.name.startswith("."):
                result = Result.model_validate_json(path.read_text(encoding="utf-8"))
                if result.suite == STUDY and result.status == "completed":
                    out.append(result)
    return out


def summarize(results_dir: Path, study_dir: Path, quick: bool) -> dict:
    plan = dict(QUICK if quick else FULL)
    latest: dict[tuple, object] = {}
    for result in study_results(results_dir):
        key = (result.task["name"], json.dumps(result.task["options"], sort_keys=True), method_label(result), result.seed)
        if key not in latest or (result.finished_at or "") > (latest[key].finished_at or ""):
            latest[key] = result
    rows = []
    for label, task, options, chance, length, tests in TASKS:
        for test_length in tests:
            for m_label, method, _ in METHODS:
                runs = [r for (t, o, m, _), r in latest.items()
                        if t == task and m == m_label and json.loads(o).get("test_length") == test_length
                        and all(json.loads(o).get(k) == v for k, v in options.items())]
                if not runs:
                    continue
                runs.sort(key=lambda r: r.seed)
                first = runs[0]
                params = parameter_counts(first.model["vocab_size"], first.model["n_positions"])
                rows.append({
                    "task": label, "task_name": task, "task_options": first.task["options"],
                    "task_version": first.task["version"], "method": m_label, "train_length": length,
                    "test_length": test_length, "chance": chance, "seeds": [r.seed for r in runs],
                    "accuracy": interval([r.headline().accuracy for r in runs]),
                    "per_seed_accuracy": [r.headline().accuracy for r in runs],
                    "inference_flops": interval([r.headline().inference_flops for r in runs]),
                    "final_loss": interval([r.train["final_loss"] for r in runs]),
                    "optimizer_steps": sorted({r.budget.optimizer_steps for r in runs}),
                    "n_params": params["transformer" if method == "transformer" else "gated_deltanet"],
                    "n_test_examples": first.headline().n_examples, "run_ids": [r.run_id for r in runs],
                    "device": first.environment.device, "git_commit": first.environment.git_commit,
                })
    kernels = study_dir / "kernels.json"  # written by run_all: gated_deltanet runs per form of the recurrence
    kernel = json.loads(kernels.read_text(encoding="utf-8")) if kernels.is_file() else None
    summary = {
        "study": STUDY,
        "title": "State tracking: gated DeltaNet against the transformer, by test length",
        "quick": quick,
        "too_short_to_mean_anything": quick,
        "command": "bash benchmarks/gpu_linear.sh  (python -m benchmarks.linear_study --device cuda)",
        "model": {**MODEL, "head_dim": MODEL["n_embd"] // MODEL["n_head"],
                  "state_size_per_layer": MODEL["n_head"] * (MODEL["n_embd"] // MODEL["n_head"]) ** 2},
        "budget": {k: v for k, v in plan.items() if k != "seeds"},
        "seeds": list(plan["seeds"]),
        "model_selection": "the best of 3 validation evaluations during training (validation lengths as in "
                           "training); the test split evaluated once on those weights",
        "data": "generated locally by the tasks (baselines/tasks/state_parity.py, permutation.py, flipflop.py): "
                "training and validation lengths uniform in [min, length], test examples of exactly test_length; "
                "the stream of examples is fixed by (task, options, split, seed)",
        "kernel": kernel,  # {"fla <version>" or "torch (why fla did not run)": gated_deltanet runs}
        "statistics": "mean and sample std over seeds; ci95 = mean +- t(0.975, n-1) * std / sqrt(n)",
        "rows": rows,
    }
    generation = study_dir / "generation.json"
    if generation.is_file():  # benchmarks/linear_generation.py, when it ran
        summary["generation"] = json.loads(generation.read_text(encoding="utf-8"))
    study_dir.mkdir(parents=True, exist_ok=True)
    (study_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (study_dir / "table.md").write_text(table(summary), encoding="utf-8")
    plot(summary, study_dir)
    return summary


def table(summary: dict) -> str:
    """The accuracy table in Markdown: one row per (task, model), one column per test length."""
    def cell(acc: dict) -> str:
        if acc["ci95"] is None:
            return f"{acc['mean']:.3f} (n={acc['n']})"
        return f"{acc['mean']:.3f} ± {acc['std']:.3f} [{acc['ci95'][0]:.2f}, {acc['ci95'][1]:.2f}]"

    lines = []
    if summary["quick"]:
        lines.append("QUICK SMOKE: too short to mean anything.\n")
    lines.append("Test accuracy, mean ± std over seeds [95% t-interval]; L = longest training length.\n")
    for task, _, _, chance, length, tests in TASKS:
        rows = [r for r in summary["rows"] if r["task"] == task]
        if not rows:
            continue
        shown = sorted({r["test_length"] for r in rows})
        lines.append(f"| {task} (chance {chance:.3g}) | params | " + " | ".join(
            f"{n} ({n // length}L)" for n in shown) + " |")
        lines.append("|---|---|" + "---|" * len(shown))
        for m_label, _, _ in METHODS:
            mine = {r["test_length"]: r for r in rows if r["method"] == m_label}
            if mine:
                params = next(iter(mine.values()))["n_params"]
                lines.append(f"| {m_label} | {params:,} | " + " | ".join(
                    cell(mine[n]["accuracy"]) if n in mine else "-" for n in shown) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(summary: dict, study_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t[0] for t in TASKS if any(r["task"] == t[0] for r in summary["rows"])]
    if not tasks:
        return
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.4), squeeze=False)
    styles = {"gated_deltanet": ("C0", "o"), "transformer": ("C3", "s"), "gated_deltanet, beta in (0,1)": ("C2", "^")}
    for ax, task in zip(axes[0], tasks):
        rows = [r for r in summary["rows"] if r["task"] == task]
        for m_label, (color, marker) in styles.items():
            mine = sorted((r for r in rows if r["method"] == m_label), key=lambda r: r["test_length"])
            if not mine:
                continue
            x = [r["test_length"] for r in mine]
            y = [r["accuracy"]["mean"] for r in mine]
            low = [y_i - (r["accuracy"]["ci95"] or [y_i, y_i])[0] for y_i, r in zip(y, mine)]
            high = [(r["accuracy"]["ci95"] or [y_i, y_i])[1] - y_i for y_i, r in zip(y, mine)]
            ax.errorbar(x, y, yerr=[low, high], color=color, marker=marker, capsize=3, label=m_label)
        ax.axhline(rows[0]["chance"], color="grey", linestyle=":", label="chance")
        ax.axvline(rows[0]["train_length"], color="grey", linestyle="--", linewidth=0.8, label="longest training length")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({r["test_length"] for r in rows}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(task)
        ax.set_xlabel("test length")
    axes[0][0].set_ylabel("test accuracy (mean, 95% CI)")
    handles = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    seeds = max((r["accuracy"]["n"] for r in summary["rows"]), default=0)
    title = f"{summary['title']} ({seeds} seeds)"
    if summary["quick"]:
        title += "\nQUICK SMOKE: too short to mean anything"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    for ext in ("svg", "png"):
        fig.savefig(study_dir / f"accuracy.{ext}", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=max(1, min(8, (os.cpu_count() or 2) // 2)))
    parser.add_argument("--quick", action="store_true", help="a smoke of the same pipeline (labelled as such)")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where the runs go (default results/, or /tmp/linear-quick/results with --quick)")
    parser.add_argument("--study-dir", type=Path, default=None)
    parser.add_argument("--summarize-only", action="store_true")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per run (default: the plan's)")
    parser.add_argument("--deadline-s", type=float, default=None, help="skip runs whose turn comes after this many seconds")
    args = parser.parse_args(argv)
    base = Path("/tmp/linear-quick") if args.quick else REPO
    results_dir = args.results_dir or base / "results"
    study_dir = args.study_dir or base / "results" / "studies" / STUDY
    if not args.summarize_only:
        specs = grid(args.quick, args.steps)
        print(f"{len(specs)} runs on {args.device} with {args.workers} workers", flush=True)
        run_all(specs, args.device, args.workers, results_dir, study_dir, args.deadline_s)
    summary = summarize(results_dir, study_dir, args.quick)
    for row in summary["rows"]:
        acc = row["accuracy"]
        ci = acc["ci95"] and f"[{acc['ci95'][0]:.3f}, {acc['ci95'][1]:.3f}]"
        print(f"{row['task']:10} {row['method']:32} L={row['test_length']:4} acc {acc['mean']:.3f} "
              f"+- {acc['std'] or 0:.3f} ci95 {ci} (chance {row['chance']:.3f}, {row['n_params']} params)")
    print(f"summary: {study_dir / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
