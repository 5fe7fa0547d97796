"""Where one Coconut training forward+backward spends its time, against one dense pass.

Same setting as coconut_step.py (GPT-2 124M from scratch, ProsQA test questions at the last stage,
6 continuous thoughts). Runs torch.profiler over a few forward+backward calls of each and prints
the operators that take the most GPU time, and the GPU-busy time against the wall time (a step
whose GPU is idle most of the time is bound by the host: Python, autograd, launches).

    python benchmarks/coconut_profile.py [--batch-size 32] [--precision bf16] [--variant eager]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gpu import RESULTS_DIR, command_line, device_name, print_table, versions, write_result  # noqa: E402
from coconut_step import autocast, build, dense_pass, setup, strict_fp32  # noqa: E402

from baselines.batching import collate  # noqa: E402


def measure(fn, device: torch.device, repeat: int, top: int) -> tuple[list[dict], dict]:
    """Profile `repeat` calls of fn (after 2 warm-ups): top operators by GPU time, and totals."""
    for _ in range(2):
        fn()
    torch.cuda.synchronize(device) if device.type == "cuda" else None
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    began = time.perf_counter()
    with profile(activities=activities) as prof:
        for _ in range(repeat):
            fn()
        torch.cuda.synchronize(device) if device.type == "cuda" else None
    wall_ms = 1000 * (time.perf_counter() - began) / repeat
    events = prof.key_averages()
    gpu = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    ranked = sorted(events, key=lambda e: getattr(e, gpu, 0), reverse=True)
    # GPU time: the kernels' own rows (an operator's row repeats the time of the kernels it launched)
    kernels = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA] if device.type == "cuda" else events
    total_gpu = sum(getattr(e, gpu, 0) for e in kernels) / 1000 / repeat
    rows = [{"operator": e.key[:70], "calls": e.count // repeat, "gpu_ms": getattr(e, gpu, 0) / 1000 / repeat,
             "share": getattr(e, gpu, 0) / 1000 / repeat / total_gpu if total_gpu else None}
            for e in ranked[:top]]
    launches = sum(e.count for e in events if e.device_type == torch.autograd.DeviceType.CUDA) // repeat \
        if device.type == "cuda" else None
    return rows, {"wall_ms": wall_ms, "gpu_busy_ms": total_gpu, "kernels": launches}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    p.add_argument("--variant", choices=["eager", "compiled"], default="eager")
    p.add_argument("--repeat", type=int, default=3, help="profiled calls (after 2 warm-ups)")
    p.add_argument("--top", type=int, default=15, help="operators listed per profile")
    p.add_argument("--model-size", default="gpt2", help="backbone preset (tiny for a CPU check)")
    p.add_argument("--data-dir", help="folder with coconut/prosqa_test.json and gpt2-tokenizer/")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--name", default="coconut_profile")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    args.batch_sizes, args.max_new_tokens = [args.batch_size], 64
    tok, _, method, rows, backbone, _ = setup(args, device)
    backbone.to(device)
    _, model = build(method, backbone, compiled=args.variant == "compiled")
    model.train()
    strict_fp32(args.precision == "fp32")
    batch = collate(rows[args.batch_size], tok.pad_token_id, device=device)
    dense, width = dense_pass(model, batch)

    def forward_backward(loss_fn):
        def run():
            with autocast(device, args.precision):
                loss = loss_fn()
            loss.backward()
            model.zero_grad(set_to_none=True)
        return run

    table, facts = [], {}
    for name, fn in (("coconut", lambda: model(**batch).loss), ("dense", dense)):
        top, totals = measure(forward_backward(fn), device, args.repeat, args.top)
        print(f"\n{name}: wall {totals['wall_ms']:.1f} ms per fwd+bwd, GPU busy {totals['gpu_busy_ms']:.1f} ms, "
              f"{totals['kernels']} kernels", flush=True)
        print_table(top, ["operator", "calls", "gpu_ms", "share"])
        table += [{"pass": name, **r} for r in top]
        facts.update({f"{name}_{k}": v for k, v in totals.items()})
    write_result(args.name, {
        "name": args.name,
        "title": "Where a Coconut forward+backward spends its time (profiler)",
        "description": f"batch {args.batch_size}, {args.precision}, {args.variant}, width {width}; top operators by "
                       "GPU self time per forward+backward, for Coconut (7 passes) and one dense pass",
        "device": device_name(device), "command": command_line(), **versions(), **facts, "rows": table,
        "notes": "See benchmarks/README.md.",
    }, args.results_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
