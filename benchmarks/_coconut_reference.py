"""The reference Coconut, measured on inputs that benchmarks/coconut_step.py prepares.

Runs in a process of its own, because the reference (facebookresearch/coconut at 27273cb, kept
out of the repository in third_party/coconut) needs transformers 4.46 while this project uses
5.x; coconut_step.py starts it with PYTHONPATH = <a folder holding transformers 4.46>:
third_party/coconut. Nothing of this project is imported here. Its `Coconut` class is used as
it is; the batch is built here in the layout its collator produces: rows shifted right so that
their first <latent> shares a column (attention mask 0 and position 0 on that padding, positions
counting from 0 after it), then right-padded (mask 0, labels -100, position 0).

Input (torch.save): config (GPT-2 fields), state_dict, token ids, batches {size: rows of
input_ids/labels}, generation prompts, settings. Output (torch.save): the logits at the labelled
positions and the loss (fp32 and bf16 autocast, eval mode), the training step times
(forward + backward + AdamW as its training loop does, default foreach AdamW) and peak memory
per batch size and precision, and the greedy answers and times of its batch-size-1 `generate`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

CONFIG_FIELDS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner", "activation_function",
                 "resid_pdrop", "embd_pdrop", "attn_pdrop", "layer_norm_epsilon", "initializer_range",
                 "bos_token_id", "eos_token_id", "pad_token_id")


def reference_batch(rows: list[dict], latent_id: int, pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """The reference collator's layout (see the module docstring), as tensors on `device`."""
    def first_latent(ids: list[int]) -> int | None:
        return ids.index(latent_id) if latent_id in ids else None

    anchors = [a for a in (first_latent(r["input_ids"]) for r in rows) if a is not None]
    target = max(anchors) if anchors else 0
    shifted = []
    for row in rows:
        first = first_latent(row["input_ids"])
        shift = target - first if first is not None else 0
        n = len(row["input_ids"])
        shifted.append({"input_ids": [pad_id] * shift + row["input_ids"], "labels": [-100] * shift + row["labels"],
                        "attention_mask": [0] * shift + [1] * n, "position_ids": [0] * shift + list(range(n))})
    width = max(len(r["input_ids"]) for r in shifted)
    fills = {"input_ids": pad_id, "labels": -100, "attention_mask": 0, "position_ids": 0}
    return {key: torch.tensor([r[key] + [fill] * (width - len(r[key])) for r in shifted], device=device)
            for key, fill in fills.items()}


def labelled_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[K, V] logits at the positions whose next token is scored, row by row."""
    return logits[:, :-1][labels[:, 1:] != -100].float().cpu()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> int:
    p = argparse.ArgumentParser(description="Measure the reference Coconut on prepared inputs.")
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    args = p.parse_args()

    import transformers
    from coconut import Coconut  # third_party/coconut/coconut.py
    from transformers import GPT2Config, GPT2LMHeadModel

    data = torch.load(args.input, weights_only=False)
    settings = data["settings"]
    device = torch.device(settings["device"])
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ids = data["ids"]
    config = GPT2Config(**{k: v for k, v in data["config"].items() if k in CONFIG_FIELDS})
    base = GPT2LMHeadModel(config)
    missing, unexpected = base.load_state_dict(data["state_dict"], strict=False)
    real_missing = [k for k in missing if not k.endswith((".attn.bias", ".attn.masked_bias"))]
    if real_missing or unexpected:
        raise SystemExit(f"weights do not fit the reference model: missing {real_missing}, unexpected {unexpected}")
    model = Coconut(base, ids["latent"], ids["bot"], ids["eot"], ids["eos"]).to(device)
    out: dict = {"transformers": transformers.__version__, "torch": torch.__version__, "steps": [], "logits": {}}
    autocast = {"fp32": None, "bf16": torch.bfloat16}

    # logits on the untouched weights (eval mode: no dropout)
    rows32 = data["batches"][min(data["batches"])]
    batch = reference_batch(rows32, ids["latent"], ids["pad"], device)
    model.eval()
    for precision in settings["precisions"]:
        with torch.no_grad(), torch.autocast(device.type, dtype=autocast[precision] or torch.float32,
                                             enabled=autocast[precision] is not None):
            result = model(**batch)
        out["logits"][precision] = {"logits": labelled_logits(result.logits, batch["labels"]),
                                    "loss": float(result.loss)}
        del result
    print(f"reference: logits done ({len(rows32)} rows, width {batch['input_ids'].shape[1]})", flush=True)

    # generation, one question at a time (the reference supports batch size 1 only)
    generated, seconds = [], []
    for precision in settings["gen_precisions"]:
        tokens_p, times_p = [], []
        for prompt in data["prompts"]:
            x = torch.tensor([prompt], device=device)
            with torch.no_grad(), torch.autocast(device.type, dtype=autocast[precision] or torch.float32,
                                                 enabled=autocast[precision] is not None):
                sync(device)
                began = time.perf_counter()
                result = model.generate(x, torch.ones_like(x), max_new_tokens=settings["max_new_tokens"])
                sync(device)
            times_p.append(time.perf_counter() - began)
            tokens_p.append(result[0, len(prompt):].tolist())
        generated.append(tokens_p)
        seconds.append(times_p)
        print(f"reference: generation {precision}: {statistics.median(times_p):.3f} s per question", flush=True)
    out["generation"] = {p: {"tokens": t, "seconds": s} for p, t, s in zip(settings["gen_precisions"], generated, seconds)}

    # training steps: forward + backward + AdamW, as its training loop does
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    for size, precision, repeat in settings["step_plan"]:
        rows = data["batches"][size]
        batch = reference_batch(rows, ids["latent"], ids["pad"], device)
        record = {"batch": size, "precision": precision, "width": int(batch["input_ids"].shape[1])}
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        try:
            times = []
            for i in range(repeat + 1):  # the first is a warm-up
                sync(device)
                began = time.perf_counter()
                with torch.autocast(device.type, dtype=autocast[precision] or torch.float32,
                                    enabled=autocast[precision] is not None):
                    loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                sync(device)
                if i:
                    times.append(1000 * (time.perf_counter() - began))
            record.update(step_ms=statistics.median(times), times_ms=times)
        except torch.cuda.OutOfMemoryError:
            record["error"] = "out of memory"
            optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            record["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        out["steps"].append(record)
        print(f"reference: step {record}", flush=True)
    torch.save(out, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
