"""The masked-diffusion study: MDM against an autoregressive model of matched size on sudoku and
Countdown-4, 3 seeds each, through the harness; accuracy against denoising steps; FLOPs per answer.

    python benchmarks/diffusion_study.py run --task sudoku --method mdm --seed 0 [--quick]
    python benchmarks/diffusion_study.py summarize [--quick]

`run` trains one (task, method, seed) with the study's recipe (STUDY below) and evaluates it on
the test split: MDM at every denoising-step count of the sweep (one result file each), the AR
baseline (`no_cot` on the same backbone size: question -> answer left to right) once. It lists
the result files it wrote in the run manifest folder. `summarize` reads the manifests and writes
results/studies/mdm-vs-ar/summary.json and plot.svg/plot.png (see the README there). --quick is
the same pipeline with a few steps and examples, written under build/ (a check, not a result).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

STUDY = "mdm-vs-ar"
TASKS = {  # per task: harness settings shared by both methods, span lengths, the steps sweep
    "sudoku": {"task_options": {"givens": 28, "variants": 16}, "train_n": 64000, "steps": 1200, "batch_size": 128,
               "n_positions": 192, "mdm_span": 82, "ar_tokens": 84, "sweep": [1, 2, 4, 8, 16, 32, 64, 82]},
    "countdown": {"task_options": {"numbers": 4}, "train_n": 200000, "steps": 800, "batch_size": 256,
                  "n_positions": 128, "mdm_span": 48, "ar_tokens": 50, "sweep": [1, 2, 4, 8, 16, 32, 48]},
}
METHODS = {"mdm": {"sampler": "confidence", "token_reweighting": True}, "no_cot": {}}
RECIPE = {"lr": 1e-3, "model_size": "small", "evals": 4, "valid_n": 500, "test_n": 500,
          "eval_batch_size": 250, "latency_n": 4}  # the best of 4 validation evaluations is kept; test once
QUICK = {"steps": 20, "train_n": 2048, "evals": 2, "valid_n": 32, "test_n": 32, "eval_batch_size": 32, "latency_n": 1}
SEEDS = (0, 1, 2)
PUBLISHED = {  # Ye et al. 2024 (arXiv 2410.14157), abstract: from-scratch ~6M-parameter MDM (MGDM) vs AR
    "sudoku": {"mdm": 1.000, "no_cot": 0.207},
    "countdown": {"mdm": 0.915, "no_cot": 0.458},
}
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def folders(quick: bool) -> tuple[Path, Path, Path]:
    """(results dir, manifest dir, study output dir)."""
    if quick:
        base = REPO / "build" / "diffusion-quick"
        return base / "results", base / "manifests", base / "studies" / STUDY
    return REPO / "results", REPO / "build" / "diffusion-study" / "manifests", REPO / "results" / "studies" / STUDY


def spec_for(task: str, method: str, seed: int, quick: bool, steps: int | None, **overrides):
    from baselines.suites import RunSpec

    t = TASKS[task]
    tokens = t["mdm_span"] if method == "mdm" else t["ar_tokens"]
    spec = RunSpec(method=method, task=task, task_options=dict(t["task_options"]),
                   method_options={"max_new_tokens": tokens, **METHODS[method]}, steps=steps or t["steps"],
                   batch_size=t["batch_size"], n_positions=t["n_positions"], seed=seed, train_n=t["train_n"],
                   suite=STUDY, **RECIPE)
    if quick:
        spec = replace(spec, **{**QUICK, "steps": steps or QUICK["steps"]})
    return replace(spec, **{k: v for k, v in overrides.items() if v is not None})


def cmd_run(args: argparse.Namespace) -> int:
    from baselines.harness import RunFailed, RunOptions, execute

    results_dir, manifests, _ = folders(args.quick)
    spec = spec_for(args.task, args.method, args.seed, args.quick, args.steps, batch_size=args.batch_size,
                    model_size=args.model_size)
    sweep = TASKS[args.task]["sweep"] if args.method == "mdm" else None
    if sweep and args.quick:
        sweep = [1, 4, TASKS[args.task]["mdm_span"]]
    options = RunOptions(device=args.device, results_dir=results_dir, checkpoint_every=0, progress=False)
    try:
        results = execute(spec, options, sweep)
    except RunFailed as exc:  # recorded, so that the summary reports it
        results = [exc.result] if exc.result is not None else []
        print(f"{args.task} {args.method} seed {args.seed}: FAILED: {exc}", file=sys.stderr)
    paths = [str((results_dir / r.task["name"] / r.method / f"{r.run_id}.json").relative_to(REPO)) for r in results]
    manifests.mkdir(parents=True, exist_ok=True)
    (manifests / f"{args.task}-{args.method}-s{args.seed}.json").write_text(json.dumps(paths, indent=1) + "\n")
    for r in results:
        if r.status == "completed":
            print(f"{args.task} {args.method} seed {args.seed} {r.knob or ''}={r.knob_value}: "
                  f"test accuracy {r.headline().accuracy:.3f}")
    return 0 if all(r.status == "completed" for r in results) and results else 1


# -- summary -----------------------------------------------------------------------------------------

def interval(values: list[float]) -> dict:
    """mean, sample std and the 95% t-interval of the mean (n >= 2), n."""
    n = len(values)
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if n > 1 else None
    half = T975.get(n - 1, 1.96) * std / math.sqrt(n) if std is not None else None
    return {"n": n, "mean": mean, "std": std, "ci95": [mean - half, mean + half] if half is not None else None,
            "values": values}


def load_runs(quick: bool) -> list[dict]:
    _, manifests, _ = folders(quick)
    runs = []
    for manifest in sorted(manifests.glob("*.json")):
        for path in json.loads(manifest.read_text()):
            runs.append({"path": path, **json.loads((REPO / path).read_text())})
    if not runs:
        raise SystemExit(f"no run manifests in {manifests}: run `diffusion_study.py run` first")
    return runs


def mdm_parameters(run: dict) -> int:
    """Parameters of the MDM denoiser for the run's model (the backbone's plus the [MASK] row)."""
    from baselines.models.denoiser import Denoiser, DenoiserConfig
    from baselines.models.gpt import count_parameters

    m = run["model"]
    config = DenoiserConfig(vocab_size=m["vocab_size"], n_positions=m["n_positions"], n_layer=m["n_layer"],
                            n_embd=m["n_embd"], n_head=m["n_head"])
    return count_parameters(Denoiser(config))


def summarize(runs: list[dict], quick: bool) -> dict:
    table, curve = [], []
    for task in TASKS:
        for method in METHODS:
            mine = [r for r in runs if r["task"]["name"] == task and r["method"] == method and r["status"] == "completed"]
            if not mine:
                continue
            trained = TASKS[task]["mdm_span"] if method == "mdm" else None
            knobs = sorted({r["knob_value"] for r in mine}, key=lambda k: -1 if k is None else k)
            for knob in knobs:
                at = [r for r in mine if r["knob_value"] == knob]
                m = [next(x for x in r["eval"] if x["split"] == "test") for r in at]  # test, once
                row = {"task": task, "method": method, "knob": at[0]["knob"], "steps": knob,
                       "seeds": sorted(r["seed"] for r in at),
                       "accuracy": interval([x["accuracy"] for x in m]),
                       "flops_per_answer": statistics.fmean(x["inference_flops"] for x in m),
                       "forward_passes": statistics.fmean(x["forward_passes"] for x in m),
                       "generated_tokens": statistics.fmean(x["generated_tokens"] for x in m),
                       "latency_ms_batchN": statistics.fmean(x["latency_ms_batchN"] or 0.0 for x in m),
                       "n_test": m[0]["n_examples"]}
                if method != "mdm" or knob == trained:
                    params = mdm_parameters(at[0]) if method == "mdm" else at[0]["model"]["n_params"]
                    table.append({**row, "n_params": params, "optimizer_steps": at[0]["budget"]["optimizer_steps"],
                                  "batch_size": at[0]["budget"]["batch_size"],
                                  "train_flops": statistics.fmean(r["budget"]["train_flops"] for r in at),
                                  "train_time_s": statistics.fmean(r["train"]["time_s"] for r in at),
                                  "ms_per_train_step": 1000 * statistics.fmean(
                                      r["train"]["time_s"] / max(1, r["budget"]["optimizer_steps"]) for r in at),
                                  "final_loss": interval([r["train"]["final_loss"] for r in at]),
                                  "published": PUBLISHED[task][method]})
                if method == "mdm":
                    curve.append(row)
    first = runs[0]
    steps = {r["budget"]["optimizer_steps"] for r in runs}
    short = quick or max(steps) < 5000
    return {
        "study": STUDY,
        "title": "Masked diffusion against autoregression: sudoku and Countdown-4",
        "quick": quick,
        "label": ("QUICK CHECK: a few optimizer steps, not a result" if quick else
                  "short training budget: far below the paper's (see notes)" if short else None),
        "notes": ("Budget: about 2.4 epochs of the 64k generated sudoku training puzzles and 1 epoch of the 200k "
                  "countdown puzzles, sized so that the 12 runs fit a few minutes of one shared GPU; Ye et al. "
                  "train their models far longer. Both methods get the same steps x batch on the same data."),
        "command": "bash benchmarks/gpu_diffusion.sh" + (" (QUICK=1)" if quick else ""),
        "selection": "the weights with the best validation accuracy among 4 evaluations during training "
                     "(500 validation puzzles); the test split evaluated once on them",
        "chance": {"sudoku": 0.0, "countdown": 0.0,
                   "why": "a random 81-digit grid or a random equation list is essentially never valid "
                          "(sudoku: at most 9^-53 per guess); chance accuracy is ~0 for both tasks"},
        "recipe": {**RECIPE, **({k: v for k, v in QUICK.items()} if quick else {}),
                   "tasks": {t: {k: v for k, v in c.items()} for t, c in TASKS.items()},
                   "methods": METHODS, "seeds": list(SEEDS)},
        "provenance": {
            "data": "generated locally and deterministically by the tasks (baselines/tasks/sudoku.py, countdown.py) "
                    "from the run's seed; sudoku: 28 givens, unique solutions checked by a solver, training "
                    "puzzles in groups of 16 symmetric variants of one dug puzzle; countdown: 4 numbers in "
                    "1..99, targets 10..100, splits by a hash of the puzzle",
            "tasks": {t: next(r["task"] for r in runs if r["task"]["name"] == t) for t in TASKS
                      if any(r["task"]["name"] == t for r in runs)},
            "device": first["environment"]["device"],
            "precision": first["environment"]["precision"],
            "git_commit": first["environment"]["git_commit"],
            "versions": first["environment"]["versions"],
            "result_files": sorted(r["path"] for r in runs),
            "contention": "all runs shared one GPU at the same time (and with other jobs): latencies are "
                          "measured under contention; accuracy and FLOPs are not affected",
        },
        "published": {"source": "Ye et al. 2024, arXiv 2410.14157 (abstract); their sudoku puzzles come from a "
                                "public set, ours are generated with 28 givens; their models train far longer",
                      "accuracy": PUBLISHED},
        "table": table,
        "steps_curve": curve,
        "failed_runs": [{"path": r["path"], "failure": r["failure"]} for r in runs if r["status"] != "completed"],
        "fields": {
            "table": "one row per task x method at the trained setting (MDM: one denoising step per span token)",
            "accuracy": "fraction of test answers the task's verifier accepts: mean, sample std, 95% t-interval "
                        "of the mean over seeds, per-seed values",
            "flops_per_answer": "analytic forward FLOPs per test answer (compute contract): MDM counts "
                                "bidirectional attention over prompt + span at every step; AR a KV-cached "
                                "causal decode",
            "steps_curve": "MDM accuracy at each number of denoising steps (the compute knob), same models",
            "n_params": "parameters of the trained model (MDM: + one [MASK] embedding row)",
        },
    }


def plot(summary: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in TASKS if any(r["task"] == t for r in summary["table"])]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
    ax = axes[0]
    width = 0.38
    colours = {"mdm": "#1f77b4", "no_cot": "#d62728"}
    names = {"mdm": "MDM (masked diffusion)", "no_cot": "AR (left to right)"}
    for j, method in enumerate(METHODS):
        for i, task in enumerate(tasks):
            row = next((r for r in summary["table"] if r["task"] == task and r["method"] == method), None)
            if row is None:
                continue
            acc = row["accuracy"]
            err = None if acc["ci95"] is None else [[acc["mean"] - acc["ci95"][0]], [acc["ci95"][1] - acc["mean"]]]
            x = i + (j - 0.5) * width
            ax.bar(x, acc["mean"], width, yerr=err, capsize=4, color=colours[method],
                   label=names[method] if i == 0 else None)
            ax.scatter([x], [PUBLISHED[task][method]], marker="*", s=90, color="black", zorder=3,
                       label="published (Ye et al.)" if i == 0 and j == 0 else None)
    ax.axhline(0.0, color="grey", linestyle="--", linewidth=1, label="chance (~0)")
    ax.set_xticks(range(len(tasks)), [t.replace("countdown", "Countdown-4") for t in tasks])
    ax.set_ylim(-0.02, 1.05)
    ax.set_ylabel("test accuracy (mean, 95% t-interval over seeds)")
    ax.set_title("matched size, same data and budget")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    ax = axes[1]
    for task, marker in zip(tasks, "os"):
        rows = sorted((r for r in summary["steps_curve"] if r["task"] == task), key=lambda r: r["steps"])
        xs = [r["steps"] for r in rows]
        means = [r["accuracy"]["mean"] for r in rows]
        ax.plot(xs, means, marker=marker, label=f"MDM, {task}")
        if all(r["accuracy"]["ci95"] for r in rows):
            ax.fill_between(xs, [r["accuracy"]["ci95"][0] for r in rows], [r["accuracy"]["ci95"][1] for r in rows],
                            alpha=0.2)
        ar = next((r for r in summary["table"] if r["task"] == task and r["method"] == "no_cot"), None)
        if ar is not None:
            ax.axhline(ar["accuracy"]["mean"], linestyle=":", color=ax.lines[-1].get_color(),
                       label=f"AR, {task}")
    ax.axhline(0.0, color="grey", linestyle="--", linewidth=1, label="chance (~0)")
    ax.set_xscale("log", base=2)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("denoising steps (compute knob)")
    ax.set_ylabel("test accuracy")
    ax.set_title("accuracy against denoising steps")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    if summary["label"]:
        fig.suptitle(summary["label"], fontsize=9, color="firebrick")
    fig.tight_layout()
    paths = [out / "plot.svg", out / "plot.png"]
    for path in paths:
        fig.savefig(path, dpi=130)
    plt.close(fig)
    return paths


def cmd_summarize(args: argparse.Namespace) -> int:
    _, _, out = folders(args.quick)
    summary = summarize(load_runs(args.quick), args.quick)
    out.mkdir(parents=True, exist_ok=True)
    try:
        paths = plot(summary, out)
    except ImportError as exc:  # the numbers do not depend on the plot
        print(f"warning: no plot ({exc}); install matplotlib", file=sys.stderr)
        paths = []
    summary["plots"] = [p.name for p in paths]
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{'task':<10} {'method':<7} {'steps':>5} {'accuracy (mean +- std, 95% CI)':<40} {'FLOPs/answer':>12}")
    for row in summary["table"] + [r for r in summary["steps_curve"]]:
        a = row["accuracy"]
        ci = f"[{a['ci95'][0]:.3f}, {a['ci95'][1]:.3f}]" if a["ci95"] else "-"
        std = f"{a['std']:.3f}" if a["std"] is not None else "-"
        print(f"{row['task']:<10} {row['method']:<7} {row['steps'] or '-':>5} {a['mean']:.3f} +- {std} {ci:<22} "
              f"{row['flops_per_answer']:>12.3g}")
    for row in summary["table"]:
        print(f"{row['task']} {row['method']}: {row['ms_per_train_step']:.0f} ms per training step "
              f"({row['optimizer_steps']} steps x {row['batch_size']}, under this run's contention)")
    print(f"wrote {out / 'summary.json'} and {', '.join(str(p) for p in paths)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train and evaluate one task x method x seed")
    run.add_argument("--task", choices=list(TASKS), required=True)
    run.add_argument("--method", choices=list(METHODS), required=True)
    run.add_argument("--seed", type=int, required=True)
    run.add_argument("--steps", type=int, help="optimizer steps (default: the study's)")
    run.add_argument("--batch-size", type=int, help="override the study's batch size (CPU checks)")
    run.add_argument("--model-size", help="override the study's model size (CPU checks)")
    run.add_argument("--device", default="auto")
    run.add_argument("--quick", action="store_true")
    run.set_defaults(func=cmd_run)
    summ = sub.add_parser("summarize", help="summary.json and the plot from the run manifests")
    summ.add_argument("--quick", action="store_true")
    summ.set_defaults(func=cmd_summarize)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
