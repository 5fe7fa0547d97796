"""Which fused attention kernels the baselines let PyTorch's SDPA pick on a GPU.

PyTorch's `scaled_dot_product_attention` chooses among several kernels: flash, memory-efficient,
cuDNN and the plain math one. The cuDNN kernel builds an execution plan for every new
combination of shapes (a few hundred milliseconds each, cached per shape). The baselines change
shapes all the time: every decoding step attends to one more cached column, every continuous
thought of Coconut is a pass over a new key length, and every training batch has its own width.
With cuDNN allowed, a run would spend its time building plans, not attending. So the baselines
allow flash, memory-efficient and math (the CPU's choices are unchanged: cuDNN is CUDA only).

`allow_cudnn = True` restores the library's own choice (benchmarks/coconut_step.py measures both).
"""

from __future__ import annotations

import contextlib

from torch.nn.attention import SDPBackend, sdpa_kernel

allow_cudnn = False  # module-level switch for benchmarks; the baselines leave it off

WITHOUT_CUDNN = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


def attention_kernels() -> contextlib.AbstractContextManager:
    """Context in which SDPA picks among flash, memory-efficient and math (see the module doc)."""
    if allow_cudnn:
        return contextlib.nullcontext()
    return sdpa_kernel(WITHOUT_CUDNN)
