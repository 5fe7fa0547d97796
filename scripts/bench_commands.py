"""`latent bench run|sweep|ls|report|validate`: the harness from the command line.

Thin wrappers over baselines/ (harness, suites, registry.py, results.py). torch is imported only
inside the commands that train, so `latent --help`, `bench ls`, `bench report` and the catalog
commands stay light.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "results"
SMOKE_RESULTS_DIR = REPO_ROOT / "build" / "smoke-results"  # smoke runs are checks, not results to publish
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
SPEC_FLAGS = {  # --flag -> RunSpec field (only flags given on the command line override a suite)
    "steps": "steps", "batch_size": "batch_size", "micro_batch_size": "micro_batch_size", "lr": "lr",
    "weight_decay": "weight_decay", "warmup_steps": "warmup_steps", "grad_clip": "grad_clip",
    "model_size": "model_size", "model": "model", "tokenizer": "tokenizer", "n_positions": "n_positions",
    "seed": "seed", "train_n": "train_n", "evals": "evals", "valid_n": "valid_n", "test_n": "test_n",
    "eval_seed": "eval_seed", "eval_batch_size": "eval_batch_size", "latency_n": "latency_n", "knob": "knob",
}


class UsageError(ValueError):
    pass


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser(
        "bench", help="train and evaluate baseline methods on tasks (the harness)",
        description="Train and evaluate the reference methods with one harness: same training loop, "
        "same budget (optimizer steps x batch size), same metrics; one result JSON per run under results/.",
    )
    sub = bench.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")
    bench.set_defaults(func=lambda args: bench.print_help() or 0)

    run = sub.add_parser("run", help="train one method on one task (or a suite) and evaluate it",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Train METHOD on TASK and evaluate it, or run every method of a --suite.\n\n"
                         "examples:\n"
                         "  latent bench run --method pause --task multiplication --task-option digits=4 --knob 4\n"
                         "  latent bench run --suite smoke --device cpu\n"
                         "  latent bench run --suite prosqa-short --device cuda --method cot,coconut\n"
                         "  torchrun --nproc-per-node 8 -m scripts.latent bench run --suite mult4-short\n"
                         "    (several GPUs: each process trains on its share of every batch)")
    _add_run_arguments(run)
    run.add_argument("--suite", help="a named suite (see `latent bench ls`); --method then picks methods of it, "
                     "and the other options given override the suite's settings")
    run.set_defaults(func=cmd_run)

    sweep = sub.add_parser("sweep", help="train once, evaluate at several values of the compute knob",
                           description="Train METHOD on TASK once, then evaluate at each value of its test-time "
                           "compute knob on the validation and the test split: one result file per value, the "
                           "value with the best validation accuracy marked as selected. Example: latent bench "
                           "sweep --method pause --task prosqa --knob-values 0,1,2,4")
    _add_run_arguments(sweep)
    sweep.add_argument("--knob-values", required=True, help="comma-separated numbers, e.g. 0,1,2,4 or 0.9,0.99")
    sweep.set_defaults(func=cmd_sweep)

    ls = sub.add_parser("ls", help="list methods (with their knobs and defaults), tasks and suites",
                        description="List the registered methods (paper, compute knob and its default, config "
                        "fields), the tasks (version, options) and the suites.")
    ls.add_argument("--json", action="store_true", help="print as JSON")
    ls.set_defaults(func=cmd_ls)

    report = sub.add_parser("report", help="a table of the results, and rebuild results/index.json",
                            description="Print one line per result file, then accuracy over seeds (mean ± std "
                            "[95%% t-interval]) per task, method, knob value and setting, and rewrite the index "
                            "(results/index.json).")
    report.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="results folder (default: results/)")
    report.add_argument("--task", help="only this task")
    report.add_argument("--method", help="only this method")
    report.set_defaults(func=cmd_report)

    validate = sub.add_parser("validate", help="check every result JSON against the schema",
                              description="Check every results/<task>/<method>/*.json against the Result schema "
                              "(baselines/results.py); each problem names the file and the field.")
    validate.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="results folder (default: results/)")
    validate.set_defaults(func=cmd_validate)


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_argument_group("what to run")
    what.add_argument("--method", help="method name (`latent bench ls`); with --suite, a comma-separated subset")
    what.add_argument("--task", help="task name (`latent bench ls`)")
    what.add_argument("--task-option", action="append", default=[], metavar="KEY=VALUE",
                      help="a task option, e.g. digits=4 (repeatable)")
    what.add_argument("--method-option", action="append", default=[], metavar="KEY=VALUE",
                      help="a field of the method's config, e.g. c_thought=2 (repeatable)")
    what.add_argument("--knob", type=_number, help="the method's test-time compute knob (also used in training): "
                      "an integer (latent steps, loops, denoising steps) or a float (a halting threshold)")
    what.add_argument("--train-file", help="training data file for tasks that take one (gsm8k)")
    budget = p.add_argument_group("budget and optimisation (the same rule for every method)")
    budget.add_argument("--steps", type=int, help="optimizer steps (default 1000)")
    budget.add_argument("--batch-size", type=int, help="global batch size, all processes together (default 32)")
    budget.add_argument("--micro-batch-size", type=int, help="examples per forward pass and process (gradient accumulation)")
    budget.add_argument("--lr", type=float, help="peak learning rate (default 3e-4)")
    budget.add_argument("--weight-decay", type=float, help="AdamW weight decay (default 0.01)")
    budget.add_argument("--warmup-steps", type=int, help="linear warmup steps (default 5%% of --steps)")
    budget.add_argument("--grad-clip", type=float, help="gradient norm clip (default 1.0)")
    model = p.add_argument_group("model and data")
    model.add_argument("--model-size", choices=["tiny", "small", "gpt2"], help="from-scratch size (default tiny)")
    model.add_argument("--model", help="a pretrained GPT-2: local folder or hub id (default: from scratch)")
    model.add_argument("--tokenizer", help="'word' (default: built from the task's texts) or a GPT-2 tokenizer folder")
    model.add_argument("--n-positions", type=int, help="longest sequence (default 1024)")
    model.add_argument("--seed", type=int, help="random seed (default 0)")
    model.add_argument("--train-n", type=int, help="training examples to generate or read (default 10000)")
    model.add_argument("--data-dir", help="folder with the official data files (else $LATENT_DATA_DIR, else ../shared/data)")
    ev = p.add_argument_group("evaluation (selection on the validation split, the test split once at the end)")
    ev.add_argument("--evals", type=int, help="validation evaluations during training, evenly spaced; the best "
                    "checkpoint is kept (default 5)")
    ev.add_argument("--valid-n", type=int, help="validation examples (default: the whole official split, or 500)")
    ev.add_argument("--test-n", type=int, help="test examples (default: the whole official split, or 500)")
    ev.add_argument("--eval-seed", type=int, help="seed of generated validation and test sets (default 0)")
    ev.add_argument("--eval-batch-size", type=int, help="generation batch size (default 64)")
    ev.add_argument("--latency-n", type=int, help="test examples timed one at a time (default 16)")
    where = p.add_argument_group("where")
    where.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    where.add_argument("--results-dir", type=Path, help="results folder (default: results/; build/smoke-results/ "
                       "for the smoke suite)")
    where.add_argument("--checkpoint-dir", type=Path, default=CHECKPOINT_DIR, help="checkpoint folder (default: checkpoints/)")
    where.add_argument("--checkpoint-every", type=int, default=500, help="save every N steps (0 = never; default 500)")
    where.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint if there is one")
    where.add_argument("--threads", type=int, help="CPU threads (default: 1 for the tiny model)")
    where.add_argument("--no-progress", action="store_true", help="no progress bars")


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _method_options(items: list[str]) -> dict:
    """KEY=VALUE strings; values parsed as JSON where they can be (numbers, true/false, null)."""
    out = {}
    for key, value in _pairs(items, "--method-option").items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _specs(args: argparse.Namespace) -> list:
    from baselines.suites import RunSpec, suite

    given = {field: getattr(args, flag) for flag, field in SPEC_FLAGS.items() if getattr(args, flag) is not None}
    task_options = _pairs(args.task_option, "--task-option")
    if args.train_file:
        task_options["train_file"] = args.train_file
    method_options = _method_options(args.method_option)
    if getattr(args, "suite", None):
        methods = [m.strip() for m in args.method.split(",")] if args.method else None
        specs = suite(args.suite, methods)
        if args.task:
            specs = [replace(s, task=args.task, task_options={}) for s in specs]
        return [replace(s, **given, task_options={**s.task_options, **task_options},
                        method_options={**s.method_options, **method_options}) for s in specs]
    if not args.method or not args.task:
        raise UsageError("give --method and --task (or --suite NAME); `latent bench ls` lists them")
    return [RunSpec(method=args.method, task=args.task, task_options=task_options,
                    method_options=method_options, **given)]


def _options(args: argparse.Namespace):
    from baselines.harness import RunOptions

    results_dir = args.results_dir
    if results_dir is None:
        results_dir = SMOKE_RESULTS_DIR if getattr(args, "suite", None) == "smoke" else RESULTS_DIR
    return RunOptions(device=args.device, data_dir=args.data_dir, results_dir=results_dir,
                      checkpoint_dir=args.checkpoint_dir, checkpoint_every=args.checkpoint_every,
                      resume=args.resume, progress=not args.no_progress, threads=args.threads)


def _is_main() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _summary(result, path_root: Path) -> str:
    if result.status != "completed":
        return f"{result.task['name']} {result.method}: FAILED: {result.failure}"
    valid, test = result.metrics("valid"), result.metrics("test")
    knob = f" {result.knob}={result.knob_value}" if result.knob else ""
    chosen = " (selected on validation)" if result.sweep is not None and result.sweep.selected else ""
    return (f"{result.task['name']} {result.method}{knob}{chosen}: test accuracy {test.accuracy:.3f} on "
            f"{test.n_examples} examples (validation {valid.accuracy:.3f} at step {result.selection.selected_step}), "
            f"{test.generated_tokens:.1f} tokens, {test.forward_passes:.1f} passes, "
            f"{test.inference_flops:.3g} FLOPs per example -> {path_root / result.task['name'] / result.method / result.run_id}.json")


def _number(text: str) -> int | float:
    """A compute-knob value: an integer when it reads as one, else a float ("0.9")."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _execute(args: argparse.Namespace, knob_values: list[int | float] | None) -> int:
    from baselines.harness import RunFailed, execute

    from baselines import ddp

    specs = _specs(args)
    options = _options(args)
    failed = 0
    finished = False
    try:
        for spec in specs:
            try:
                results = execute(spec, options, knob_values)
            except RunFailed as exc:
                failed += 1
                if _is_main():
                    print(f"error: {spec.task} {spec.method}: {exc}", file=sys.stderr)
                continue
            if _is_main():
                for result in results:
                    print(_summary(result, options.results_dir))
        finished = True
    finally:
        ddp.teardown(wait=finished)
    return 1 if failed else 0


