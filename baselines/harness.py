"""The harness: the only place that trains and evaluates. Same loop, same budget, same metrics
for every method.

Training (one loop for all methods): AdamW (fused on CUDA; weight decay on matrices only),
linear warmup then cosine decay to lr x min_lr_ratio, gradient clipping, bf16 autocast on CUDA
(fp32 on the CPU), SDPA attention (without the cuDNN kernel: baselines/attention.py). Each step
takes the next `batch_size` examples of a deterministic shuffled stream
(baselines.batching.batch_indices), encodes them at the curriculum stage `method.stage_at(step,
steps)` and right-pads them (baselines.batching.collate); a stage change resets the optimizer when
the method's `config.reset_optimizer` is set. The budget rule is the same for every method and
is recorded: optimizer steps x global batch size, with the analytic training FLOPs it took
(compute.py).

Model selection (baselines/selection.py): the model is evaluated on the validation split `evals`
times during training; the weights with the best validation accuracy are kept and evaluated on
the test split once, at the end. A sweep evaluates each knob value on validation and test and
marks the one validation selects. The splits, their provenance and the vocabulary (training and
validation texts only) come from baselines/splits.py.

Evaluation: batched greedy generation through `method.generate`, scored by the task; accuracy,
generated tokens, latent steps, forward passes and analytic FLOPs per example, latency per
example at batch 1 (on `latency_n` test examples) and at the eval batch size, peak memory.

Robustness: checkpoints every `checkpoint_every` steps (baselines/checkpoint.py) and `resume`;
a non-finite loss ends the run as failed with the reason; CUDA out-of-memory names the
setting to lower. Under torchrun the work is shared by all processes (baselines/ddp.py).
"""

from __future__ import annotations

import contextlib
import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from baselines import checkpoint, ddp, registry
from baselines.attention import attention_kernels
from baselines.backbone import BackboneConfig, build_backbone, count_parameters
from baselines.batching import batch_indices, collate
from baselines.compute import (Shape, inference_flops, peak_memory_mb, reset_peak_memory, timed, train_step_flops,
                               work_flops)
from baselines.data import REPO_ROOT, resolve_data_dir, sha256_file
from baselines.format import extract_answer
from baselines.methods import get_method
from baselines.methods.base import Method
from baselines.results import Budget, Metrics, Result, Selection, Sweep, write_result
from baselines.selection import Selector, evaluation_steps
from baselines.splits import load_splits, unknown_token_fraction
from baselines.suites import RunSpec
from baselines.tasks import get_task
from baselines.tokenizer import build_tokenizer, cache_encodings, load_gpt2_tokenizer, load_tokenizer


@dataclass
class TrainBudget:
    """The budget rule shared by every method: `steps` optimizer steps of `batch_size` examples."""

    steps: int
    batch_size: int  # global, over all processes


@dataclass
class RunOptions:
    """Where and how a run executes; nothing here changes what is trained."""

    device: str = "auto"
    data_dir: str | None = None
    results_dir: Path = REPO_ROOT / "results"
    checkpoint_dir: Path = REPO_ROOT / "checkpoints"
    checkpoint_every: int = 500
    resume: bool = False
    progress: bool = True
    write: bool = True  # write Result files (rank 0)
    threads: int | None = None  # CPU threads; None = 1 for the tiny model (faster than several), else torch's default


class RunFailed(RuntimeError):
    """Training or evaluation stopped; the message says why and what to change. `result` is the
    failed Result that was written (None when the run failed before it had one)."""

    def __init__(self, reason: str, result: Result | None = None):
        super().__init__(reason)
        self.result = result


def run(method: str, task: str, budget: TrainBudget, options: RunOptions | None = None, **settings) -> Result:
    """Train `method` on `task` within `budget`, select on validation, evaluate on test once;
    other RunSpec fields as keywords."""
    spec = RunSpec(method=method, task=task, steps=budget.steps, batch_size=budget.batch_size, **settings)
    return execute(spec, options or RunOptions())[0]


def sweep(spec: RunSpec, knob_values: list[int | float], options: RunOptions | None = None) -> list[Result]:
    """Train once, evaluate at each value of the method's compute knob on validation and test:
    one Result per value, the validation-selected one marked."""
    return execute(spec, options or RunOptions(), knob_values)


# -- setup ----------------------------------------------------------------------------------------

