"""Coconut on one GPU, side by side with the reference implementation, in one invocation.

Setting: GPT-2 124M (from scratch, dropout 0), the GPT-2 tokenizer plus this project's special
tokens, ProsQA test questions at Coconut's last stage (c = 1, 6 continuous thoughts: 7 passes).

  1. reference  (a process of its own, transformers 4.46; benchmarks/_coconut_reference.py):
                logits on the same weights, training step time (fp32, bf16 autocast),
                batch-size-1 generation of 64 new tokens
  2. logits     ours on the same weights: max |difference| and ||ours - ref|| / ||ref|| over the
                logits at every labelled position of the batch, fp32 (TF32 off) and bf16
  3. generation batched, KV-cached greedy answers: throughput, and identity with one question
                at a time (fp32 and bf16) and with the reference's answers (fp32)
  4. steps      training step (forward + backward + clip + fused AdamW, median) and peak memory
                per variant (eager / compiled blocks) and batch size; the multi-pass overhead =
                Coconut forward+backward / one dense forward+backward over the same columns
  5. kernels    generation with SDPA's own kernel choice (cuDNN allowed) against the baselines'
                choice without cuDNN (baselines/attention.py): first call and repeat

    python benchmarks/coconut_step.py [--batch-sizes 32,128] [--variants eager,compiled]
    PYTHONPATH=<older checkout> python benchmarks/coconut_step.py --label before --no-reference ...
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gpu import (RESULTS_DIR, command_line, device_name, median, peak_gib, print_table, reset_peak,  # noqa: E402
                  time_ms, versions, write_result)

from baselines.backbone import BackboneConfig, build_backbone  # noqa: E402
from baselines.batching import collate  # noqa: E402
from baselines.data import resolve_data_dir  # noqa: E402
from baselines.generation import positions_from_mask  # noqa: E402
from baselines.methods.base import BOT, EOT, LATENT  # noqa: E402
from baselines.methods.coconut import Coconut, Config  # noqa: E402
from baselines.methods.engines.latent import example_parts  # noqa: E402
from baselines.tasks import get_task  # noqa: E402
from baselines.tokenizer import load_gpt2_tokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AUTOCAST = {"fp32": None, "bf16": torch.bfloat16}


def autocast(device: torch.device, precision: str):
    dtype = AUTOCAST[precision]
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def strict_fp32(on: bool) -> None:
    """fp32 figures are plain fp32: no TF32 in matrix products (as in the reference's process)."""
    torch.backends.cuda.matmul.allow_tf32 = not on
    torch.backends.cudnn.allow_tf32 = not on


def row(figure: str, setting: str, value, unit: str, target: str | None = None, met: bool | None = None) -> dict:
    return {"figure": figure, "setting": setting, "value": value, "unit": unit, "target": target, "met": met}


# -- setup ----------------------------------------------------------------------------------------

def setup(args, device: torch.device):
    data_dir = resolve_data_dir(args.data_dir)
    if data_dir is None or not (data_dir / "gpt2-tokenizer").is_dir():
        raise SystemExit("coconut_step: needs the data folder with coconut/prosqa_test.json and gpt2-tokenizer/ "
                         "(--data-dir or LATENT_DATA_DIR)")
    tok = load_gpt2_tokenizer(data_dir / "gpt2-tokenizer")
    examples = get_task("prosqa", data_dir).examples("test", None, 0)
    fields = {f.name for f in dataclasses.fields(Config)}
    config = Config(c_thought=1, max_latent_stage=6, max_new_tokens=args.max_new_tokens)
    method = Coconut(config, tok)
    final = method.num_stages - 1
    rows = {b: [method.encode(ex, final) for ex in examples[:b]] for b in args.batch_sizes}
    torch.manual_seed(0)
    backbone = build_backbone(BackboneConfig(args.model_size, n_positions=1024), len(tok),
                              pad_id=tok.pad_token_id, eos_id=tok.eos_token_id)
    return tok, examples, method, rows, backbone, "compile" in fields


def build(method: Coconut, backbone, compiled: bool):
    """A CoconutModel over `backbone` (compiled blocks when asked and supported)."""
    if compiled:
        method = Coconut(dataclasses.replace(method.config, compile=True), method.tokenizer)
    return method, method.build_model(backbone)


# -- 1. the reference -------------------------------------------------------------------------------

def gpt2_weights(backbone) -> tuple[dict, dict]:
    """GPT2Config fields and a state dict in transformers' GPT-2 layout (its names; Conv1D weights
    stored [in, out]) for the reference process: the inverse of GPT.from_gpt2. A backbone of an
    older checkout (a transformers GPT2LMHeadModel) is passed as it is."""
    if hasattr(backbone, "transformer"):
        return backbone.config.to_dict(), {k: v.detach().cpu() for k, v in backbone.state_dict().items()}
    c = backbone.config
    config = {"vocab_size": c.vocab_size, "n_positions": c.n_positions, "n_embd": c.n_embd, "n_layer": c.n_layer,
              "n_head": c.n_head, "layer_norm_epsilon": c.layer_norm_eps, "resid_pdrop": 0.0, "embd_pdrop": 0.0,
              "attn_pdrop": 0.0}
    state = {"transformer.wte.weight": backbone.wte.weight, "transformer.wpe.weight": backbone.wpe.weight,
             "transformer.ln_f.weight": backbone.ln_f.weight, "transformer.ln_f.bias": backbone.ln_f.bias,
             "lm_head.weight": backbone.wte.weight}
    for i, block in enumerate(backbone.blocks):
        prefix = f"transformer.h.{i}."
        for name, norm in (("ln_1", block.ln_1), ("ln_2", block.ln_2)):
            state[prefix + name + ".weight"], state[prefix + name + ".bias"] = norm.weight, norm.bias
        for name, linear in (("attn.c_attn", block.attn.qkv), ("attn.c_proj", block.attn.proj),
                             ("mlp.c_fc", block.mlp.fc), ("mlp.c_proj", block.mlp.proj)):
            state[prefix + name + ".weight"] = linear.weight.t()
            state[prefix + name + ".bias"] = linear.bias
    return config, {k: v.detach().cpu().contiguous() for k, v in state.items()}


def run_reference(args, tok, examples, rows, backbone, device: torch.device, folder: Path) -> dict:
    ids = {"latent": tok.convert_tokens_to_ids(LATENT), "bot": tok.convert_tokens_to_ids(BOT),
           "eot": tok.convert_tokens_to_ids(EOT), "eos": tok.eos_token_id, "pad": tok.pad_token_id}
    prompts = [example_parts(tok, ex)[0] + [ids["bot"]] + [ids["latent"]] * 6 + [ids["eot"]]
               for ex in examples[: args.ref_gen_n]]
    small, large = min(args.batch_sizes), max(args.batch_sizes)
    plan = [(small, "fp32", args.ref_steps), (small, "bf16", args.ref_steps)]
    if large != small:
        plan.append((large, "bf16", max(1, args.ref_steps - 1)))
    config, state = gpt2_weights(backbone)
    inputs = {"config": config, "state_dict": state,
              "ids": ids, "batches": rows, "prompts": prompts,
              "settings": {"device": str(device), "precisions": ["fp32", "bf16"], "gen_precisions": ["fp32"],
                           "max_new_tokens": args.max_new_tokens, "step_plan": plan}}
    torch.save(inputs, folder / "reference_in.pt")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([args.reference_site, str(args.reference_code)])
    began = time.perf_counter()
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("_coconut_reference.py")),
                           "--input", str(folder / "reference_in.pt"), "--output", str(folder / "reference_out.pt")],
                          env=env, timeout=args.reference_timeout, capture_output=True, text=True)
    print(done.stdout[-3000:], done.stderr[-3000:] if done.returncode else "", flush=True)
    print(f"reference process: {time.perf_counter() - began:.0f} s", flush=True)
    if done.returncode:
        raise RuntimeError(f"reference process failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    out = torch.load(folder / "reference_out.pt", weights_only=False)
    out["wall_s"] = time.perf_counter() - began
    return out


# -- 2. logits ----------------------------------------------------------------------------------------

@torch.no_grad()
def our_logits(model, batch: dict, device: torch.device, precision: str) -> tuple[torch.Tensor, float]:
    """Logits [K, V] at the labelled positions (row by row) and the loss, eval mode."""
    model.eval()
    with autocast(device, precision):
        ids, labels, mask, start, n_latent, _ = model.prepare(batch["input_ids"], batch["labels"], batch["attention_mask"])
        hidden = model.run(ids, mask, start, n_latent).hidden
        keep = labels[:, 1:] != -100
        head = model.backbone.head if hasattr(model.backbone, "head") else model.backbone.lm_head  # older checkouts
        logits = head(hidden[:, :-1][keep]).float()
    return logits.cpu(), float(F.cross_entropy(logits, labels[:, 1:][keep]))


def compare_logits(ours: torch.Tensor, ref: torch.Tensor) -> tuple[float, float]:
    if ours.shape != ref.shape:
        raise RuntimeError(f"labelled positions differ: ours {tuple(ours.shape)}, reference {tuple(ref.shape)}")
    diff = (ours.double() - ref.double())
    return float(diff.abs().max()), float(diff.norm() / ref.double().norm())


# -- 3. generation ----------------------------------------------------------------------------------

def generate_texts(method, model, questions, batch_size: int, device, precision: str) -> tuple[list[str], float]:
    """Answers of `questions` in batches of `batch_size`, and the seconds it took."""
    texts = []
    torch.cuda.synchronize() if device.type == "cuda" else None
    began = time.perf_counter()
    with torch.no_grad(), autocast(device, precision):
        for i in range(0, len(questions), batch_size):
            texts += method.generate(model, questions[i:i + batch_size]).texts
    torch.cuda.synchronize() if device.type == "cuda" else None
    return texts, time.perf_counter() - began


def generation_section(args, tok, method, model, examples, device, ref: dict | None, label: str) -> list[dict]:
    out = []
    model.eval()
    questions = examples[: args.gen_n]
    generate_texts(method, model, questions[:8], 8, device, "bf16")  # warm-up
    rates = {}
    for precision, sizes in (("bf16", args.gen_batch_sizes), ("fp32", args.gen_batch_sizes[:1])):
        strict_fp32(precision == "fp32")
        for size in sizes:
            _, seconds = generate_texts(method, model, questions, size, device, precision)
            print(f"generation {precision} batch {size}: {len(questions)} questions in {seconds:.2f} s", flush=True)
            rates[(precision, size)] = len(questions) / seconds
            out.append(row("generation throughput", f"{label}, {precision}, batch {size}, {len(questions)} questions, "
                           f"{args.max_new_tokens} new tokens", len(questions) / seconds, "examples/s"))
    # identity: batched vs one question at a time
    few = examples[: args.single_n]
    batched = {}
    for precision in ("fp32", "bf16"):
        strict_fp32(precision == "fp32")
        batched[precision], _ = generate_texts(method, model, few, len(few), device, precision)
        single = [generate_texts(method, model, [q], 1, device, precision)[0][0] for q in few]
        same = sum(a == b for a, b in zip(batched[precision], single))
        print(f"generation {precision}: batched = one at a time for {same} of {len(few)}", flush=True)
        out.append(row("batched answers = one at a time", f"{label}, {precision}, {len(few)} questions",
                       same / len(few), "fraction identical", "1.0", same == len(few)))
    if ref is not None:
        eos = tok.eos_token_id
        for precision, gen in ref["generation"].items():
            ref_texts = [tok.decode([t for t in tokens if t != eos], skip_special_tokens=False) for tokens in gen["tokens"]]
            strict_fp32(precision == "fp32")
            ours, _ = generate_texts(method, model, examples[: len(ref_texts)], len(ref_texts), device, precision)
            same = sum(a == b for a, b in zip(ours, ref_texts))
            out.append(row("answers = reference's", f"{precision}, {len(ref_texts)} questions, same weights",
                           same / len(ref_texts), "fraction identical", "1.0" if precision == "fp32" else None,
                           same == len(ref_texts) if precision == "fp32" else None))
            ref_rate = 1 / median(gen["seconds"])
            out.append(row("generation throughput", f"reference, {precision}, batch 1, {args.max_new_tokens} new tokens",
                           ref_rate, "examples/s"))
        ref_best = max(1 / median(g["seconds"]) for g in ref["generation"].values())
        ours_best = max(rates.values())
        out.append(row("generation speed-up", "ours (best batch, bf16) / reference (best of fp32, bf16; batch 1)",
                       ours_best / ref_best, "x", ">= 100", ours_best / ref_best >= 100))
        if "fp32" in ref["generation"]:
            fp32_rate = rates[("fp32", args.gen_batch_sizes[0])]
            out.append(row("generation speed-up", f"fp32 both: ours batch {args.gen_batch_sizes[0]} / reference batch 1",
                           fp32_rate / (1 / median(ref["generation"]["fp32"]["seconds"])), "x"))
    strict_fp32(False)
    return out


# -- 4. training steps ------------------------------------------------------------------------------

def dense_pass(model, batch: dict):
    """One ordinary forward+backward over the same aligned columns (no fed-back thoughts)."""
    ids, labels, mask, _, _, _ = model.prepare(batch["input_ids"], batch["labels"], batch["attention_mask"])
    backbone = model.backbone
    positions = positions_from_mask(mask)
    keep = labels[:, 1:] != -100

    def run():
        if hasattr(backbone, "extend"):  # our GPT
            hidden = backbone.extend(backbone.wte(ids), positions, mask.bool()).hidden
            return F.cross_entropy(backbone.head(hidden[:, :-1][keep]).float(), labels[:, 1:][keep])
        embeds = backbone.get_input_embeddings()(ids)  # older checkouts: a transformers backbone
        if hasattr(model, "lean"):
            hidden = model.lean.forward(embeds, positions, mask.bool()).hidden
        else:
            hidden = backbone.transformer(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).last_hidden_state
        return F.cross_entropy(backbone.lm_head(hidden[:, :-1][keep]).float(), labels[:, 1:][keep])
    return run, int(mask.shape[1])


def step_section(args, method, backbone, rows, device, can_compile: bool, label: str, out: list[dict],
                 save) -> dict:
    """Appends its rows to `out` and calls save() after each setting; returns the step times."""
    times = {}
    plan = []
    for variant in args.variants:
        if variant == "compiled" and (not can_compile or device.type != "cuda"):
            print(f"skipping {variant}: {'CPU' if device.type != 'cuda' else 'no compile option in this version'}")
            continue
        for size in args.batch_sizes:
            plan.append((variant, size, "bf16"))
        if variant == "eager":
            plan.insert(0, (variant, min(args.batch_sizes), "fp32"))
    built = {}
    for variant, size, precision in plan:
        if variant not in built:
            built[variant] = build(method, backbone, variant == "compiled")[1]
        model = built[variant].train()
        strict_fp32(precision == "fp32")
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01, fused=device.type == "cuda")
        batch = collate(rows[size], method.tokenizer.pad_token_id, device=device)

        def step():
            with autocast(device, precision):
                loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        def forward_backward(fn):
            def run():
                with autocast(device, precision):
                    loss = fn()
                loss.backward()
                optimizer.zero_grad(set_to_none=True)
            return run

        dense, width = dense_pass(model, batch)
        setting = f"{label}, {variant}, {precision}, batch {size}"
        try:
            reset_peak(device)
            first = time_ms(step, device, repeat=1, warmup=0)[0]
            step_ms = median(time_ms(step, device, repeat=args.steps, warmup=2))
            memory = peak_gib(device)
            coconut_fb = median(time_ms(forward_backward(lambda: model(**batch).loss), device, args.steps, warmup=1))
            dense_fb = median(time_ms(forward_backward(dense), device, args.steps, warmup=2))
        except torch.cuda.OutOfMemoryError:
            optimizer.zero_grad(set_to_none=True)
            out.append(row("training step", setting, None, "ms", None, False) | {"note": "out of memory"})
            continue
        times[(variant, size, precision)] = step_ms
        out.append(row("training step (fwd+bwd+clip+AdamW)", setting + f", width {width}", step_ms, "ms"))
        out.append(row("first step (compiles when compiled)", setting, first / 1000, "s"))
        out.append(row("peak memory", setting, memory, "GiB", "fits 80 GB" if size >= 128 else None,
                       (memory < 80 * 1e9 / 2**30) if memory is not None and size >= 128 else None))
        ratio = coconut_fb / dense_fb
        out.append(row("multi-pass overhead (Coconut fwd+bwd / dense fwd+bwd)", setting + f" ({coconut_fb:.1f} / {dense_fb:.1f} ms)",
                       ratio, "x", "<= 1.5" if size == min(args.batch_sizes) else None,
                       ratio <= 1.5 if size == min(args.batch_sizes) else None))
        print_table(out[-4:], ["figure", "setting", "value", "unit"])
        save()
        del optimizer
    strict_fp32(False)
    return times


