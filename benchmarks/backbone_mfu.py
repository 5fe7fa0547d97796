"""Training throughput and model-FLOPs utilisation (MFU) of the GPT-2 small backbone (124M).

One training step = forward + backward + fused AdamW over `batch` random sequences of `seq`
tokens, bf16 autocast (weights and optimizer state fp32). Variants:

  library   transformers' GPT2LMHeadModel forward with labels (SDPA picks the flash kernel,
            full-vocabulary logits upcast to fp32 for the loss), vocabulary 50257; a reference
            point only (the baselines no longer run on it)
  lean      our GPT (baselines/models/gpt.py, the backbone every method uses) through
            `GPT.extend`, each block compiled (`compile_blocks`: torch.compile, one graph shared
            by the twelve), the output head and cross-entropy compiled together (no fp32 copy of
            the logits), plain causal attention (flash)
  lean-v64  as lean with the vocabulary padded to 50304 (a multiple of 64); the padded rows are
            never scored (their logits are cut off before the loss)

Model FLOPs per step = 6 N tokens + 3 x 4 L d pairs, with N the multiplying parameters (blocks
and the tied output head over the true 50257-word vocabulary; position embeddings excluded) and
pairs the causal (query, key) pairs, seq (seq + 1) / 2 per sequence (compute.py's convention).
MFU = model FLOPs / step time / the bf16 matmul rate measured here on an 8192^3 product.

    python benchmarks/backbone_mfu.py [--batch-sizes 8,16,32] [--seq 1024] [--steps 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gpu import (RESULTS_DIR, command_line, device_name, matmul_peak_tflops, median, peak_gib, print_table,  # noqa: E402
                  reset_peak, time_ms, versions, write_result)

from baselines.backbone import BackboneConfig, build_backbone  # noqa: E402

VOCAB = 50257  # GPT-2's vocabulary


def model_flops(n_layer: int, n_embd: int, batch: int, seq: int) -> float:
    multiplying = 12 * n_layer * n_embd**2 + n_embd * VOCAB  # blocks + output head
    pairs = batch * seq * (seq + 1) / 2
    return 6.0 * multiplying * batch * seq + 3 * 4.0 * n_layer * n_embd * pairs


def head_loss(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, vocab: int) -> torch.Tensor:
    """Cross-entropy of hidden [N, D] against targets [N] through the output head weight [V', D]
    (V' >= vocab; padded rows are cut off before the loss)."""
    logits = F.linear(hidden, weight)[:, :vocab]  # [N, vocab]
    return F.cross_entropy(logits.float(), targets)


def make_step(variant: str, model, optimizer, batch: int, seq: int, device: torch.device):
    tokens = torch.randint(0, VOCAB, (batch, seq + 1), device=device)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    positions = torch.arange(seq, device=device)[None].expand(batch, -1)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    if variant == "library":
        def step():  # model: a transformers GPT2LMHeadModel (library_model)
            with autocast:
                loss = model(input_ids=inputs, labels=inputs).loss  # the library shifts inside
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        return step
    model.compile_blocks()
    loss_fn = torch.compile(head_loss, dynamic=False) if device.type == "cuda" else head_loss

    def step():
        with autocast:
            hidden = model.extend(model.wte(inputs), positions, None).hidden  # [B, T, D]
            loss = loss_fn(hidden.reshape(-1, hidden.shape[-1]), model.wte.weight, targets.reshape(-1), VOCAB)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def library_model(config: BackboneConfig, vocab: int):
    """transformers' GPT2LMHeadModel of the same size (SDPA attention, no dropout)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=config.n_positions, n_embd=config.n_embd,
                                       n_layer=config.n_layer, n_head=config.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
                                       attn_pdrop=0.0, bos_token_id=None, eos_token_id=None))
    model.config._attn_implementation = "sdpa"
    return model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-sizes", default="8,16,32", help="comma-separated batch sizes (default 8,16,32)")
    p.add_argument("--seq", type=int, default=1024, help="sequence length (default 1024)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per setting (default 10)")
    p.add_argument("--variants", default="library,lean,lean-v64", help="comma-separated (default all three)")
    p.add_argument("--model-size", default="gpt2", help="backbone size preset (default gpt2 = 124M; tiny for a CPU check)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--name", default="backbone_mfu")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    batches = [int(b) for b in args.batch_sizes.split(",")]
    torch.manual_seed(0)
    peak = matmul_peak_tflops(device, n=8192 if device.type == "cuda" else 512)
    print(f"measured bf16 matmul peak: {peak:.1f} TFLOP/s", flush=True)

    rows = []
    for variant in args.variants.split(","):
        vocab = 50304 if variant == "lean-v64" else VOCAB
        config = BackboneConfig(args.model_size, n_positions=max(1024, args.seq + 1))
        model = (library_model(config, vocab) if variant == "library" else build_backbone(config, vocab)).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01, fused=device.type == "cuda")
        for batch in batches:
            reset_peak(device)
            try:
                step = make_step(variant, model, optimizer, batch, args.seq, device)
                first = time_ms(step, device, repeat=1, warmup=0)[0]  # compiles on first use
                times = time_ms(step, device, repeat=args.steps, warmup=2)
            except torch.cuda.OutOfMemoryError:
                rows.append({"variant": variant, "batch": batch, "seq": args.seq, "error": "out of memory"})
                optimizer.zero_grad(set_to_none=True)
                torch.cuda.empty_cache()
                continue
            ms = median(times)
            flops = model_flops(config.n_layer, config.n_embd, batch, args.seq)
            rows.append({
                "variant": variant, "vocab": vocab, "batch": batch, "seq": args.seq,
                "tokens_per_s": batch * args.seq / (ms / 1000), "step_ms": ms,
                "step_ms_min": min(times), "first_step_s": first / 1000,
                "model_tflops": flops / (ms / 1000) / 1e12, "mfu": flops / (ms / 1000) / 1e12 / peak,
                "peak_gib": peak_gib(device),
            })
            print_table(rows[-1:])
        del model, optimizer
        reset_peak(device)

    print()
    print_table(rows, ["variant", "vocab", "batch", "seq", "tokens_per_s", "step_ms", "model_tflops", "mfu", "peak_gib"])
    best = max((r for r in rows if "mfu" in r), key=lambda r: r["mfu"], default=None)
    payload = {
        "name": args.name,
        "title": "Backbone training throughput and MFU (GPT-2 small, 124M)",
        "description": "Forward + backward + fused AdamW on random tokens, bf16 autocast. MFU = model FLOPs "
                       "(6 N tokens + causal attention) per second over the bf16 matmul rate measured in the "
                       "same run (8192^3 product). `library`: transformers' GPT2LMHeadModel; `lean`: our GPT "
                       "through GPT.extend, blocks compiled; `lean-v64`: vocabulary padded to 50304.",
        "device": device_name(device),
        "command": command_line(),
        "matmul_peak_tflops": peak,
        "best_mfu": best["mfu"] if best else None,
        "best_setting": f"{best['variant']} batch {best['batch']} x {best['seq']}" if best else None,
        "goal": "MFU >= 0.45 in bf16",
        **versions(),
        "rows": rows,
        "notes": "See benchmarks/README.md for what bounds each figure.",
    }
    path = write_result(args.name, payload, args.results_dir)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