def _method_config(spec: RunSpec):
    """The method's class and its config from the spec (checked before any data is made)."""
    cls = get_method(spec.method)
    fields = dict(spec.method_options)
    if spec.knob is not None:
        if cls.knob is None:
            raise ValueError(f"method {spec.method} has no compute knob; drop --knob")
        fields[cls.knob] = spec.knob
    try:
        return cls, cls.Config(**fields)
    except TypeError as exc:
        raise ValueError(f"method {spec.method}: bad option ({exc}); see `latent bench ls`") from None


def _code_files(spec: RunSpec) -> dict[str, dict]:
    """The method's and the task's files: repository paths (git records them), or, for files from
    LATENT_METHOD_DIRS / LATENT_TASK_DIRS, the path and the sha256 of the file."""
    out = {}
    for kind, entry in (("method", registry.method(spec.method)), ("task", registry.task(spec.task))):
        path = Path(entry.path)
        if path.is_relative_to(REPO_ROOT):
            out[kind] = {"file": path.relative_to(REPO_ROOT).as_posix()}
        else:
            out[kind] = {"file": str(path), "sha256": sha256_file(path)}
    return out


def _tokenizer(spec: RunSpec, texts: list[str], saved: Path | None):
    if saved is not None and saved.is_dir():
        return load_tokenizer(saved)
    if spec.tokenizer == "word":
        return build_tokenizer(texts)
    return load_gpt2_tokenizer(spec.tokenizer)


def _optimizer(model: torch.nn.Module, spec: RunSpec, device: torch.device) -> torch.optim.AdamW:
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": spec.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=spec.lr, betas=(0.9, 0.95), fused=device.type == "cuda")


def lr_factor(step: int, steps: int, warmup: int, min_ratio: float) -> float:
    """Linear warmup over `warmup` steps, then cosine from 1 to `min_ratio` at `steps`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def _autocast(device: torch.device):
    """bf16 autocast and the attention kernels of baselines/attention.py on CUDA; nothing on the CPU."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(torch.autocast(device_type="cuda", dtype=torch.bfloat16))
    stack.enter_context(attention_kernels())
    return stack


def _oom_advice(where: str, knob: str | None) -> str:
    if where == "training":
        return "lower --batch-size, or keep it and set --micro-batch-size to accumulate gradients"
    extra = f" or the compute knob (--knob, {knob})" if knob else ""
    return f"lower --eval-batch-size{extra}"


# -- training -------------------------------------------------------------------------------------