def speedups(ref: dict, times: dict, batch_sizes: list[int]) -> list[dict]:
    out = []
    for record in ref["steps"]:
        out.append(row("reference training step (fwd+bwd+AdamW)", f"reference, {record['precision']}, batch "
                       f"{record['batch']}, width {record['width']}", record.get("step_ms"), "ms")
                   | ({"note": record["error"]} if "error" in record else {}))
        out.append(row("peak memory", f"reference, {record['precision']}, batch {record['batch']}",
                       record.get("peak_gib"), "GiB"))
    ours_bf16 = {size: min(t for (v, s, p), t in times.items() if s == size and p == "bf16")
                 for size in batch_sizes if any(s == size and p == "bf16" for (_, s, p) in times)}
    for record in ref["steps"]:
        size, precision = record["batch"], record["precision"]
        if record.get("step_ms") is None or size not in ours_bf16:
            continue
        small = size == min(batch_sizes)
        out.append(row("training step speed-up", f"reference {precision} / ours best bf16, batch {size}",
                       record["step_ms"] / ours_bf16[size], "x", ">= 20" if small else None,
                       record["step_ms"] / ours_bf16[size] >= 20 if small else None))
        same = times.get(("eager", size, precision))
        if precision == "fp32" and same:
            out.append(row("training step speed-up", f"fp32 both (ours eager), batch {size}", record["step_ms"] / same, "x"))
    return out


