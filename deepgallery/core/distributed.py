"""Training on several processes with PyTorch's own engine: `torchrun` + DistributedDataParallel.

The same training command runs alone or under ``torchrun --nproc_per_node N deepgallery-train ID ...``.
`start(device_flag)` reads torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK); without it the run is a
single process and nothing here changes what a loop computes. Under torchrun each process takes GPU
LOCAL_RANK (NCCL) or the CPU (gloo), wraps its model in DDP (`wrap`), sees its own share of each batch
(`DistributedSampler` through `sampler`/`loader`, or `shard` for batches a loop generates itself), and only
rank 0 writes checkpoints and prints (`is_main`). DDP averages gradients across processes, so N processes
with batch B/N each take the same step as one process with batch B.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .errors import UserError


@dataclass(frozen=True)
class Dist:
    """Where this process stands: its rank among `world` processes and the device it computes on."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: Any = "cpu"  # torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, plots and logs."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def launched() -> bool:
    """True inside a process started by torchrun (or any launcher that sets WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device_flag: str = "auto") -> Dist:
    """Join the process group when launched by torchrun; otherwise a single-process `Dist` on `device_flag`."""
    import torch
    import torch.distributed as dist

    from .runtime import choose_device

    if not launched():
        return Dist(device=choose_device(device_flag))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = choose_device(device_flag)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise UserError(f"process {local_rank} has no GPU of its own ({torch.cuda.device_count()} visible); "
                            "use --nproc_per_node <= the number of GPUs")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    elif device.type == "mps":
        raise UserError("several processes on Apple MPS are not supported by PyTorch; use --device cpu or one process")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank=rank, world=world, local_rank=local_rank, device=device)


def wrap(model, ctx: Dist):
    """`model` on its device, inside DistributedDataParallel when there are several processes."""
    model = model.to(ctx.device)
    if not ctx.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model):
    """The module inside a DistributedDataParallel (or DataParallel) wrapper; the module itself otherwise."""
    return getattr(model, "module", model)


def sampler(dataset, ctx: Dist, shuffle: bool = True, seed: int = 0, drop_last: bool = False):
    """A DistributedSampler giving this process its share of `dataset`. It is used alone too (one replica), so
    one process sees the same global batches, in the same order, as N processes see together. `drop_last` drops
    the tail that does not split evenly over the processes (else the sampler pads it with repeated items)."""
    from torch.utils.data.distributed import DistributedSampler

    return DistributedSampler(dataset, num_replicas=ctx.world, rank=ctx.rank, shuffle=shuffle, seed=seed,
                              drop_last=drop_last)


def loader(dataset, ctx: Dist, batch_size: int, shuffle: bool = True, seed: int = 0, **kw):
    """A DataLoader of per-process batches of `batch_size // world` (the global batch stays `batch_size`).
    Call ``set_epoch(loader, epoch)`` at each epoch so the shards reshuffle."""
    import torch

    per_process = split_batch(batch_size, ctx)
    smp = sampler(dataset, ctx, shuffle=shuffle, seed=seed, drop_last=kw.get("drop_last", False))
    return torch.utils.data.DataLoader(dataset, batch_size=per_process, sampler=smp, **kw)


def split_batch(batch: int, ctx: Dist, flag: str = "") -> int:
    """Each process's share of a global batch of `batch`; a batch that does not split evenly over the processes
    is a UserError naming the `flag` that set it (e.g. "--batch")."""
    if batch % ctx.world:
        what = f"{flag} {batch}" if flag else f"a batch of {batch}"
        raise UserError(f"{what} cannot be split evenly over {ctx.world} processes; use a multiple of {ctx.world}")
    return batch // ctx.world


def set_epoch(data_loader, epoch: int) -> None:
    """Reshuffle a DistributedSampler's shards for a new epoch (no-op for a single process)."""
    smp = getattr(data_loader, "sampler", None)
    if hasattr(smp, "set_epoch"):
        smp.set_epoch(epoch)


def shard(batch, ctx: Dist):
    """This process's contiguous slice of a batch that every process generated alike (tensor or tuple of them).
    Seed the generator the same on every rank; each then trains on a different part of the same global batch."""
    if not ctx.active:
        return batch
    if isinstance(batch, (tuple, list)):
        return type(batch)(shard(b, ctx) for b in batch)
    per = split_batch(batch.shape[0], ctx)
    return batch[ctx.rank * per:(ctx.rank + 1) * per]


def mean(value: float, ctx: Dist) -> float:
    """The average of a number (e.g. this process's loss) over all processes."""
    if not ctx.active:
        return float(value)
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(value)], device=ctx.device)
    dist.all_reduce(t)
    return float(t.item()) / ctx.world


def barrier(ctx: Dist) -> None:
    """Wait for every process (e.g. until rank 0 has written a checkpoint the others will read)."""
    if ctx.active:
        import torch.distributed as dist

        dist.barrier()


def finish(ctx: Dist) -> None:
    """Leave the process group at the end of training."""
    if ctx.active:
        import torch.distributed as dist

        if dist.is_initialized():
            # both ranks arrive before gloo is torn down: a rank that leaves while its peer is still busy (rank 0
            # writing its checkpoint) could abort with "terminate called without an active exception"
            dist.barrier()
            dist.destroy_process_group()


def command_line(app: str) -> str:
    """The `deepgallery train APP ...` command this process runs, for a checkpoint's record of how it was made."""
    import sys

    argv = sys.argv[3:] if sys.argv[1:3] == ["train", app] else []
    return " ".join([f"deepgallery train {app}", *argv])


EXPORT_HELP = "also write the fp16 checkpoint `run --checkpoint` loads (NAME -> NAME.safetensors + NAME.json)"


def add_training_args(parser, config_cls, *, out: str, data: str | dict | None = None, export: str | None = EXPORT_HELP,
                      out_help: str = "run folder: resumable state goes to OUT/state") -> None:
    """The flags of a `train` hook that `run_training` serves: ``--data`` (its help, or a dict of add_argument's
    keywords; None: no such flag), ``--out`` (default `out`), one flag per option field of `config_cls`,
    ``--export NAME`` (None: no such flag) and ``--device``."""
    from .config import add_config_args
    from .runtime import add_device_arg

    if data is not None:
        parser.add_argument("--data", **({"help": data} if isinstance(data, str) else data))
    parser.add_argument("--out", default=out, help=f"{out_help} (default: {out})")
    add_config_args(parser, config_cls)
    if export:
        parser.add_argument("--export", help=export)
    add_device_arg(parser)


def run_training(args, config_cls, train_fn, export_fn=None, *, app: str, report=None, written: str = "model") -> int:
    """The body of an app's `train` hook: the typed config from the flags (`core.config`), this process's place
    (`start(args.device)`), ``result = train_fn(cfg, ctx)``, then on rank 0 ``report(result)`` (a summary line)
    and, with ``--export NAME``, ``export_fn(result, NAME, cfg, command)`` (the path written); the process group
    is left whatever happens. Returns the exit status 0."""
    from .config import config_from_args

    cfg = config_from_args(config_cls, args)
    ctx = start(args.device)
    try:
        result = train_fn(cfg, ctx)
        if ctx.is_main and report is not None:
            report(result)
        if export_fn is not None and getattr(args, "export", None) and ctx.is_main:
            print(f"{written} written to {export_fn(result, args.export, cfg, command_line(app))}")
    finally:
        finish(ctx)
    return 0
