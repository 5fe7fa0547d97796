"""The cost of one denoising step of masked diffusion (baselines/methods/mdm.py), all examples of
a batch denoised together, against one autoregressive token of the same-size backbone.

For the study's sudoku shape (prompt 83 tokens, answer span 82, 6 layers x 384, bf16 autocast,
SDPA) and several batch sizes: milliseconds per denoising step (a full bidirectional pass over
prompt + span and the confidence-first update), per whole answer (82 steps), answers per second,
and the achieved TFLOP/s from the compute contract's count; and, for comparison, the greedy
KV-cached decoding of the same answer by the AR backbone (no_cot's generation).

    python benchmarks/diffusion_step.py [--batch-sizes 1,64,256,512] [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _gpu import command_line, device_name, median, print_table, time_ms, versions, write_result  # noqa: E402

from baselines.attention import attention_kernels  # noqa: E402
from baselines.backbone import SIZES, BackboneConfig, build_backbone  # noqa: E402
from baselines.compute import Work, work_flops  # noqa: E402
from baselines.generation import greedy_decode  # noqa: E402
from baselines.methods.mdm import denoise  # noqa: E402
from baselines.models.denoiser import Denoiser, DenoiserConfig  # noqa: E402

VOCAB = 28  # the word tokenizer's vocabulary on sudoku
PROMPT, SPAN = 83, 82


def autocast(device: torch.device):
    """bf16 autocast and the harness's attention kernels on CUDA, as in the harness; nothing on the CPU."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(torch.autocast("cuda", dtype=torch.bfloat16))
    stack.enter_context(attention_kernels())
    return stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-sizes", default="1,64,256,512")
    parser.add_argument("--model-size", default="small")
    parser.add_argument("--steps", type=int, default=SPAN, help="denoising steps per answer")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", help="also write the result file here (a folder)")
    parser.add_argument("--check", action="store_true", help="a check: write only to --out, not benchmarks/results")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    n_layer, n_embd, n_head = SIZES[args.model_size]
    torch.manual_seed(0)
    model = Denoiser(DenoiserConfig(vocab_size=VOCAB, n_positions=256, n_layer=n_layer, n_embd=n_embd,
                                    n_head=n_head)).to(device).eval()
    ar = build_backbone(BackboneConfig(args.model_size, 256), VOCAB).to(device).eval()  # the AR model: our GPT
    rows = []
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        prompts = [[3 + (i * 7 + j) % (VOCAB - 3) for j in range(PROMPT)] for i in range(batch)]

        def one_answer():
            with torch.no_grad(), autocast(device):
                return denoise(model, prompts, pad_id=1, span=SPAN, steps=args.steps, sampler="confidence")

        def one_pass():
            x = torch.full((batch, PROMPT + SPAN), model.mask_id, device=device)
            with torch.no_grad(), autocast(device):
                return model.logits(x, None, slice(PROMPT, None))

        answer_ms = median(time_ms(one_answer, device, args.repeat))
        pass_ms = median(time_ms(one_pass, device, args.repeat * 4))
        work = Work.zeros(batch).add_pass(n_layer * args.steps, PROMPT + SPAN, attention="bidirectional")
        work.logit_positions += args.steps * SPAN
        flops = float(work_flops(model.shape, work).sum())
        embeds_ids = torch.tensor(prompts, device=device)

        def ar_answer():
            with torch.no_grad(), autocast(device):
                embeds = ar.wte(embeds_ids)
                mask = torch.ones_like(embeds_ids)
                return greedy_decode(ar, embeds, mask, max_new_tokens=SPAN, eos_id=VOCAB + 5, pad_id=1)

        ar_ms = median(time_ms(ar_answer, device, args.repeat))
        rows.append({"batch": batch, "denoising_steps": args.steps, "ms_per_step": answer_ms / args.steps,
                     "ms_forward_pass_only": pass_ms, "ms_per_answer_batch": answer_ms,
                     "answers_per_s": 1000 * batch / answer_ms, "tflops_achieved": flops / answer_ms / 1e9,
                     "ar_ms_per_answer_batch": ar_ms, "ar_ms_per_token": ar_ms / SPAN,
                     "mdm_over_ar_time": answer_ms / ar_ms})
    print_table(rows)
    payload = {"name": "diffusion_step", "title": "Masked diffusion: cost of one denoising step",
               "description": (f"MDM denoiser {args.model_size} ({n_layer}x{n_embd}), sudoku shape (prompt {PROMPT}, "
                               f"span {SPAN}), bf16 autocast on CUDA, confidence-first sampler, every example of a "
                               f"batch denoised together; AR: greedy KV-cached decoding of {SPAN} tokens by the "
                               "same-size GPT-2 backbone. Medians of repeated timings (CUDA events)."),
               "device": device_name(device), "command": command_line(), "versions": versions(), "rows": rows,
               "notes": "timed while other jobs may share the GPU (the study script runs it first, alone among "
                        "its own processes); random weights: the cost does not depend on them"}
    paths = [] if args.check else [write_result("diffusion_step", payload)]
    if args.out:
        paths.append(write_result("diffusion_step", payload, Path(args.out)))
    print(f"wrote {', '.join(map(str, paths))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
