"""What PyTorch's SDPA kernels on this device do with a query row that sees no key at all.

Such rows arise whenever a batch is padded on the left (Coconut's shifted training rows,
generation prompts): the padding columns, as queries, have no valid key. For each SDPA backend
and dtype, with the first `empty` query rows of a 256- or 301-column sequence fully masked, the script reports NaN in the
output (padding rows, real rows) and in the gradients of q, k, v after a loss on the real rows
only. Then the whole mechanism on a GPT-2 block stack (our GPT, baselines/models/gpt.py) on a
left-padded batch (bf16 autocast, loss on real tokens): once under a plain padding mask (causal,
real keys only: a padding query sees nothing, as in transformers' forward), once through
`GPT.extend`, whose padding queries see themselves.

    python benchmarks/sdpa_empty_rows.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gpu import RESULTS_DIR, command_line, device_name, print_table, versions, write_result  # noqa: E402

from baselines.backbone import BackboneConfig, build_backbone  # noqa: E402
from baselines.generation import positions_from_mask  # noqa: E402

BACKENDS = {"math": SDPBackend.MATH, "efficient": SDPBackend.EFFICIENT_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
            "default": None}


def nan(t: torch.Tensor | None) -> bool:
    return t is not None and not bool(torch.isfinite(t).all())


def kernel_case(backend: str, dtype: torch.dtype, empty: int, width: int, device: torch.device) -> dict:
    torch.manual_seed(0)
    batch, heads, dim = 2, 12, 64
    q, k, v = (torch.randn(batch, heads, width, dim, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
    valid = torch.ones(batch, width, dtype=torch.bool, device=device)
    valid[0, :empty] = False  # row 0 starts with `empty` padding columns
    causal = torch.ones(width, width, dtype=torch.bool, device=device).tril()
    mask = (causal[None] & valid[:, None, :])[:, None]  # [B, 1, T, T], rows 0..empty-1 of batch 0 empty
    out = {"case": f"sdpa kernel, {width} columns", "backend": backend, "dtype": str(dtype).replace("torch.", ""),
           "empty_rows": empty}
    try:
        context = sdpa_kernel(BACKENDS[backend]) if BACKENDS[backend] is not None else torch.enable_grad()
        with context:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            real = valid[:, None, :, None].expand_as(y)
            loss = y.float()[real].square().mean()
            loss.backward()
    except RuntimeError as exc:
        return out | {"error": str(exc).splitlines()[0][:80]}
    return out | {"out_nan_padding_rows": nan(y[~real]), "out_nan_real_rows": nan(y[real]),
                  "loss_nan": nan(loss), "grad_nan": nan(q.grad) or nan(k.grad) or nan(v.grad)}


def model_case(path: str, device: torch.device, shift: int) -> dict:
    torch.manual_seed(0)
    model = build_backbone(BackboneConfig("small", n_positions=512), 1000).to(device)
    ids = torch.randint(0, 1000, (4, 300), device=device)
    mask = torch.ones_like(ids)
    mask[1, :shift] = 0
    mask[2, : shift // 2] = 0
    positions = positions_from_mask(mask)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        real = mask.bool()
        if path == "plain-mask":
            cols = torch.arange(ids.shape[1], device=device)
            plain = (cols[None, :] <= cols[:, None])[None] & real[:, None, :]  # [B, T, T], padding rows empty
            bias = torch.zeros(plain.shape, device=device).masked_fill(~plain, float("-inf"))[:, None]
            hidden = model.ln_f(model.run_blocks(model.embed(ids, positions), bias=bias.to(torch.bfloat16)
                                                 if device.type == "cuda" else bias))
        else:
            hidden = model.extend(model.wte(ids), positions, real).hidden
        logits = model.head(hidden[:, :-1][real[:, 1:]]).float()
        loss = F.cross_entropy(logits, ids[:, 1:][real[:, 1:]])
    loss.backward()
    bad = [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    return {"case": f"GPT-2 small, {path} forward", "backend": "default", "dtype": "bf16 autocast",
            "empty_rows": shift, "out_nan_padding_rows": nan(hidden[~real]), "out_nan_real_rows": nan(hidden[real]),
            "loss_nan": nan(loss), "grad_nan": bool(bad), "params_with_nan_grad": len(bad)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--name", default="sdpa_empty_rows")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    rows = []
    for backend in BACKENDS:
        for dtype in (torch.bfloat16, torch.float32):
            for width in (256, 301):  # a multiple of 16 and not
                for empty in (1, 17, 65, 200):
                    rows.append(kernel_case(backend, dtype, empty, width, device))
    for path in ("plain-mask", "extend"):
        for shift in (20, 130):
            rows.append(model_case(path, device, shift))
    print_table(rows)
    payload = {"name": args.name, "title": "SDPA with fully masked query rows (left padding)",
               "description": "NaN in outputs and gradients when the first `empty_rows` queries of a row see no key "
                              "(loss on real rows only); then a GPT-2 small stack on a left-padded batch under a "
                              "plain padding mask and through GPT.extend.",
               "device": device_name(device), "command": command_line(), **versions(), "rows": rows,
               "notes": "The cause of the non-finite Coconut training loss on CUDA; see benchmarks/README.md."}
    print(f"wrote {write_result(args.name, payload, args.results_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