# -- 5. attention kernels ----------------------------------------------------------------------

def library_choice(device: torch.device, batch: int, keys: int) -> str:
    """The kernel SDPA picks on its own for one decoding step (bf16, 1 query, a boolean mask)."""
    q = torch.randn(batch, 12, 1, 64, device=device, dtype=torch.bfloat16)
    k = torch.randn(batch, 12, keys, 64, device=device, dtype=torch.bfloat16)
    mask = torch.ones(batch, 1, 1, keys, device=device, dtype=torch.bool)
    try:
        from torch.nn.attention import SDPBackend
        return SDPBackend(torch._fused_sdp_choice(q, k, k, mask, 0.0, False)).name.lower()
    except Exception as exc:  # a private function: report rather than fail
        return f"unknown ({type(exc).__name__})"


def kernel_section(args, method, model, examples, device) -> list[dict]:
    """Generation with the library's own kernel choice (cuDNN allowed) against the baselines'
    (flash / memory-efficient / math; baselines/attention.py): first call and a repeat."""
    from baselines import attention

    out = []
    questions = examples[: args.kernel_n]
    choice = library_choice(device, len(questions), 600)
    out.append(row("SDPA kernel the library picks", f"decoding step, bf16, batch {len(questions)}, 600 keys, mask",
                   choice, "kernel"))
    for allow in (False, True):
        attention.allow_cudnn = allow
        name = "library's choice (cuDNN allowed)" if allow else "baselines (no cuDNN)"
        try:
            for attempt in ("first call", "repeat"):
                _, seconds = generate_texts(method, model, questions, len(questions), device, "bf16")
                print(f"generation, {name}, {attempt}: {seconds:.2f} s", flush=True)
                out.append(row("generation time", f"{name}, {attempt}, bf16, batch {len(questions)}, "
                               f"{args.max_new_tokens} new tokens", seconds, "s"))
        finally:
            attention.allow_cudnn = False
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-sizes", default="32,128", help="training batch sizes (default 32,128)")
    p.add_argument("--variants", default="eager,compiled", help="eager and/or compiled (compiled: CUDA only)")
    p.add_argument("--steps", type=int, default=10, help="timed training steps per setting (default 10)")
    p.add_argument("--ref-steps", type=int, default=2, help="timed reference steps per setting (default 2)")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--gen-n", type=int, default=500, help="questions for the generation throughput (default 500)")
    p.add_argument("--gen-batch-sizes", default="128,500", help="generation batch sizes (default 128,500)")
    p.add_argument("--single-n", type=int, default=16, help="questions answered one at a time for the identity check")
    p.add_argument("--ref-gen-n", type=int, default=8, help="questions the reference answers (batch size 1, fp32)")
    p.add_argument("--model-size", default="gpt2", help="backbone preset (default gpt2 = 124M; tiny for a CPU check)")
    p.add_argument("--data-dir", help="folder with coconut/prosqa_test.json and gpt2-tokenizer/ (else LATENT_DATA_DIR)")
    p.add_argument("--no-reference", action="store_true", help="measure ours only")
    p.add_argument("--reference-site", default=os.environ.get("LATENT_REFERENCE_SITE", "/tmp/ref"),
                   help="folder holding transformers 4.46 for the reference process (default /tmp/ref)")
    p.add_argument("--reference-code", type=Path, default=ROOT / "third_party" / "coconut",
                   help="the reference checkout (default third_party/coconut)")
    p.add_argument("--reference-timeout", type=int, default=420)
    p.add_argument("--kernel-n", type=int, default=64, help="questions for the attention-kernel comparison")
    p.add_argument("--sections", default="logits,generation,steps,kernels",
                   help="which of logits,generation,steps,kernels to run (default all)")
    p.add_argument("--label", default="ours", help="how rows name this code version (default ours)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--name", default="coconut_step")
    args = p.parse_args(argv)
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    args.gen_batch_sizes = [int(b) for b in args.gen_batch_sizes.split(",")]
    args.variants = args.variants.split(",")
    sections = set(args.sections.split(","))
    device = torch.device(args.device)
    tok, examples, method, rows, backbone, can_compile = setup(args, device)
    results, errors, ref = [], [], None

    def save() -> Path:
        """Write what is measured so far (after each section: a run cut short keeps its figures)."""
        payload = {
            "name": args.name,
            "title": "Coconut training step, multi-pass overhead and generation, beside the reference"
                     if ref is not None else f"Coconut training step and generation ({args.label})",
            "description": "GPT-2 124M from scratch (dropout 0), GPT-2 tokenizer + special tokens, ProsQA test "
                           "questions at Coconut's last stage (6 continuous thoughts, c = 1). Reference: "
                           "facebookresearch/coconut (27273cb) under transformers 4.46, in its own process, same "
                           "weights and data.",
            "device": device_name(device),
            "command": command_line(),
            **versions(),
            "reference_transformers": ref.get("transformers") if ref else None,
            "rows": results,
            "notes": ("; ".join(errors) + "; " if errors else "") + "See benchmarks/README.md for what bounds each figure.",
        }
        return write_result(args.name, payload, args.results_dir)

    with tempfile.TemporaryDirectory() as folder:
        if not args.no_reference:
            try:
                ref = run_reference(args, tok, examples, rows, backbone, device, Path(folder))
            except Exception as exc:  # recorded, the rest still runs
                errors.append(f"reference: {exc}")
                traceback.print_exc()
    backbone.to(device)
    _, model = build(method, backbone, compiled=False)
    if "logits" in sections and ref is not None:
        batch = collate(rows[min(args.batch_sizes)], tok.pad_token_id, device=device)
        for precision in ("fp32", "bf16"):
            strict_fp32(precision == "fp32")
            logits, loss = our_logits(model, batch, device, precision)
            theirs = ref["logits"][precision]
            worst, rel = compare_logits(logits, theirs["logits"])
            setting = f"{precision}, batch {min(args.batch_sizes)}, {logits.shape[0]} labelled positions"
            tolerance = 1e-4 if precision == "fp32" else 3e-2
            results.append(row("logits vs reference: max |diff|", setting, worst, "logit"))
            results.append(row("logits vs reference: relative error", setting, rel, "||a-b||/||b||",
                               f"<= {tolerance:g}", rel <= tolerance))
            results.append(row("loss vs reference: |diff|", setting, abs(loss - theirs["loss"]), "nats"))
        strict_fp32(False)
        save()
    if "generation" in sections:
        try:
            results += generation_section(args, tok, method, model, examples, device, ref, args.label)
        except Exception as exc:
            errors.append(f"generation: {exc}")
            traceback.print_exc()
        save()
    times = {}
    if "steps" in sections:
        try:
            times = step_section(args, method, backbone, rows, device, can_compile, args.label, results, save)
        except Exception as exc:
            errors.append(f"steps: {exc}")
            traceback.print_exc()
    if ref is not None and times:
        results += speedups(ref, times, args.batch_sizes)
    if "kernels" in sections and device.type == "cuda":
        try:
            results += kernel_section(args, method, model, examples, device)
        except Exception as exc:
            errors.append(f"kernels: {exc}")
            traceback.print_exc()

    print()
    print_table(results, ["figure", "setting", "value", "unit", "target", "met"])
    print(f"wrote {save()}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
