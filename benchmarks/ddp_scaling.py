"""Several GPUs of one host: the harness under torchrun, and data-parallel scaling.

Two sections, each launching `torchrun --nproc-per-node N` for every N in --gpus:

  equivalence  `latent bench run --suite smoke` (every method, 2-digit multiplication, tiny model)
               under N processes: each run's loss curve against the one-process run (same global
               batch; 2-digit products all have one length, so every shard's mean loss is the
               global mean's share), the ranks' final-parameter agreement, accuracy
  scaling      training throughput with DistributedDataParallel (NCCL) at a fixed batch per GPU:
               the GPT-2 small backbone (GPT.extend, compiled blocks, seq 1024, bf16) and Coconut
               (GPT-2 124M, ProsQA at the last stage, 6 thoughts, bf16, eager); scaling
               efficiency = throughput on N GPUs / (N x throughput on one)

NVLink multicast stays off (NCCL_NVLS_ENABLE=0), as on any shared host.

    python benchmarks/ddp_scaling.py [--gpus 1,2] [--sections equivalence,scaling]
    python benchmarks/ddp_scaling.py --device cpu --model-size tiny --gpus 1,2   # a CPU check (gloo)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gpu import RESULTS_DIR, command_line, device_name, median, print_table, time_ms, versions, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(n: int, args: list[str], timeout: int, label: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n), "--master-addr",
               "127.0.0.1", "--master-port", str(free_port()), *args]
    env = {**os.environ, "NCCL_NVLS_ENABLE": "0", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    began = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    print(f"torchrun x{n} {label}: exit {done.returncode} after {time.perf_counter() - began:.0f} s",
          flush=True)
    if done.returncode:
        print(done.stderr[-4000:], flush=True)
    return done


# -- equivalence --------------------------------------------------------------------------------------

def load_results(folder: Path) -> dict[str, dict]:
    found = [json.loads(p.read_text()) for p in folder.glob("*/*/*.json")]
    return {r["method"]: r for r in found}


def equivalence(args, out: list[dict], errors: list[str]) -> None:
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.gpus:
            folder = Path(tmp) / f"x{n}"
            done = torchrun(n, ["-m", "scripts.latent", "bench", "run", "--suite", "smoke", "--device", args.device,
                                "--results-dir", str(folder), "--checkpoint-dir", str(Path(tmp) / f"ck{n}"),
                                "--no-progress"], args.timeout, "smoke suite")
            if done.returncode:
                errors.append(f"smoke suite on {n} processes failed: {done.stderr.strip().splitlines()[-1:]}")
            runs[n] = load_results(folder)
    one = runs.get(1, {})
    for n, results in runs.items():
        for method, result in sorted(results.items()):
            curve = [loss for _, loss in result["train"]["loss_curve"]]
            base = [loss for _, loss in one[method]["train"]["loss_curve"]] if method in one else None
            diff = max(abs(a - b) / abs(b) for a, b in zip(curve, base)) if base and len(base) == len(curve) else None
            out.append({"section": "equivalence", "method": method, "processes": n,
                        "status": result["status"], "ranks_agree": result["train"].get("ranks_agree"),
                        "final_loss": result["train"].get("final_loss"),
                        "max_rel_loss_diff_vs_1": diff, "accuracy": result["eval"][0]["accuracy"]
                        if result.get("eval") else None})


# -- scaling ------------------------------------------------------------------------------------------

def worker(args) -> int:
    """One rank of a scaling run: times DDP training steps, rank 0 writes them to --out."""
    from baselines import ddp
    from baselines.backbone import BackboneConfig, build_backbone
    from baselines.batching import collate
    from coconut_step import autocast, build, setup

    ctx = ddp.setup(args.device)
    device = ctx.device
    torch.manual_seed(0)
    rows = []
    precision = "bf16" if device.type == "cuda" else "fp32"

    def step_ms(loss_fn, optimizer) -> float:
        """Median milliseconds of a training step (forward, backward, AdamW) under DDP."""
        def step():
            with autocast(device, precision):
                loss = loss_fn()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        return median(time_ms(step, device, repeat=args.steps, warmup=3))

    # the backbone: next-token loss over random tokens, full vocabulary
    vocab, seq, batch = 50257, args.seq, args.backbone_batch
    model = build_backbone(BackboneConfig(args.model_size, n_positions=max(1024, seq)), vocab).to(device)
    model.compile_blocks()  # CUDA only; the CPU runs the blocks eagerly
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    generator = torch.Generator().manual_seed(ctx.rank)
    tokens = torch.randint(0, vocab, (batch, seq + 1), generator=generator).to(device)
    positions = torch.arange(seq, device=device)[None].expand(batch, -1)
    net = ddp.wrap(BackboneModule(model, positions), ctx)

    ms = step_ms(lambda: net(tokens[:, :-1], tokens[:, 1:]), optimizer)
    rows.append({"workload": "backbone", "per_gpu_batch": f"{batch} x {seq} tokens", "step_ms": ms,
                 "throughput": ctx.world_size * batch * seq / (ms / 1000), "unit": "tokens/s"})
    del net, optimizer, model
    if device.type == "cuda":
        torch.cuda.empty_cache()

    # Coconut at the last stage: each rank its own questions
    args.batch_sizes, args.max_new_tokens = [args.coconut_batch * ctx.world_size], 64
    tok, _, method, all_rows, backbone, _ = setup(args, device)
    backbone.to(device)
    _, coconut = build(method, backbone, compiled=False)
    mine = all_rows[args.batch_sizes[0]][ctx.rank * args.coconut_batch:(ctx.rank + 1) * args.coconut_batch]
    batch_in = collate(mine, tok.pad_token_id, device=device)
    net = ddp.wrap(coconut.train(), ctx)
    optimizer = torch.optim.AdamW(coconut.parameters(), lr=1e-4, fused=device.type == "cuda")

    ms = step_ms(lambda: net(**batch_in).loss, optimizer)
    rows.append({"workload": "coconut", "per_gpu_batch": f"{args.coconut_batch} questions, 7 passes", "step_ms": ms,
                 "throughput": ctx.world_size * args.coconut_batch / (ms / 1000), "unit": "examples/s"})
    if ctx.is_main:
        Path(args.out).write_text(json.dumps({"rows": rows, "device": device_name(device)}))
    ddp.teardown()
    return 0


class BackboneModule(torch.nn.Module):
    """What DDP wraps for the backbone workload: embedding, the blocks (GPT.extend), head and loss."""

    def __init__(self, model, positions):
        super().__init__()
        self.model, self.positions = model, positions

    def forward(self, inputs, targets):
        hidden = self.model.extend(self.model.wte(inputs), self.positions, None).hidden
        logits = self.model.head(hidden).flatten(0, 1)
        return torch.nn.functional.cross_entropy(logits.float(), targets.flatten())


def scaling(args, out: list[dict], errors: list[str]) -> str | None:
    """Launches alternate between process counts (1, 2, 1, 2, ... for --repeat rounds), so a slow
    spell of a shared host falls on both; each figure is the median over the launches."""
    measured, device = {}, None  # (n, workload) -> rows of the launches
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            for n in args.gpus:
                target = Path(tmp) / f"x{n}-{round_}.json"
                extra = ["--worker", "--out", str(target), "--device", args.device, "--model-size", args.model_size,
                         "--steps", str(args.steps), "--seq", str(args.seq), "--backbone-batch",
                         str(args.backbone_batch), "--coconut-batch", str(args.coconut_batch)]
                extra += ["--data-dir", args.data_dir] if args.data_dir else []
                worker_script = str(Path(__file__).resolve().relative_to(ROOT))
                done = torchrun(n, [worker_script, *extra], args.timeout, "scaling worker")
                if done.returncode or not target.exists():
                    errors.append(f"scaling on {n} processes failed: {done.stderr.strip().splitlines()[-1:]}")
                    continue
                payload = json.loads(target.read_text())
                device = payload["device"]
                for r in payload["rows"]:
                    measured.setdefault((n, r["workload"]), []).append(r)
    for (n, workload), runs in measured.items():
        step = median([r["step_ms"] for r in runs])
        throughput = median([r["throughput"] for r in runs])
        base = measured.get((1, workload))
        efficiency = throughput / (n * median([r["throughput"] for r in base])) if base else None
        out.append({"section": "scaling", "workload": workload, "processes": n, "per_gpu_batch": runs[0]["per_gpu_batch"],
                    "launches": len(runs), "step_ms": step, "step_ms_min": min(r["step_ms"] for r in runs),
                    "step_ms_max": max(r["step_ms"] for r in runs), "throughput": throughput, "unit": runs[0]["unit"],
                    "efficiency": efficiency, "target": ">= 0.9" if n == 2 else None,
                    "met": (efficiency >= 0.9) if (n == 2 and efficiency is not None) else None})
    return device


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gpus", default="1,2", help="process counts to run (default 1,2)")
    p.add_argument("--sections", default="equivalence,scaling")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--model-size", default="gpt2", help="backbone preset for the scaling runs (tiny for a CPU check)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per workload (default 10)")
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--backbone-batch", type=int, default=16, help="sequences per GPU (default 16)")
    p.add_argument("--coconut-batch", type=int, default=32, help="questions per GPU (default 32)")
    p.add_argument("--data-dir", help="folder with coconut/prosqa_test.json and gpt2-tokenizer/ (else LATENT_DATA_DIR)")
    p.add_argument("--repeat", type=int, default=1, help="rounds of scaling launches (alternating counts; default 1)")
    p.add_argument("--timeout", type=int, default=400, help="seconds per torchrun launch")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--name", default="ddp_scaling")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    args.gpus = [int(n) for n in args.gpus.split(",")]
    if args.device == "cuda" and max(args.gpus) > torch.cuda.device_count():
        raise SystemExit(f"ddp_scaling: --gpus {max(args.gpus)} but this machine has {torch.cuda.device_count()} GPU(s)")
    sections = set(args.sections.split(","))
    rows, errors = [], []
    device = device_name(torch.device(args.device))
    if "equivalence" in sections:
        equivalence(args, rows, errors)
    if "scaling" in sections:
        device = scaling(args, rows, errors) or device
    print()
    for section in ("equivalence", "scaling"):
        part = [r for r in rows if r["section"] == section]
        if part:
            print_table(part)
            print()
    path = write_result(args.name, {
        "name": args.name, "title": "Several GPUs: the harness under torchrun, and data-parallel scaling",
        "description": "equivalence: the smoke suite under N processes against one; scaling: DDP (NCCL) training "
                       "throughput at a fixed batch per GPU, efficiency = throughput / (N x one GPU's)",
        "device": f"{max(args.gpus)} x {device}", "command": command_line(), **versions(), "rows": rows,
        "notes": "; ".join(errors) or "See benchmarks/README.md.",
    }, args.results_dir)
    print(f"wrote {path}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
