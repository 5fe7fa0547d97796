"""Summaries of the depth studies (scripts/depth_ladder.py): the runs' Result JSONs aggregated into
results/studies/<study>/summary.json (mean, std and 95% t-interval over seeds, chance level,
provenance, the claim's verdicts) and plots (SVG and PNG), and the tables printed.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import sys
from pathlib import Path

from scripts.depth_ladder import ADAPTIVE, DEPTH_LOOPS, K, LADDER, T_95, run_dir, study_dir


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
    from baselines.results import read_results

    folder = run_dir(study, quick)
    return [r.model_dump() for r in read_results(folder)] if folder.is_dir() else []


def _test(run: dict) -> dict:
    """The run's test metrics (evaluated once, on the weights validation selected)."""
    return next((m for m in run["eval"] if m["split"] == "test"), run["eval"][-1])


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

    return float(get_task(task["name"], **task["options"]).chance_accuracy())


def provenance(runs: list[dict]) -> dict:
    first = runs[0]
    return {"data": "generated locally by the task generators (baselines/tasks/*.py), splits disjoint by hash",
            "git_commits": sorted({r["environment"]["git_commit"] or "unknown" for r in runs}),
            "git_dirty": any(r["environment"]["git_dirty"] for r in runs),
            "devices": sorted({r["environment"]["device"] for r in runs}),
            "precision": sorted({r["environment"]["precision"] for r in runs}),
            "versions": first["environment"]["versions"],
            "selection": "the weights with the best validation accuracy among 4 evaluations during training; "
                         "the test split evaluated once on them",
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
                         "inference_flops": statistics.fmean(_test(r)["inference_flops"] for r in group),
                         "accuracy": interval([_test(r)["accuracy"] for r in group]),
                         "seeds": sorted(r["seed"] for r in group), "chance": chance})
        swept = [r for r in mine if r["method_config"]["loops"] == max(DEPTH_LOOPS) and r["method_config"]["layers"] == K]
        for loops in sorted({r["knob_value"] for r in swept}):
            group = [r for r in swept if r["knob_value"] == loops]
            sweeps.append({"task": task, "model": f"looped {K}x{max(DEPTH_LOOPS)}", "eval_loops": loops,
                           "beyond_training": loops > max(DEPTH_LOOPS),
                           "accuracy": interval([_test(r)["accuracy"] for r in group]), "chance": chance})
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
    m = _test(run)
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
                           "accuracy": interval([_test(r)["accuracy"] for r in group]),
                           "inference_flops": statistics.fmean(_test(r)["inference_flops"] for r in group),
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
