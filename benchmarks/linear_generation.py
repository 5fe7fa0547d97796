"""Generation memory and latency by context length: the recurrent state against the KV cache.

    python -m benchmarks.linear_generation --device cuda [--quick]

The two models of the state-tracking study (benchmarks/linear_study.py: 2 layers, width 128,
4 heads; untrained weights, which do not change the cost) read a prompt of n tokens at batch B
and then generate `--new-tokens` tokens greedily, the way their methods do: gated_deltanet
prefills with the chunked form and then steps its per-layer state [B, H, K, V]; the transformer
prefills into the KV cache and then attends to every cached column at each step. Reported per
length: prefill time, median time per generated token, the analytic size of what is carried
(state vs cache) and the measured peak memory during generation (weights included), all under
bf16 autocast as in the harness. Times are medians over `--repeat` generations (CUDA events);
on a GPU shared with other work they are upper bounds. Writes
results/studies/linear-state-tracking/generation.json and generation.svg/png.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from pathlib import Path

import torch

from benchmarks import _gpu
from benchmarks.linear_study import MODEL, REPO, STUDY

VOCAB = 128


def build(kind: str, n_positions: int, device: torch.device):
    from baselines.models.deltanet import DeltaNetConfig, GatedDeltaNet
    from baselines.models.gpt import GPT, GPTConfig

    if kind == "gated_deltanet":
        config = DeltaNetConfig(vocab_size=VOCAB, n_positions=n_positions, head_dim=MODEL["n_embd"] // MODEL["n_head"],
                                **MODEL)
        return GatedDeltaNet(config).to(device).eval()
    return GPT(GPTConfig(vocab_size=VOCAB, n_positions=n_positions, **MODEL)).to(device).eval()


def carried_bytes(kind: str, batch: int, length: int) -> int:
    """What generation carries from token to token: the fp32 states, or the bf16 keys and values."""
    layers, width, heads = MODEL["n_layer"], MODEL["n_embd"], MODEL["n_head"]
    head_dim = width // heads
    if kind == "gated_deltanet":
        return layers * batch * heads * head_dim * head_dim * 4
    return layers * 2 * batch * length * width * 2


@torch.no_grad()
def generate(kind: str, net, prompt: torch.Tensor, new_tokens: int, device: torch.device) -> tuple[float, list[float]]:
    """(prefill ms, [ms per generated token]) of one greedy generation."""
    from baselines.models.gpt import KVCache

    times, events = [], []
    batch, length = prompt.shape

    def timed(fn):
        out = None
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            out = fn()
            end.record()
            events.append((start, end))
        else:
            import time

            began = time.perf_counter()
            out = fn()
            times.append(1000 * (time.perf_counter() - began))
        return out

    if kind == "gated_deltanet":
        h, states = timed(lambda: net(prompt))
        token = net.logits(h[:, -1]).argmax(-1)
        for _ in range(new_tokens):
            h, states = timed(lambda: net(token[:, None], states=states, form="recurrent"))
            token = net.logits(h[:, -1]).argmax(-1)
    else:
        cache = KVCache(capacity=length + new_tokens)
        h = timed(lambda: net(prompt, cache=cache))
        token = h[:, -1].argmax(-1)
        for step in range(new_tokens):
            positions = torch.full((batch, 1), length + step, device=device)
            h = timed(lambda: net(token[:, None], positions=positions, cache=cache))
            token = h[:, -1].argmax(-1)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        times = [start.elapsed_time(end) for start, end in events]
    return times[0], times[1:]


def measure(kind: str, length: int, batch: int, new_tokens: int, repeat: int, device: torch.device) -> dict:
    net = build(kind, length + new_tokens + 1, device)
    prompt = torch.randint(0, VOCAB, (batch, length), device=device)
    autocast = (torch.autocast(device_type="cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else contextlib.nullcontext())
    row = {"model": kind, "context_length": length, "batch": batch, "new_tokens": new_tokens,
           "carried_mib": carried_bytes(kind, batch, length + new_tokens) / 2**20}
    try:
        with autocast:
            generate(kind, net, prompt, min(new_tokens, 4), device)  # warm-up: kernels, allocator
            _gpu.reset_peak(device)
            weights = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
            runs = [generate(kind, net, prompt, new_tokens, device) for _ in range(repeat)]
        peak = _gpu.peak_gib(device)
        row.update(prefill_ms=statistics.median(r[0] for r in runs),
                   decode_ms_per_token=statistics.median(t for r in runs for t in r[1]),
                   peak_mib=None if peak is None else peak * 1024,
                   peak_above_weights_mib=None if peak is None else peak * 1024 - weights / 2**20, status="ok")
    except torch.cuda.OutOfMemoryError:
        row.update(status="out of memory")
    del net
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def plot(payload: dict, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.3))
    for kind, color, marker in (("gated_deltanet", "C0", "o"), ("transformer", "C3", "s")):
        rows = [r for r in payload["rows"] if r["model"] == kind and r["status"] == "ok"]
        x = [r["context_length"] for r in rows]
        axes[0].plot(x, [r["decode_ms_per_token"] for r in rows], color=color, marker=marker, label=kind)
        memory = [r["peak_above_weights_mib"] if r["peak_above_weights_mib"] is not None else r["carried_mib"]
                  for r in rows]
        axes[1].plot(x, memory, color=color, marker=marker, label=f"{kind} (measured peak)")
        axes[1].plot(x, [r["carried_mib"] for r in rows], color=color, linestyle=":", label=f"{kind} (state / cache)")
    for ax, label in zip(axes, ("ms per generated token (median)", "generation memory above weights, MiB")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("context length (tokens)")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=6)
    title = f"Generation at batch {payload['batch']} on {payload['device']}"
    fig.suptitle(title + (" [QUICK SMOKE]" if payload["quick"] else ""), fontsize=9)
    fig.tight_layout()
    for ext in ("svg", "png"):
        fig.savefig(folder / f"generation.{ext}", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--study-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    lengths = (128, 512) if args.quick else (256, 1024, 4096, 16384, 32768)
    new_tokens = 8 if args.quick else args.new_tokens
    study_dir = args.study_dir or (Path("/tmp/linear-quick") if args.quick else REPO) / "results" / "studies" / STUDY
    rows = [measure(kind, n, args.batch, new_tokens, args.repeat, device)
            for n in lengths for kind in ("gated_deltanet", "transformer")]
    from baselines.models.deltanet import kernel_status

    payload = {"name": "linear_generation", "title": "Generation memory and latency by context length",
               "device": _gpu.device_name(device), "quick": args.quick, "batch": args.batch,
               "model": MODEL, "prefill_kernel": kernel_status(device), "precision": "bf16 autocast"
               if device.type == "cuda" else "fp32", "versions": _gpu.versions(), "command": _gpu.command_line(),
               "notes": "untrained weights (cost does not depend on them); times are medians over repeats and "
                        "may include contention from other processes on the same GPU",
               "rows": rows}
    study_dir.mkdir(parents=True, exist_ok=True)
    (study_dir / "generation.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    plot(payload, study_dir)
    _gpu.print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
