"""Looping costs its block passes and no more: a (k x L) looped model against the unrolled (kL x 1)
dense model of the same FLOPs, same width, batch and sequence.

Measured per configuration (bf16 autocast and SDPA on a GPU, fp32 on the CPU):
  train step   forward + backward + AdamW step of the harness's module (LoopedLM), ms
  forward      the forward alone (no grad), ms
  decode       batched cached greedy decoding: the prompt pass, then `--new-tokens` one-column
               passes through the KV cache (one slot per block application), ms
and the ratio looped / dense of each; the target is a ratio <= 1.1 (a looped step at L loops within
1.1x of the dense model's L-fold pass). Peak memory of each training step, GiB.

    python benchmarks/looped_step.py                       # GPU, ~1 min
    python benchmarks/looped_step.py --device cpu --quick  # CPU smoke check
Writes benchmarks/results/looped_step.json (and prints the table).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._gpu import (command_line, device_name, median, peak_gib, print_table, reset_peak,  # noqa: E402
                             time_ms, versions, write_result)
from baselines.methods.looped import LoopedLM  # noqa: E402
from baselines.models.gpt import KVCache  # noqa: E402
from baselines.models.looped import LoopedConfig, LoopedGPT  # noqa: E402

VOCAB = 512
TARGET = 1.1


def build(width: int, heads: int, layers: int, loops: int, n_positions: int, device: torch.device) -> LoopedLM:
    torch.manual_seed(0)
    config = LoopedConfig(vocab_size=VOCAB, n_positions=n_positions, n_layer=layers, loops=loops, n_embd=width,
                          n_head=heads)
    return LoopedLM(LoopedGPT(config)).to(device)


def autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)


def measure(model: LoopedLM, batch: int, seq: int, new_tokens: int, repeat: int, device: torch.device) -> dict:
    ids = torch.randint(3, VOCAB, (batch, seq), device=device)
    labels = ids.clone()
    labels[:, : seq // 2] = -100
    mask = torch.ones_like(ids)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")

    def step():
        with autocast(device):
            out = model(input_ids=ids, labels=labels, attention_mask=mask)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def forward():
        with torch.no_grad(), autocast(device):
            model.model.hidden(ids)

    net = model.model
    prompt = ids[:, : seq - new_tokens]

    def decode():
        with torch.no_grad(), autocast(device):
            cache = KVCache(seq)
            width = prompt.shape[1]
            h = net.hidden(prompt, cache=cache)
            token = net.logits(h[:, -1]).argmax(-1)
            for i in range(new_tokens):
                h = net.hidden(token[:, None], positions=torch.full((batch, 1), width + i, device=device), cache=cache)
                token = net.logits(h[:, -1]).argmax(-1)

    model.train()
    reset_peak(device)
    step_ms = median(time_ms(step, device, repeat=repeat, warmup=3))
    peak = peak_gib(device)
    model.eval()
    return {"train_ms": step_ms, "forward_ms": median(time_ms(forward, device, repeat=repeat, warmup=2)),
            "decode_ms": median(time_ms(decode, device, repeat=max(3, repeat // 4), warmup=1)), "peak_gib": peak}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats (a smoke check)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None, help="write the result file here instead of benchmarks/results")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")
    # (width, heads, k, L list, batch, sequence): the study's scale, and a GPT-2-small-like one
    grid = [(256, 4, 2, [2, 4, 8], 256, 64), (768, 12, 2, [3, 6], 32, 256)]
    repeat = args.repeat
    if args.quick:
        grid, repeat = [(64, 4, 2, [2, 3], 8, 32)], 3
    rows = []
    for width, heads, k, loop_counts, batch, seq in grid:
        for loops in loop_counts:
            looped = measure(build(width, heads, k, loops, seq, device), batch, seq, args.new_tokens, repeat, device)
            dense = measure(build(width, heads, k * loops, 1, seq, device), batch, seq, args.new_tokens, repeat, device)
            row = {"width": width, "k": k, "L": loops, "batch": batch, "seq": seq}
            for key in ("train_ms", "forward_ms", "decode_ms"):
                row[f"looped_{key}"] = looped[key]
                row[f"dense_{key}"] = dense[key]
                row[f"ratio_{key.removesuffix('_ms')}"] = looped[key] / dense[key]
            row["looped_peak_gib"], row["dense_peak_gib"] = looped["peak_gib"], dense["peak_gib"]
            row["train_within_target"] = row["ratio_train"] <= TARGET
            rows.append(row)
            print_table([row])
    payload = {"name": "looped_step", "title": "Looped transformer: (k x L) against the unrolled (kL x 1)",
               "description": "Training step, forward and cached decoding of a looped model against the dense model "
                              "of the same FLOPs; target: looped / dense <= 1.1",
               "device": device_name(device), "command": command_line(), "versions": versions(),
               "target_ratio": TARGET, "all_within_target": all(r["train_within_target"] for r in rows),
               "quick": args.quick, "rows": rows}
    path = write_result("looped_step", payload, **({"folder": args.out} if args.out else {}))
    print_table(rows, ["width", "k", "L", "batch", "seq", "looped_train_ms", "dense_train_ms", "ratio_train",
                       "ratio_forward", "ratio_decode", "train_within_target"])
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
