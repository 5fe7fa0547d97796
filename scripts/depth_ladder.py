"""The depth studies of the looped family, run through the harness and aggregated.

depth-ladder    (k x L) looped against (kL x 1) dense (matched FLOPs) and (k x 1) (matched
                parameters) at effective depths k, 2k, 4k on p-hop induction and n-ary addition,
                3 seeds each; the (k x 4) runs are also evaluated at 1..6 loops (beyond training).
adaptive-depth  fixed depth (those looped sweeps) against Universal Transformer ACT halting
                (thresholds on the same trained models) and recurrent depth (fixed recurrences,
                then the KL and norm exits on the same checkpoints): accuracy against the mean
                iterations per generated token and the block applications per token.

Every run is a normal harness run (baselines.harness.execute) writing a Result JSON under
results/studies/<study>/runs/; `summarize` aggregates them (scripts/depth_summary.py) into
results/studies/<study>/summary.json (mean, std and 95% t-interval over seeds, chance level,
provenance) and plots (SVG and PNG).

    python -m scripts.depth_ladder plan                       the runs, one line each
    python -m scripts.depth_ladder run --shard 0 --shards 8   this process's share of the runs
    python -m scripts.depth_ladder summarize                  tables, summary.json, plots
    python -m scripts.depth_ladder plot                       redraw the plots from summary.json
    python -m scripts.depth_ladder all --device cpu --quick   everything in one process (smoke)

--quick: a few steps of tiny models, the same pipeline; its summaries say they mean nothing.
"""

from __future__ import annotations

import argparse
import shutil
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
    eval_n: int = 500  # validation and test examples
    evals: int = 4  # validation evaluations during training (the best is kept: selection on validation)
    quick: bool = False

    @classmethod
    def pick(cls, quick: bool) -> "Scale":
        if quick:
            return cls(steps=20, batch_size=32, width=32, heads=4, lr=1e-3, train_n=640, eval_n=32, evals=2, quick=True)
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
                       train_n=scale.train_n, valid_n=scale.eval_n, test_n=scale.eval_n, evals=scale.evals,
                       eval_batch_size=250,
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
    """Where the harness keeps the checkpoint of `spec` (baselines.harness.checkpoint_folder)."""
    from baselines.harness import checkpoint_folder as folder
    from baselines.tasks import get_task_class

    return folder(spec, checkpoint_dir, get_task_class(spec.task).version)


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
    from scripts.depth_summary import redraw, summarize

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