def _train(spec: RunSpec, method: Method, model, train_set, ctx: ddp.Context, folder: Path,
           options: RunOptions, shape: Shape, record: dict, selector: Selector, validate) -> Selector:
    """Run the optimizer steps not yet done, keeping `record` (step, losses, FLOPs, time) current;
    `validate()` (validation Metrics of the current weights) runs when `selector` says it is due.
    Returns the selector (the one from the checkpoint when resuming)."""
    device = ctx.device
    core = ddp.unwrap(model)
    optimizer = _optimizer(core, spec, device)
    warmup = spec.warmup_steps if spec.warmup_steps is not None else max(1, spec.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, spec.steps, warmup, spec.min_lr_ratio))
    state = checkpoint.load(folder) if options.resume else None
    if state is not None:
        core.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["scheduler"])
        checkpoint.set_rng_state(state["rng"])
        selector = Selector.from_state(state["selection"])
        record.update(state["record"], resumed_from=state["record"]["step"])
        if ctx.is_main:
            print(f"resuming from step {record['step']} ({folder / checkpoint.FILE})", file=sys.stderr)

    local = spec.batch_size // ctx.world_size
    micro = min(spec.micro_batch_size or local, local)
    log_every = max(1, spec.steps // 200)
    pad_values = method.pad_values
    bar = tqdm(total=spec.steps, initial=record["step"], desc=f"{spec.method} train", unit="step",
               disable=not (options.progress and ctx.is_main), dynamic_ncols=True)
    start_time = time.perf_counter() - record["time_s"]
    model.train()
    for step in range(record["step"], spec.steps):
        stage = method.stage_at(step, spec.steps)
        if stage != record["stage"]:
            if record["stage"] is not None and getattr(method.config, "reset_optimizer", False):
                optimizer.state.clear()  # fresh AdamW moments; the schedule carries on
            record["stage"] = stage
            record["stages"].append([step, stage])
        rows = [method.encode(train_set[i], stage) for i in batch_indices(len(train_set), spec.seed, step,
                                                                          spec.batch_size, ctx.rank, ctx.world_size)]
        too_long = max(len(r["input_ids"]) for r in rows)
        if too_long > spec.n_positions:
            raise RunFailed(f"a training sequence has {too_long} tokens, more than n_positions={spec.n_positions}; "
                            "raise --n-positions")
        chunks = [rows[i:i + micro] for i in range(0, len(rows), micro)]
        loss_sum, flops = 0.0, 0.0
        for i, chunk in enumerate(chunks):
            batch = collate(chunk, method.tokenizer.pad_token_id, pad_values, device)
            sync = contextlib.nullcontext() if (i == len(chunks) - 1 or not ctx.distributed) else model.no_sync()
            with sync:
                with _autocast(device):
                    out = model(**batch)
                (out.loss / len(chunks)).backward()
            loss_sum += float(out.loss.detach()) / len(chunks)
            scored = int((batch["labels"][:, 1:] != -100).sum())
            if out.work is not None:  # the compute contract: forward + backward = 3x the forward
                flops += 3.0 * float(work_flops(core.shape, out.work).sum())
            else:
                flops += train_step_flops(shape, out.positions, len(chunk), scored)
        loss, flops = ddp.all_reduce_sum([loss_sum, flops], ctx)
        loss /= ctx.world_size
        record["time_s"] = time.perf_counter() - start_time
        if not math.isfinite(loss):
            raise RunFailed(f"non-finite training loss ({loss}) at step {step}")
        torch.nn.utils.clip_grad_norm_(core.parameters(), spec.grad_clip)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        record["flops"] += flops
        record["step"] = step + 1
        if step % log_every == 0 or step + 1 == spec.steps:
            record["loss_curve"].append([step, loss])
        record["final_loss"] = loss
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}", stage=stage)
        if selector.due(record["step"]):
            selector.offer(record["step"], validate(), core)
            model.train()
        if options.checkpoint_every and (record["step"] % options.checkpoint_every == 0 or record["step"] == spec.steps):
            record["time_s"] = time.perf_counter() - start_time
            if ctx.is_main:
                checkpoint.save(folder, {"model": core.state_dict(), "optimizer": optimizer.state_dict(),
                                         "scheduler": schedule.state_dict(), "rng": checkpoint.rng_state(),
                                         "record": dict(record), "data_position": record["step"] * spec.batch_size,
                                         "selection": selector.state(), "spec": asdict(spec)})
            ddp.barrier(ctx)
    bar.close()
    record["time_s"] = time.perf_counter() - start_time
    # every rank must end with the same weights (DDP keeps them in step); checked, and recorded
    record["param_checksum"] = float(sum(p.detach().double().sum() for p in core.parameters()))
    record["ranks_agree"] = ddp.agree(record["param_checksum"], ctx)
    if not record["ranks_agree"]:
        raise RunFailed("the processes ended training with different parameters")
    return selector


# -- evaluation -----------------------------------------------------------------------------------