def _guard(fn):
    """User errors (bad names, values, paths) become one line on stderr and exit status 2."""
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (UsageError, ValueError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return wrapped


@_guard
def cmd_run(args: argparse.Namespace) -> int:
    return _execute(args, None)


@_guard
def cmd_sweep(args: argparse.Namespace) -> int:
    try:
        values = [_number(v) for v in args.knob_values.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"--knob-values {args.knob_values!r}: expected comma-separated numbers") from None
    if not values:
        raise UsageError("--knob-values: give at least one value")
    from baselines import registry

    if args.method and registry.method(args.method).knob is None:
        raise UsageError(f"method {args.method} has no compute knob to sweep")
    return _execute(args, values)


def cmd_ls(args: argparse.Namespace) -> int:
    from baselines import registry
    from baselines.suites import RECIPES, SUITES, suite_methods

    methods = [{"name": m.name, "module": m.module, "variant_of": m.variant_of, "paper": m.paper, "knob": m.knob,
                "knob_default": m.knob_default, "config": m.defaults(), "summary": m.summary,
                "path": str(m.path)} for m in registry.methods().values()]
    tasks = [{"name": t.name, "version": t.version, "options": t.options, "chance": t.chance,
              "description": t.description, "path": str(t.path)} for t in registry.tasks().values()]
    suites = {name: {"task": s.task, "task_options": s.task_options, "steps": s.steps, "batch_size": s.batch_size,
                     "model_size": s.model_size, "lr": s.lr, "methods": suite_methods(name),
                     "recipes": RECIPES.get(name, {})} for name, s in SUITES.items()}
    if args.json:
        print(json.dumps({"methods": methods, "tasks": tasks, "suites": suites}, indent=2, default=str))
        return 0
    print("methods:")
    for m in methods:
        knob = f"knob {m['knob']} (default {m['knob_default']})" if m["knob"] else "no knob"
        print(f"  {m['name']:<26} {knob:<32} paper: {m['paper'] or '-'}")
        print(f"  {'':<26} config: {', '.join(f'{k}={v}' for k, v in m['config'].items())}")
    print("tasks:")
    for t in tasks:
        options = ", ".join(f"{k}={v}" for k, v in t["options"].items()) or "no options"
        chance = f"chance {t['chance']}" if t["chance"] is not None else "chance computed"
        print(f"  {t['name']:<16} v{t['version']}  {options:<20} {chance:<12} {t['description']}")
    print("suites:")
    for name, s in suites.items():
        options = "".join(f" {k}={v}" for k, v in s["task_options"].items())
        print(f"  {name:<14} {s['task']}{options}, {s['model_size']} model, {s['steps']} steps x batch {s['batch_size']}, "
              f"lr {s['lr']:g}")
        print(f"  {'':<14} methods: {', '.join(s['methods'])}")
        for method, recipe in s["recipes"].items():
            print(f"  {'':<14}   {method}: {', '.join(f'{k}={v}' for k, v in recipe.items())}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from baselines import results

    root = args.results_dir
    index, entries, problems = results.write_index(root)
    if problems:
        print("\n".join(problems), file=sys.stderr)
    rows = [e for e in entries if (not args.task or e["task"] == args.task) and (not args.method or e["method"] == args.method)]
    print(f"{'task':<16}{'method':<26}{'knob':<14}{'valid':>7}{'test':>7}{'tokens':>8}{'passes':>8}{'FLOPs/ex':>11}"
          f"  {'suite':<13}run")

    def number(value, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for e in rows:
        knob = f"{e['knob']}={e['knob_value']}" + ("*" if e["sweep_selected"] else "") if e["knob"] else "-"
        test = number(e["accuracy"], ".3f") if e["status"] == "completed" else e["status"]
        print(f"{e['task']:<16}{e['method']:<26}{knob:<14}{number(e['valid_accuracy'], '.3f'):>7}{test:>7}"
              f"{number(e['generated_tokens'], '.1f'):>8}{number(e['forward_passes'], '.1f'):>8}"
              f"{number(e['inference_flops'], '.3g'):>11}  {e['suite'] or '-':<13}{e['run_id']}")
    chosen = [r for r in results.read_results_lenient(root)
              if (not args.task or r.task["name"] == args.task) and (not args.method or r.method == args.method)]
    groups = results.aggregate(chosen)
    if groups:
        print("\nover seeds: test accuracy % mean ± std [95% t-interval] (chance), per task, method, knob value, setting")
        for g in groups:
            stat = g.stat("accuracy", "test")
            options = "".join(f" {k}={v}" for k, v in g.task_options.items())
            knob = f" {g.knob}={g.knob_value}" if g.knob else ""
            chance = f" (chance {100 * g.chance:.0f})" if g.chance is not None else ""
            flags = (" [schema 1: no validation selection]" if g.legacy else "") + (" *" if g.sweep_selected else "")
            first = g.runs[0]
            where = f" [{first.suite or 'no suite'}, {first.budget.optimizer_steps} x {first.budget.batch_size}]"
            print(f"  {g.task}{options} {g.method}{knob}{where}: {stat.text(100)} over seeds {g.seeds}{chance}{flags}")
    print(f"{len(rows)} result(s); index: {index}"
          + (f"; {len(problems)} problem(s) in files left out (run `latent bench validate`)" if problems else "")
          + ("; * = knob value selected on validation" if any(e["sweep_selected"] for e in rows) else ""))
    return 1 if problems else 0


def cmd_validate(args: argparse.Namespace) -> int:
    from baselines import results

    checked, problems = results.validate(args.results_dir)
    for lines in problems.values():
        print("\n".join(lines))
    print(f"{checked} result file(s) checked, {len(problems)} invalid")
    return 1 if problems else 0
