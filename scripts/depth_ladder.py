"""The depth studies of the looped family, run through the harness and aggregated.

depth-ladder    (k x L) looped against (kL x 1) dense (matched FLOPs) and (k x 1) (matched
                parameters) at effective depths k, 2k, 4k on p-hop induction and n-ary addition,
                3 seeds each; the (k x 4) runs are also evaluated at 1..6 loops (beyond training).
adaptive-depth  fixed depth (those looped sweeps) against Universal Transformer ACT halting
                (thresholds on the same trained models) and recurrent depth (fixed recurrences,
                then the KL and norm exits on the same checkpoints): accuracy against the mean
                iterations per generated token and the block applications per token.

Every run is a normal harness run (baselines.harness.execute) writing a Result JSON under
results/studies/<study>/runs/; `summarize` aggregates them into results/studies/<study>/summary.json
(mean, std and 95% t-interval over seeds, chance level, provenance) and plots (SVG and PNG).

    python -m scripts.depth_ladder plan                       the runs, one line each
    python -m scripts.depth_ladder run --shard 0 --shards 8   this process's share of the runs
    python -m scripts.depth_ladder summarize                  tables, summary.json, plots
    python -m scripts.depth_ladder plot                       redraw the plots from summary.json
    python -m scripts.depth_ladder all --device cpu --quick   everything in one process (smoke)

--quick: a few steps of tiny models, the same pipeline; its summaries say they mean nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDIES_DIR = REPO_ROOT / "results" / "studies"
QUICK_DIR = REPO_ROOT / "build" / "studies-quick"
LADDER, ADAPTIVE = "depth-ladder", "adaptive-depth"
K = 2  # blocks in the loop body
DEPTH_LOOPS = (1, 2, 4)  # L: effective depths K*L
SWEEP_LOOPS = [1, 2, 3, 4, 5, 6]  # the (K x 4) runs evaluated at these loop counts
ACT_THRESHOLDS = [0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0]
RECURRENCES = [1, 2, 3, 4, 6, 8]
EXITS = [("kl", 1e-2), ("kl", 1e-3), ("kl", 1e-4), ("norm", 0.1), ("norm", 0.03)]
EXIT_MAX = 8  # the most iterations a token may take under an exit criterion
SEEDS = (0, 1, 2)
TASKS = {"p_hop": {"hops": 3, "length": 32, "alphabet": 8}, "addition": {"operands": 8, "digits": 2}}
T_95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


@dataclass
class Scale:
    steps: int = 1000
    batch_size: int = 256
    width: int = 256
    heads: int = 4
    lr: float = 1e-3
    train_n: int = 64_000
    eval_n: int = 500
    quick: bool = False

    @classmethod
    def pick(cls, quick: bool) -> "Scale":
        if quick:
            return cls(steps=20, batch_size=32, width=32, heads=4, lr=1e-3, train_n=640, eval_n=32, quick=True)
        return cls()


@dataclass
class Job:
    study: str
    label: str  # the configuration, e.g. "looped 2x4", "dense 8x1", "act", "recurrent"
    spec: object  # RunSpec
    knob_values: list | None = None
    exits: list = field(default_factory=list)  # (criterion, threshold) evaluated on the same checkpoint

    @property
    def name(self) -> str:
        return f"{self.study}/{self.spec.task}/{self.label}/s{self.spec.seed}"

    @property
    def cost(self) -> float:
        o = self.spec.method_options
        # block applications per step, and the exit evaluations (each re-reads its data): longest first
        return o.get("layers", 2) * o.get("loops", o.get("max_steps", 1)) + 2 * o.get("mean_recurrence", 0) \
            + 3 * len(self.exits)


def jobs(scale: Scale) -> list[Job]:
    from baselines.suites import RunSpec

    out = []

    def spec(method, task, seed, study, **options):
        return RunSpec(method=method, task=task, task_options=dict(TASKS[task]), steps=scale.steps,
                       batch_size=scale.batch_size, lr=scale.lr, model_size="tiny", n_positions=128, seed=seed,
                       train_n=scale.train_n, eval_split="test", eval_n=scale.eval_n, eval_batch_size=250,
                       latency_n=0, suite=study,
                       method_options={"width": scale.width, "heads": scale.heads, "max_new_tokens": 8, **options})

    for task in TASKS:
        for seed in SEEDS:
            for loops in DEPTH_LOOPS:  # (K x L); L = 1 is also the dense K-layer model
                sweep = SWEEP_LOOPS if loops == max(DEPTH_LOOPS) else None
                out.append(Job(LADDER, f"looped {K}x{loops}", spec("looped", task, seed, LADDER, layers=K, loops=loops),
                               sweep))
            for loops in DEPTH_LOOPS[1:]:  # (KL x 1)
                out.append(Job(LADDER, f"dense {K * loops}x1",
                               spec("looped", task, seed, LADDER, layers=K * loops, loops=1)))
            out.append(Job(ADAPTIVE, "act", spec("universal_act", task, seed, ADAPTIVE, layers=K, max_steps=4,
                                                 halting_threshold=0.99, ponder_cost=0.01), ACT_THRESHOLDS))
            out.append(Job(ADAPTIVE, "recurrent", spec("recurrent_depth", task, seed, ADAPTIVE, prelude=1, core=K, coda=1,
                                                       mean_recurrence=3, backprop_depth=3), RECURRENCES, EXITS))
    # seed by seed (a run stopped at the deadline costs a seed, not a configuration), longest first
    return sorted(out, key=lambda j: (j.spec.seed, -j.cost))


def study_dir(study: str, quick: bool) -> Path:
    """results/studies/<study>, or build/studies-quick/<study> for a quick smoke (never published)."""
    return (QUICK_DIR if quick else STUDIES_DIR) / study


def run_dir(study: str, quick: bool) -> Path:
    return study_dir(study, quick) / "runs"


def checkpoint_folder(spec, checkpoint_dir: Path) -> Path:
    """Where the harness keeps the checkpoint of `spec` (its naming, baselines/harness.execute)."""
    from baselines import checkpoint
    from baselines.tasks import get_task_class

    identity = {k: v for k, v in asdict(spec).items() if k not in ("eval_split", "eval_n", "eval_batch_size", "latency_n")}
    identity["task_version"] = get_task_class(spec.task).version
    return checkpoint_dir / f"{spec.task}-{spec.method}-{checkpoint.run_key(identity)}"


def run_job(job: Job, device: str, quick: bool, checkpoint_dir: Path) -> None:
    from baselines.harness import RunOptions, execute

    options = RunOptions(device=device, results_dir=run_dir(job.study, quick), checkpoint_dir=checkpoint_dir,
                         checkpoint_every=job.spec.steps if job.exits else 0, progress=False)
    execute(job.spec, options, job.knob_values)
    for criterion, threshold in job.exits:  # the same weights, another exit rule: resume at the last step
        source = checkpoint_folder(job.spec, checkpoint_dir)
        if not (source / "checkpoint.pt").is_file():
            raise RuntimeError(f"{job.name}: no checkpoint at {source} (has the harness's checkpoint naming changed?)")
        other = replace(job.spec, method_options={**job.spec.method_options, "exit_criterion": criterion,
                                                  "exit_threshold": threshold})
        target = checkpoint_folder(other, checkpoint_dir)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        execute(other, replace(options, resume=True, checkpoint_every=0), [EXIT_MAX])


# -- aggregation ------------------------------------------------------------------------------------

def interval(values: list[float]) -> dict:
    """mean, std (n-1), and the 95% t-interval of the mean."""
    n = len(values)
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if n > 1 else 0.0
    half = T_95.get(n - 1, 1.96) * std / math.sqrt(n) if n > 1 else None
    return {"n": n, "mean": mean, "std": std, "ci95": [mean - half, mean + half] if half is not None else None,
            "values": values}


def load_runs(study: str, quick: bool) -> list[dict]:
    from baselines.result import read_results

    folder = run_dir(study, quick)
    return [r.model_dump() for r in read_results(folder)] if folder.is_dir() else []


def model_params(method: str, config: dict, vocab: int, n_positions: int) -> int:
    """Parameters of the model the method builds (blocks, embeddings, layer norms, adapter, halting)."""
    d = config["width"]
    block = 12 * d * d + 13 * d  # weights, biases, two layer norms
    blocks = {"looped": config.get("layers", 0), "universal_act": config.get("layers", 0),
              "recurrent_depth": config.get("prelude", 0) + config.get("core", 0) + config.get("coda", 0)}[method]
    extra = {"universal_act": d + 1, "recurrent_depth": 2 * d * d + d}.get(method, 0)
    return blocks * block + vocab * d + n_positions * d + 2 * d + extra


def task_chance(task: dict) -> float:
    from baselines.tasks import get_task

    return float(get_task(task["name"], **task["options"]).chance)


def provenance(runs: list[dict]) -> dict:
    first = runs[0]
    return {"data": "generated locally by the task generators (baselines/tasks/*.py), splits disjoint by hash",
            "git_commits": sorted({r["environment"]["git_commit"] or "unknown" for r in runs}),
            "git_dirty": any(r["environment"]["git_dirty"] for r in runs),
            "devices": sorted({r["environment"]["device"] for r in runs}),
            "precision": sorted({r["environment"]["precision"] for r in runs}),
            "versions": first["environment"]["versions"],
            "selection": "final checkpoint, evaluated once on the test split (the harness offers no "
                         "validation selection yet)",
            "budget": {"optimizer_steps": first["budget"]["optimizer_steps"], "batch_size": first["budget"]["batch_size"],
                       "train_examples": first["train"].get("train_examples")}}


def ladder_label(run: dict) -> str:
    c = run["method_config"]
    return f"looped {c['layers']}x{c['loops']}" if c["loops"] > 1 or c["layers"] == K else f"dense {c['layers']}x1"


def summarize_ladder(quick: bool) -> dict | None:
    runs = [r for r in load_runs(LADDER, quick) if r["status"] == "completed"]
    if not runs:
        return None
    rows, sweeps, verdicts = [], [], []
    for task in sorted({r["task"]["name"] for r in runs}):
        mine = [r for r in runs if r["task"]["name"] == task]
        chance = task_chance(mine[0]["task"])
        trained = [r for r in mine if r["knob_value"] == r["method_config"]["loops"]]
        by_label: dict[str, list[dict]] = {}
        for r in trained:
            by_label.setdefault(ladder_label(r), []).append(r)
        for label, group in sorted(by_label.items(), key=lambda kv: (kv[1][0]["method_config"]["layers"]
                                                                     * kv[1][0]["method_config"]["loops"], kv[0])):
            c = group[0]["method_config"]
            depth = c["layers"] * c["loops"]
            rows.append({"task": task, "model": label, "blocks": c["layers"], "loops": c["loops"], "effective_depth": depth,
                         "role": "base (k x 1)" if depth == K else ("looped (k x L)" if c["loops"] > 1 else "dense (kL x 1)"),
                         "params": model_params("looped", c, group[0]["model"]["vocab_size"], 128),
                         "train_flops": statistics.fmean(r["budget"]["train_flops"] for r in group),
                         "inference_flops": statistics.fmean(r["eval"][0]["inference_flops"] for r in group),
                         "accuracy": interval([r["eval"][0]["accuracy"] for r in group]),
                         "seeds": sorted(r["seed"] for r in group), "chance": chance})
        swept = [r for r in mine if r["method_config"]["loops"] == max(DEPTH_LOOPS) and r["method_config"]["layers"] == K]
        for loops in sorted({r["knob_value"] for r in swept}):
            group = [r for r in swept if r["knob_value"] == loops]
            sweeps.append({"task": task, "model": f"looped {K}x{max(DEPTH_LOOPS)}", "eval_loops": loops,
                           "beyond_training": loops > max(DEPTH_LOOPS),
                           "accuracy": interval([r["eval"][0]["accuracy"] for r in group]), "chance": chance})
        verdicts += ladder_verdicts(task, [r for r in rows if r["task"] == task])
    return {"study": LADDER, "quick": quick,
            "note": "QUICK SMOKE RUN: too short to mean anything" if quick else None,
            "claim": "(k x L) ~ (kL x 1) >> (k x 1): looping k blocks L times matches the kL-layer model of the "
                     "same FLOPs and beats the k-layer model of the same parameters (Saunshi et al. 2025)",
            "rule": "looped ~ dense: |mean difference| <= 0.05 or the 95% intervals overlap; looped >> base: "
                    "mean gain >= 0.10 and the looped interval above the base interval",
            "rows": rows, "sweep": sweeps, "verdicts": verdicts, "provenance": provenance(runs),
            "command": "python -m scripts.depth_ladder run --shard I --shards N; python -m scripts.depth_ladder summarize"}


def _overlap(a: dict, b: dict) -> bool:
    if a["ci95"] is None or b["ci95"] is None:
        return False
    return a["ci95"][0] <= b["ci95"][1] and b["ci95"][0] <= a["ci95"][1]


def ladder_verdicts(task: str, rows: list[dict]) -> list[dict]:
    base = next((r for r in rows if r["role"].startswith("base")), None)
    out = []
    for looped in (r for r in rows if r["role"].startswith("looped")):
        dense = next((r for r in rows if r["role"].startswith("dense") and r["effective_depth"] == looped["effective_depth"]), None)
        if dense is None or base is None:
            continue
        la, da, ba = looped["accuracy"], dense["accuracy"], base["accuracy"]
        matches = abs(la["mean"] - da["mean"]) <= 0.05 or _overlap(la, da)
        beats = la["mean"] - ba["mean"] >= 0.10 and la["ci95"] is not None and ba["ci95"] is not None \
            and la["ci95"][0] > ba["ci95"][1]
        out.append({"task": task, "depth": looped["effective_depth"], "looped": looped["model"], "dense": dense["model"],
                    "base": base["model"], "looped_minus_dense": la["mean"] - da["mean"],
                    "looped_minus_base": la["mean"] - ba["mean"], "looped_matches_dense": matches,
                    "looped_beats_base": beats, "claim_holds": matches and beats})
    return out


def iterations_per_token(run: dict) -> float:
    m = run["eval"][0]
    return m["forward_passes"] / max(m["generated_tokens"], 1e-9)


def blocks_per_token(method: str, config: dict, iterations: float) -> float:
    if method == "recurrent_depth":
        return config["prelude"] + config["coda"] + config["core"] * iterations
    return config["layers"] * iterations


def summarize_adaptive(quick: bool) -> dict | None:
    runs = [r for r in load_runs(ADAPTIVE, quick) + load_runs(LADDER, quick) if r["status"] == "completed"]
    runs = [r for r in runs if r["method"] != "looped" or
            (r["method_config"]["layers"] == K and r["method_config"]["loops"] == max(DEPTH_LOOPS))]
    if not any(r["method"] != "looped" for r in runs):
        return None
    points = []
    for task in sorted({r["task"]["name"] for r in runs}):
        mine = [r for r in runs if r["task"]["name"] == task]
        chance = task_chance(mine[0]["task"])
        series: dict[tuple, list[dict]] = {}
        for r in mine:
            c = r["method_config"]
            if r["method"] == "looped":
                key = ("fixed depth: looped", "loops", r["knob_value"])
            elif r["method"] == "universal_act":
                key = ("ACT halting", "threshold", r["knob_value"])
            elif c["exit_criterion"] == "none":
                key = ("fixed depth: recurrent", "recurrence", r["knob_value"])
            else:
                key = (f"recurrent, {c['exit_criterion']} exit", "exit_threshold", c["exit_threshold"])
            series.setdefault(key, []).append(r)
        for (name, knob, value), group in sorted(series.items(), key=lambda kv: (kv[0][0], kv[0][2])):
            iters = [iterations_per_token(r) for r in group]
            blocks = [blocks_per_token(r["method"], r["method_config"], i) for r, i in zip(group, iters)]
            points.append({"task": task, "series": name, "knob": knob, "value": value,
                           "iterations_per_token": interval(iters), "blocks_per_token": interval(blocks),
                           "accuracy": interval([r["eval"][0]["accuracy"] for r in group]),
                           "inference_flops": statistics.fmean(r["eval"][0]["inference_flops"] for r in group),
                           "seeds": sorted(r["seed"] for r in group), "chance": chance})
    return {"study": ADAPTIVE, "quick": quick,
            "note": "QUICK SMOKE RUN: too short to mean anything" if quick else None,
            "question": "at the same mean iterations per token, does adaptive depth (ACT halting, recurrent-depth "
                        "exit) reach the accuracy of a fixed depth?",
            "points": points, "provenance": provenance(runs),
            "command": "python -m scripts.depth_ladder run --shard I --shards N; python -m scripts.depth_ladder summarize"}


# -- plots and files --------------------------------------------------------------------------------

def _errorbar(ax, xs, stats, **kw):
    means = [s["mean"] for s in stats]
    errs = [[m - (s["ci95"] or [m, m])[0] for m, s in zip(means, stats)],
            [(s["ci95"] or [m, m])[1] - m for m, s in zip(means, stats)]]
    ax.errorbar(xs, means, yerr=errs, capsize=3, marker="o", **kw)


def plot_ladder(summary: dict, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({r["task"] for r in summary["rows"]})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        rows = [r for r in summary["rows"] if r["task"] == task]
        for role, style in (("looped", {"color": "C0", "label": f"looped ({K} x L): params of {K} blocks"}),
                            ("dense", {"color": "C1", "label": "dense (kL x 1): same FLOPs"})):
            chosen = sorted((r for r in rows if r["role"].startswith(role) or r["role"].startswith("base")),
                            key=lambda r: r["effective_depth"])
            _errorbar(ax, [r["effective_depth"] for r in chosen], [r["accuracy"] for r in chosen], **style)
        base = next((r for r in rows if r["role"].startswith("base")), None)
        if base:
            ax.axhline(base["accuracy"]["mean"], color="C2", lw=1, ls=":", label=f"base ({K} x 1): same params")
        ax.axhline(rows[0]["chance"], color="gray", lw=1, ls="--", label="chance")
        ax.set(title=task, xlabel="effective depth (block applications)", ylabel="test accuracy (mean, 95% CI)",
               ylim=(-0.02, 1.02))
        ax.set_xticks(sorted({r["effective_depth"] for r in rows}))
        ax.legend(fontsize=7, loc="best")
    if summary["quick"]:
        fig.suptitle("QUICK SMOKE RUN: too short to mean anything", color="red")
    return _save(fig, folder, "ladder")


def plot_adaptive(summary: dict, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({p["task"] for p in summary["points"]})
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        points = [p for p in summary["points"] if p["task"] == task]
        for i, name in enumerate(sorted({p["series"] for p in points})):
            chosen = sorted((p for p in points if p["series"] == name), key=lambda p: p["blocks_per_token"]["mean"])
            _errorbar(ax, [p["blocks_per_token"]["mean"] for p in chosen], [p["accuracy"] for p in chosen],
                      color=f"C{i}", label=name, ls="-" if name.startswith("fixed") else "--")
        ax.axhline(points[0]["chance"], color="gray", lw=1, ls="--", label="chance")
        ax.set(title=task, xlabel="block applications per generated token (mean)",
               ylabel="test accuracy (mean, 95% CI)", ylim=(-0.02, 1.02))
        ax.legend(fontsize=7, loc="best")
    if summary["quick"]:
        fig.suptitle("QUICK SMOKE RUN: too short to mean anything", color="red")
    return _save(fig, folder, "adaptive")


def _save(fig, folder: Path, name: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    paths = [folder / f"{name}.svg", folder / f"{name}.png"]
    fig.savefig(paths[0])
    fig.savefig(paths[1], dpi=110)
    return paths


def print_tables(ladder: dict | None, adaptive: dict | None) -> None:
    def acc(s):
        ci = s["ci95"]
        return f"{s['mean']:.3f} ± {s['std']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")

    if ladder:
        print(f"\n{LADDER}{' (QUICK: means nothing)' if ladder['quick'] else ''}")
        for r in ladder["rows"]:
            print(f"  {r['task']:<9} {r['model']:<12} depth {r['effective_depth']:<2} params {r['params']:>9,}  "
                  f"acc {acc(r['accuracy'])}  chance {r['chance']:.3g}")
        for v in ladder["verdicts"]:
            print(f"  {v['task']:<9} depth {v['depth']}: looped-dense {v['looped_minus_dense']:+.3f}, "
                  f"looped-base {v['looped_minus_base']:+.3f} -> claim {'holds' if v['claim_holds'] else 'does not hold'}")
    if adaptive:
        print(f"\n{ADAPTIVE}{' (QUICK: means nothing)' if adaptive['quick'] else ''}")
        for p in adaptive["points"]:
            print(f"  {p['task']:<9} {p['series']:<26} {p['knob']}={p['value']:<8} iters/token "
                  f"{p['iterations_per_token']['mean']:.2f} blocks/token {p['blocks_per_token']['mean']:.2f}  "
                  f"acc {acc(p['accuracy'])}")


def draw(plot, summary: dict, folder: Path) -> list[Path]:
    """The study's plots, or none (with a warning) where matplotlib is missing: `plot` redraws
    them later from summary.json."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("warning: matplotlib is not installed; plots not drawn (python -m scripts.depth_ladder plot "
              "draws them from summary.json)", file=sys.stderr)
        return []
    return plot(summary, folder)