def _evaluate(method: Method, model, task, examples, spec: RunSpec, budget: int | None, ctx: ddp.Context,
              shape: Shape, options: RunOptions, split: str, latency_n: int) -> Metrics:
    """Metrics of the current weights on `examples` (of `split`) at compute `budget`; `latency_n`
    of them are also timed one at a time."""
    device = ctx.device
    core = ddp.unwrap(model)
    core.eval()
    shard = examples[ctx.rank::ctx.world_size]
    reset_peak_memory(device)
    totals = [0.0] * 6  # correct, generated tokens, latent steps, forward passes, flops, examples
    counts = [0.0] * len(task.outcomes)  # answers of each kind (Task.outcome)
    seconds = 0.0
    if device.type == "cuda" and shard:  # warm-up (kernel selection, allocator) outside the timings
        with torch.no_grad(), _autocast(device):
            method.generate(core, shard[: spec.eval_batch_size], budget)
    bar = tqdm(total=len(shard), desc=f"{spec.method} {split}", unit="ex", dynamic_ncols=True,
               disable=not (options.progress and ctx.is_main))
    for start in range(0, len(shard), spec.eval_batch_size):
        batch = shard[start:start + spec.eval_batch_size]
        with torch.no_grad(), _autocast(device):
            gen, elapsed = timed(lambda: method.generate(core, batch, budget), device)
        seconds += elapsed
        kinds = [task.outcome(extract_answer(text), ex) for text, ex in zip(gen.texts, batch)]
        correct = sum(kind == "right" for kind in kinds)
        for kind in kinds:
            counts[task.outcomes.index(kind)] += 1
        if gen.work is not None:
            flops = work_flops(core.shape, gen.work)
        else:
            flops = inference_flops(shape, gen.positions, gen.generated_tokens)
        for i, value in enumerate((correct, gen.generated_tokens.sum(), gen.latent_steps * len(batch),
                                   gen.forward_passes.sum(), flops.sum(), len(batch))):
            totals[i] += float(value)
        bar.update(len(batch))
    bar.close()
    peak = peak_memory_mb(device)
    latency1 = None
    if ctx.is_main and latency_n > 0:
        single = shard[:latency_n]
        times = []
        for ex in single:
            with torch.no_grad(), _autocast(device):
                times.append(timed(lambda: method.generate(core, [ex], budget), device)[1])
        latency1 = 1000 * sum(times) / len(times) if times else None
    correct, tokens, latent, passes, flops, n = ddp.all_reduce_sum(totals, ctx)
    counts = ddp.all_reduce_sum(counts, ctx)
    n_local = max(1, len(shard))
    return Metrics(split=split, n_examples=int(n), accuracy=correct / max(n, 1),
                   generated_tokens=tokens / max(n, 1), latent_steps=latent / max(n, 1),
                   forward_passes=passes / max(n, 1), inference_flops=flops / max(n, 1),
                   latency_ms_batch1=latency1, latency_ms_batchN=1000 * seconds / n_local,
                   eval_batch_size=spec.eval_batch_size, peak_memory_mb=peak,
                   outcomes={kind: c / max(n, 1) for kind, c in zip(task.outcomes, counts)})


# -- one run, end to end --------------------------------------------------------------------------

def checkpoint_folder(spec: RunSpec, checkpoint_dir: Path, task_version: int) -> Path:
    """Where the checkpoint of `spec` lives: named by a hash of every setting that shapes training
    (what only changes the test evaluation is left out, so that a resumed run finds it)."""
    identity = {k: v for k, v in asdict(spec).items() if k not in ("test_n", "eval_batch_size", "latency_n")}
    identity["task_version"] = task_version
    return Path(checkpoint_dir) / f"{spec.task}-{spec.method}-{checkpoint.run_key(identity)}"


