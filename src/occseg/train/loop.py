"""Pieces every training loop shares: step sampler, learning-rate schedule, optimizer groups,
distributed rank, metrics log and window summaries, and :func:`run_training`, the loop itself.

Every trainer (``occseg train clicks``, ``occseg train order``, ...) draws the samples of step
``s`` from ``(seed, step or sample number, rank)``, so a run is reproducible and a resumed run
continues as if it had not stopped; :class:`StepSampler` numbers the samples that way.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from occseg.errors import ConfigError
from occseg.train.config import LoopConfig

__all__ = [
    "MetricsLog",
    "StepSampler",
    "autocast",
    "dist_info",
    "learning_rate_factor",
    "make_optimizer",
    "run_training",
    "summarise",
    "training_device",
]


class TrainerConfig(Protocol):
    """What :func:`run_training` reads of a kind's config: its loop and its plain-dict form."""

    @property
    def loop(self) -> LoopConfig: ...

    def to_dict(self) -> dict[str, Any]: ...


class StepSampler(Sampler[int]):
    """Sample numbers of steps ``start..steps-1`` for one process: ``(step·world + rank)·B + b``."""

    def __init__(self, start: int, steps: int, batch: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.steps, self.batch, self.rank, self.world = start, steps, batch, rank, world

    def __iter__(self) -> Iterator[int]:
        for step in range(self.start, self.steps):
            base = (step * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)

    def __len__(self) -> int:
        return max(0, self.steps - self.start) * self.batch


def learning_rate_factor(step: int, config: LoopConfig) -> float:
    """Step decay: ``lr_gamma`` to the number of milestones passed (fractions of ``steps``)."""
    passed = sum(step >= m * config.steps for m in config.lr_milestones)
    return config.lr_gamma**passed


class TwoRateModel(Protocol):
    """A model whose backbone trains at its own rate (RITM Sec. 5: 0.1 × for the backbone)."""

    def backbone_parameters(self) -> list[nn.Parameter]: ...

    def other_parameters(self) -> list[nn.Parameter]: ...


def make_optimizer(model: TwoRateModel, config: LoopConfig) -> torch.optim.Adam:
    """Adam (β = 0.9, 0.999) with the backbone in its own group at ``backbone_lr_mult`` × lr.

    ``model`` offers ``backbone_parameters()`` and ``other_parameters()``.
    """
    groups: list[dict[str, Any]] = [
        {"params": model.backbone_parameters(), "lr_mult": config.backbone_lr_mult},
        {"params": model.other_parameters(), "lr_mult": 1.0},
    ]
    for g in groups:
        g["lr"] = config.lr * g["lr_mult"]
    return torch.optim.Adam(
        groups, lr=config.lr, betas=(0.9, 0.999), weight_decay=config.weight_decay
    )


def training_device(choice: str = "auto") -> torch.device:
    """The device of ``choice`` (``"auto"``: CUDA when available); under torchrun on CUDA, the
    process's own GPU (``LOCAL_RANK``)."""
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for but torch sees no CUDA device")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def autocast(device: torch.device) -> torch.autocast:
    """bfloat16 autocast on CUDA (mixed precision without loss scaling), a no-op on the CPU."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def dist_info() -> tuple[int, int]:
    """``(rank, world size)`` from the torchrun environment (``(0, 1)`` without it)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


class MetricsLog:
    """Appends one JSON object per line (rank 0 only)."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path, self.enabled = path, enabled

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step``: logged after the checkpoint a run resumes from, or all of
        an earlier run's when a run starts afresh (``step`` 0) in the same folder."""
        if not self.path.is_file():
            return
        lines = self.path.read_text(encoding="utf-8").splitlines()
        kept = [x for x in lines if x.strip() and json.loads(x).get("step", 0) <= step]
        self.path.write_text("".join(x + "\n" for x in kept), encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")


def summarise(window: list[dict[str, float]], world: int) -> dict[str, float]:
    """Mean of every metric over the window's steps and (under torchrun) over the processes."""
    keys = sorted(window[0])
    values = torch.tensor(
        [float(np.mean([w[k] for w in window])) for k in keys], dtype=torch.float64
    )
    if world > 1:
        dist.all_reduce(values)
        values /= world
    return {k: float(v) for k, v in zip(keys, values, strict=True)}


#: ``step_fn(model, batch, optimizer, step, rng) -> metrics`` of one optimisation step.
StepFn = Callable[
    [nn.Module, Any, torch.optim.Optimizer, int, np.random.Generator], dict[str, float]
]


#: The resumable checkpoint a run writes into its ``out`` folder.
LAST_CHECKPOINT = "last.pt"


def resume_checkpoint(loop: LoopConfig, resume: bool = True) -> Path | None:
    """The ``last.pt`` in ``loop.out`` that a run continues from, or None when it starts anew
    (``resume`` off, or no checkpoint yet)."""
    last = Path(loop.out) / LAST_CHECKPOINT
    return last if resume and last.is_file() else None


def run_training(
    config: TrainerConfig,
    net: nn.Module,
    dataset: Dataset,
    collate: Callable[[list[Any]], Any],
    step_fn: StepFn,
    *,
    name: str,
    model_format: str,
    info: Callable[[dict[str, float]], str],
    resume: bool = True,
    progress: bool = True,
    device: torch.device | None = None,
) -> dict[str, Any]:
    """Train ``net`` for ``config.loop.steps`` steps; returns a summary dict.

    Writes ``last.pt`` (model + optimizer + step, every ``checkpoint_every`` steps and at the
    end), ``model.pt`` (weights and model config only, at the end), ``metrics.jsonl`` (one line
    per ``log_every`` steps: step, the window means of ``step_fn``'s metrics, lr, seconds) and
    ``config.json`` (``config.to_dict()``) into the loop's ``out``. With ``resume`` and an
    existing ``last.pt``, continues from its step. Under torchrun (``WORLD_SIZE`` > 1) runs
    data-parallel (gloo on the CPU, NCCL on CUDA): each process draws its own ``batch_size``
    samples per step (:class:`StepSampler`), gradients are averaged by
    ``DistributedDataParallel`` and rank 0 writes the files and the progress bar.
    The dataset item ``k`` must depend on ``k`` alone; step ``s`` gets the generator
    ``default_rng([seed, 2, s, rank])``.
    """
    from occseg.checkpoint import read_checkpoint, save_checkpoint
    from occseg.progress import progress_bar

    loop = config.loop
    rank, world = dist_info()
    device = device or torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    net.to(device)
    if loop.threads:
        torch.set_num_threads(loop.threads)
    out = Path(loop.out)
    main = rank == 0
    if main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")

    optimizer = make_optimizer(cast(TwoRateModel, net), loop)  # ClickNet, OBNet, OrderNet
    start = 0
    last = out / LAST_CHECKPOINT
    resumed = resume_checkpoint(loop, resume)
    if resumed is not None:
        payload = read_checkpoint(resumed, model_format)
        net.load_state_dict(payload["model"])
        if payload.get("optimizer"):
            optimizer.load_state_dict(payload["optimizer"])
        start = int(payload["step"])
    net.train()
    model: nn.Module = net
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        model = torch.nn.parallel.DistributedDataParallel(net, device_ids=ids)

    loader = DataLoader(
        dataset,
        batch_size=loop.batch_size,
        sampler=StepSampler(start, loop.steps, loop.batch_size, rank, world),
        num_workers=loop.workers,
        collate_fn=collate,
        # never fork after torch's threads exist: workers start fresh interpreters
        multiprocessing_context="spawn" if loop.workers else None,
        persistent_workers=loop.workers > 0,
    )
    log = MetricsLog(out / "metrics.jsonl", main)
    if main:
        log.truncate_after(start)  # a fresh run (start 0) replaces an old run's log
    window: list[dict[str, float]] = []
    t0 = time.perf_counter()
    first_loss = last_loss = float("nan")
    with progress_bar("{task.fields[info]}", disable=not (progress and main)) as bar:
        task = bar.add_task(name, total=loop.steps, completed=start, info="")
        for step, batch in enumerate(loader, start=start):
            factor = learning_rate_factor(step, loop)
            for g in optimizer.param_groups:
                g["lr"] = loop.lr * g["lr_mult"] * factor
            rng = np.random.default_rng([loop.seed, 2, step, rank])
            window.append(step_fn(model, batch, optimizer, step, rng))
            done = step + 1
            if done % loop.log_every == 0 or done == loop.steps:
                record: dict[str, Any] = dict(summarise(window, world))
                record.update(step=done, lr=loop.lr * factor, seconds=time.perf_counter() - t0)
                log.write(record)
                if np.isnan(first_loss):
                    first_loss = record["loss"]
                last_loss = record["loss"]
                bar.update(task, info=info(record))
                window = []
            if main and (done % loop.checkpoint_every == 0 or done == loop.steps):
                save_checkpoint(
                    last, net, optimizer=optimizer, step=done, train_config=config.to_dict()
                )
            bar.update(task, completed=done)
    if main:
        save_checkpoint(out / "model.pt", net, step=loop.steps, train_config=config.to_dict())
    if world > 1:
        dist.barrier()
    return {
        "out": str(out),
        "start_step": start,
        "steps": loop.steps,
        "first_loss": first_loss,
        "last_loss": last_loss,
        "seconds": time.perf_counter() - t0,
        "world_size": world,
    }