def redraw(quick: bool) -> list[Path]:
    """The plots of the summaries already written."""
    written = []
    for study, plot in ((LADDER, plot_ladder), (ADAPTIVE, plot_adaptive)):
        path = study_dir(study, quick) / "summary.json"
        if path.is_file():
            written += plot(json.loads(path.read_text()), path.parent)
    return written


def summarize(quick: bool, out: Path | None) -> list[Path]:
    written = []
    ladder, adaptive = summarize_ladder(quick), summarize_adaptive(quick)
    for summary, plot in ((ladder, plot_ladder), (adaptive, plot_adaptive)):
        if summary is None:
            continue
        folder = study_dir(summary["study"], quick)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "summary.json"
        path.write_text(json.dumps(summary, indent=2) + "\n")
        written += [path, *draw(plot, summary, folder)]
    print_tables(ladder, adaptive)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for path in written:
            shutil.copy(path, out / f"{path.parent.name}-{path.name}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.depth_ladder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("plan", "run", "summarize", "plot", "all"))
    parser.add_argument("--quick", action="store_true", help="a smoke of the same pipeline (means nothing)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--shard", type=int, default=0, help="this process's share: runs i, i+N, i+2N, ...")
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--only", default=None, help="run only jobs whose name contains this text")
    parser.add_argument("--checkpoint-dir", type=Path, default=REPO_ROOT / "checkpoints" / "depth-studies")
    parser.add_argument("--out", type=Path, default=None, help="also copy the summaries and plots here")
    args = parser.parse_args(argv)
    if not 0 <= args.shard < args.shards:
        parser.error(f"--shard must be in 0..{args.shards - 1}")
    scale = Scale.pick(args.quick)
    todo = [j for j in jobs(scale) if args.only is None or args.only in j.name]
    if args.command == "plot":
        for path in redraw(args.quick):
            print(path)
        return 0
    if args.command == "plan":
        for j in todo:
            print(f"{j.name:<45} knobs {j.knob_values or '-'} exits {j.exits or '-'}")
        print(f"{len(todo)} runs, {scale.steps} steps x batch {scale.batch_size}, width {scale.width}")
        return 0
    if args.command in ("run", "all"):
        failed = []
        for job in todo[args.shard::args.shards]:
            print(f"[{args.shard}/{args.shards}] {job.name}", file=sys.stderr, flush=True)
            try:
                run_job(job, args.device, args.quick, args.checkpoint_dir)
            except Exception as exc:  # one failed run is recorded and the others go on
                failed.append(job.name)
                print(f"FAILED {job.name}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        if failed:
            print(f"{len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
        if args.command == "run":
            return 1 if failed else 0
    summarize(args.quick, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