def execute(spec: RunSpec, options: RunOptions, knob_values: list[int | float] | None = None) -> list[Result]:
    """Train once, evaluate at each of `knob_values` (default: the trained setting); write Results."""
    from baselines import environment

    ctx = ddp.setup(options.device)
    started = environment.now()
    random.seed(spec.seed)
    torch.manual_seed(spec.seed)
    if ctx.device.type == "cuda":
        torch.set_float32_matmul_precision("high")
    elif options.threads or spec.model_size == "tiny":
        torch.set_num_threads(options.threads or 1)
    if spec.batch_size % ctx.world_size:
        raise ValueError(f"--batch-size {spec.batch_size} is not divisible by the {ctx.world_size} processes")
    method_cls, method_config = _method_config(spec)
    task = get_task(spec.task, resolve_data_dir(options.data_dir), **spec.task_options)
    splits = load_splits(task, spec.train_n, spec.valid_n, spec.test_n, spec.seed, spec.eval_seed)

    folder = checkpoint_folder(spec, options.checkpoint_dir, task.version)
    saved = folder / "tokenizer" if options.resume else None
    tokenizer = _tokenizer(spec, splits.vocabulary_texts(), saved)  # never the test texts
    if ctx.is_main and options.checkpoint_every:
        checkpoint.save_tokenizer(folder, tokenizer)
    method = method_cls(method_config, cache_encodings(tokenizer))
    backbone = build_backbone(BackboneConfig(spec.model_size, spec.n_positions), len(tokenizer), spec.model,
                              pad_id=tokenizer.pad_token_id, eos_id=tokenizer.eos_token_id)
    shape = Shape.of(backbone)
    model = ddp.wrap(method.build_model(backbone).to(ctx.device), ctx)
    precision = "bf16-autocast" if ctx.device.type == "cuda" else "fp32"
    base = dict(method=spec.method, method_config=asdict(method.config), knob=type(method).knob,
                paper=type(method).paper, task=task.info(), seed=spec.seed, suite=spec.suite,
                model={"size": spec.model_size if spec.model is None else "pretrained", "pretrained": spec.model,
                       "n_layer": backbone.config.n_layer, "n_embd": backbone.config.n_embd,
                       "n_head": backbone.config.n_head, "n_positions": backbone.config.n_positions,
                       "n_params": count_parameters(backbone), "vocab_size": len(tokenizer),
                       "tokenizer": spec.tokenizer, "vocabulary_from": "train+valid"},
                data=splits.provenance, recipe={**asdict(spec), "code": _code_files(spec)},
                environment=environment.describe(ctx, precision), started_at=started)
    base["data"]["test"]["unknown_token_fraction"] = unknown_token_fraction(tokenizer, splits.test)

    def budget(record: dict) -> Budget:
        return Budget(optimizer_steps=record["step"], batch_size=spec.batch_size,
                      examples_seen=record["step"] * spec.batch_size, train_flops=record["flops"])

    def train_info(record: dict) -> dict:
        keys = ("final_loss", "loss_curve", "time_s", "stages", "resumed_from", "param_checksum", "ranks_agree")
        return {**{k: record.get(k) for k in keys}, "train_examples": len(splits.train), "lr": spec.lr,
                "warmup_steps": spec.warmup_steps, "weight_decay": spec.weight_decay, "grad_clip": spec.grad_clip,
                "micro_batch_size": spec.micro_batch_size, "min_lr_ratio": spec.min_lr_ratio,
                "budget_rule": "optimizer steps x global batch size"}

    def finish(result: Result) -> Result:
        if options.write and ctx.is_main:
            write_result(result, options.results_dir)
        return result

    run_id = environment.run_id(spec)
    record = {"step": 0, "stage": None, "flops": 0.0, "time_s": 0.0, "loss_curve": [], "stages": [],
              "final_loss": None, "resumed_from": None}
    phase = {"where": "training"}  # what an out-of-memory error happened during

    def evaluate(split: str, value: int | None, latency_n: int = 0) -> Metrics:
        examples = splits.valid if split == "valid" else splits.test
        outer, phase["where"] = phase["where"], "evaluation"
        metrics = _evaluate(method, model, task, examples, spec, value, ctx, shape, options, split, latency_n)
        phase["where"] = outer
        return metrics

    try:
        selector = Selector(evaluation_steps(spec.steps, spec.evals), eligible_from=method.selectable_from(spec.steps))
        selector = _train(spec, method, model, splits.train, ctx, folder, options, shape, record, selector,
                          lambda: evaluate("valid", None))
        phase["where"] = "evaluation"
        selector.restore(ddp.unwrap(model))
        selection = Selection(evaluations=selector.evaluations, selected_step=selector.best_step,
                              valid_examples=len(splits.valid), eligible_from=selector.eligible_from)
        knob = type(method).knob
        if knob_values:  # a sweep: each value on validation and on test; validation chooses
            evals = {v: (evaluate("valid", v).model_copy(update={"step": selector.best_step}),
                         evaluate("test", v, spec.latency_n).model_copy(update={"step": selector.best_step}))
                     for v in knob_values}
            chosen = max(knob_values, key=lambda v: (evals[v][0].accuracy, -v))
            sweeps = {v: Sweep(values=list(knob_values), selected_value=chosen, selected=v == chosen)
                      for v in knob_values}
        else:  # the trained setting: the selected weights' validation metrics, then test once
            evals = {None: (selector.best_metrics, evaluate("test", None, spec.latency_n)
                            .model_copy(update={"step": selector.best_step}))}
            sweeps = {None: None}
        results = []
        for value, (valid, test) in evals.items():
            knob_value = value if value is not None else (getattr(method.config, knob) if knob else None)
            if knob and knob_value is None:  # a knob whose default is derived: what generation used
                knob_value = round(test.latent_steps)
            suffix = f"-{knob}{value}" if value is not None and len(evals) > 1 else ""
            results.append(finish(Result(run_id=run_id + suffix, status="completed", knob_value=knob_value,
                                         budget=budget(record), train=train_info(record), eval=[valid, test],
                                         selection=selection, sweep=sweeps[value], finished_at=environment.now(),
                                         **base)))
        return results
    except (RunFailed, torch.cuda.OutOfMemoryError) as exc:
        if isinstance(exc, torch.cuda.OutOfMemoryError):
            reason = f"CUDA out of memory during {phase['where']}: {_oom_advice(phase['where'], type(method).knob)}"
        else:
            reason = str(exc)
        result = finish(Result(run_id=run_id, status="failed", failure=reason, budget=budget(record),
                               train=train_info(record), finished_at=environment.now(), **base))
        raise RunFailed(reason, result) from None
