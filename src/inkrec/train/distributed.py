"""Data-parallel training across processes and machines, started by `torchrun`.

The same `inkrec train` command runs unchanged under `torchrun --nproc_per_node N` (and multi-node
`--nnodes/--rdzv-endpoint`): torchrun sets RANK / WORLD_SIZE / LOCAL_RANK, we join the process group
(NCCL on GPUs, gloo on CPUs), each process trains on its shard of every epoch, DistributedDataParallel
averages the gradients, and only rank 0 writes files and talks to MLflow.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from inkrec.errors import ConfigError


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(requested: str, local_rank: int = 0) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but no CUDA device is available to torch")
    if requested in ("cuda", "auto") and torch.cuda.is_available():
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def setup(requested_device: str) -> DistInfo:
    """Join the process group if torchrun started us; otherwise a single-process DistInfo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(device=pick_device(requested_device))
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    device = pick_device(requested_device, local_rank)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local_rank, local_world, device)


def barrier(info: DistInfo) -> None:
    """Wait for every process. Before `teardown`: a process that destroys the group while another (rank 0
    writing the run's files) still uses it can abort in the collective library's threads."""
    if info.enabled and dist.is_initialized():
        dist.barrier()


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: list[float], info: DistInfo) -> list[float]:
    """Sum a few numbers over all processes (float64, so counts stay exact)."""
    if not info.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu().tolist()


def average_buffers(model: torch.nn.Module, info: DistInfo) -> None:
    """Average floating-point buffers (batch-norm running statistics) over all processes.

    DDP keeps parameters in sync but each process updates its batch-norm statistics on its own shard;
    averaging them once per epoch gives every process the same model (and a better estimate)."""
    if not info.enabled:
        return
    for buf in model.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf, op=dist.ReduceOp.SUM)
            buf.div_(info.world)
        else:
            dist.broadcast(buf, src=0)


def broadcast_object(obj, info: DistInfo):
    """Rank 0's `obj` on every process (used for the resume checkpoint, read by rank 0 only)."""
    if not info.enabled:
        return obj
    box = [obj if info.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def state_digest(state_dict: dict) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes: equal digests = identical weights."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def gather_strings(text: str, info: DistInfo) -> list[str]:
    if not info.enabled:
        return [text]
    out: list = [None] * info.world
    dist.all_gather_object(out, text)
    return [str(s) for s in out]
