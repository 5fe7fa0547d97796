"""Multi-process data parallelism (torchrun) with a single-process fallback.

`latent bench run` works unchanged under `torchrun --nproc-per-node N`: torchrun sets RANK,
WORLD_SIZE and LOCAL_RANK, `setup` joins the process group (NCCL on GPUs, gloo on the CPU),
each rank trains on its shard of every global batch (baselines.batching.batch_indices) with the
method's model wrapped in DistributedDataParallel, and only rank 0 prints, checkpoints and
writes results; evaluation counts are summed over ranks. Without those variables everything
runs in one process and these helpers do nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N'; a clear error when CUDA is absent."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
        return torch.device(name if ":" in name else f"cuda:{local_rank}")
    if name != "cpu":
        raise ValueError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N")
    return torch.device("cpu")


def setup(device: str = "auto") -> Context:
    """Join the process group when launched by torchrun; else a one-process context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    target = resolve_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if target.type == "cuda":
            torch.cuda.set_device(target)
        dist.init_process_group(backend="nccl" if target.type == "cuda" else "gloo")
    return Context(rank=rank, world_size=world_size, local_rank=local_rank, device=target)


def teardown(wait: bool = True) -> None:
    """Leave the process group. wait=True (the run ended normally): every rank first waits for the
    others, so that no rank destroys the group while another still works (rank 0 writes the result
    and times batch-1 latency alone). wait=False after an error: leave at once."""
    if dist.is_initialized():
        try:
            if wait:
                dist.barrier()
        finally:
            dist.destroy_process_group()


def all_reduce_sum(values: list[float], ctx: Context) -> list[float]:
    """Element-wise sum of `values` over all ranks (float64)."""
    if not ctx.distributed:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def broadcast(obj, ctx: Context):
    """Rank 0's `obj` on every rank (any picklable object)."""
    if not ctx.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        if ctx.device.type == "cuda":
            dist.barrier(device_ids=[ctx.device.index])
        else:
            dist.barrier()


def wrap(model: torch.nn.Module, ctx: Context) -> torch.nn.Module:
    """The model under DistributedDataParallel when distributed, else itself."""
    if not ctx.distributed:
        return model
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    # gradients live in the communication buckets (no copy into them, no second copy in memory)
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, gradient_as_bucket_view=True)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def agree(value: float, ctx: Context) -> bool:
    """True when every rank holds the same `value` (e.g. a parameter checksum)."""
    if not ctx.distributed:
        return True
    high = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    low = high.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    return bool(high.item() == low.item())
