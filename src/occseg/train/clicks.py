"""Training the click model with random + iterative click simulation (RITM Sec. 3.2-3.4, 5).

One step:

1. a batch of augmented targets with random first clicks (data-loading workers);
2. ``n ~ U{0..max_iters}`` rounds of iterative sampling with the model in eval mode and no
   gradients, each prediction fed back as the previous mask (:func:`iterative_rollout`);
3. a forward/backward pass with the final clicks and previous mask; normalized focal loss on the
   main logits plus ``aux_weight`` × the same loss on the OCR auxiliary logits;
4. Adam, the backbone at ``backbone_lr_mult`` × the rate, step decay at ``lr_milestones``.

Every random choice derives from ``(seed, sample or step number, rank)``, so a run is
reproducible and a resumed run continues exactly as if it had not stopped.

Multi-process (data-parallel) training uses ``torch.distributed`` with the gloo backend; start
one process per core with torchrun, e.g.::

    torchrun --standalone --nproc_per_node 2 -m occseg.train clicks --config CONFIG

Each process draws its own ``batch_size`` samples per step (so the effective batch is
``nproc × batch_size``); gradients are averaged by ``DistributedDataParallel``; rank 0 writes
the checkpoints, the metrics log and the progress bar.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

from occseg.nn.clicknet import ClickNet
from occseg.nn.inputs import InteractionEncoder
from occseg.nn.losses import get_loss
from occseg.simulate.clicks import InteractionSimulator, make_simulator
from occseg.simulate.iterative import encode_batch, iterative_rollout, sample_n_iters
from occseg.train.augment import augment
from occseg.train.checkpoint import read_checkpoint, save_checkpoint
from occseg.train.config import TrainConfig
from occseg.train.sources import MixedSource, make_source


class ClickTrainSet(Dataset):
    """Sample ``k`` → an augmented target with its random first interactions.

    The sample number ``k`` (not an image index) seeds every random choice of the sample.
    """

    def __init__(
        self, source: MixedSource, config: TrainConfig, simulator: InteractionSimulator
    ) -> None:
        self.source = source
        self.config = config
        self.simulator = simulator

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, k: int) -> dict[str, Any]:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, 1, int(k)])
        for _ in range(8):
            t = augment(self.source.draw(rng), cfg.crop_size, rng, cfg.augment)
            ignore = np.zeros(t.mask.shape, bool) if t.ignore is None else t.ignore
            if (t.mask & ~ignore).any():
                break
        interactions = self.simulator.first(t.mask, rng, ignore=ignore, others=t.others)
        return {
            "image": np.ascontiguousarray(t.image.transpose(2, 0, 1), np.float32) / 255.0,
            "mask": t.mask,
            "ignore": ignore,
            "interactions": interactions,
        }


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack arrays; keep the interaction lists as lists."""
    return {
        "image": torch.from_numpy(np.stack([i["image"] for i in items])),
        "mask": np.stack([i["mask"] for i in items]),
        "ignore": np.stack([i["ignore"] for i in items]),
        "interactions": [i["interactions"] for i in items],
    }


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


def learning_rate_factor(step: int, config: TrainConfig) -> float:
    """Step decay: ``lr_gamma`` to the number of milestones passed (fractions of ``steps``)."""
    passed = sum(step >= m * config.steps for m in config.lr_milestones)
    return config.lr_gamma**passed


def make_optimizer(model: ClickNet, config: TrainConfig) -> torch.optim.Adam:
    """Adam (β = 0.9, 0.999) with the backbone in its own group at ``backbone_lr_mult`` × lr."""
    groups = [
        {"params": model.backbone_parameters(), "lr_mult": config.backbone_lr_mult},
        {"params": model.other_parameters(), "lr_mult": 1.0},
    ]
    for g in groups:
        g["lr"] = config.lr * g["lr_mult"]
    return torch.optim.Adam(
        groups, lr=config.lr, betas=(0.9, 0.999), weight_decay=config.weight_decay
    )


def _dist_info() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


def _batch_iou(logits: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor) -> float:
    pred = (logits.detach() > 0).float() * weight  # sigmoid > 0.5 ⇔ logit > 0
    g = gt * weight
    inter = (pred * g).flatten(1).sum(1)
    union = ((pred + g) > 0).float().flatten(1).sum(1)
    return float((inter / union.clamp(min=1)).mean())


class _MetricsLog:
    """Appends one JSON object per line (rank 0 only)."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path, self.enabled = path, enabled

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step`` (logged after the checkpoint a run resumes from)."""
        if not self.path.is_file():
            return
        lines = self.path.read_text(encoding="utf-8").splitlines()
        kept = [x for x in lines if x.strip() and json.loads(x).get("step", 0) <= step]
        self.path.write_text("".join(x + "\n" for x in kept), encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")


def train_step(
    model: torch.nn.Module,
    net: ClickNet,
    batch: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    encoder: InteractionEncoder,
    simulator: InteractionSimulator,
    rng: np.random.Generator,
) -> dict[str, float]:
    """One optimisation step (iterative rollout, then forward/backward/update).

    ``model`` is what gradients flow through (``net`` or its DDP wrapper); ``net`` is the bare
    model used for the no-gradient rollout.
    """
    image = batch["image"]
    gts, ignores = batch["mask"], batch["ignore"]
    n_iters = sample_n_iters(rng, config.max_iters)
    if n_iters:
        net.eval()
        interactions, prev = iterative_rollout(
            lambda maps, prev: torch.sigmoid(net(image, maps, prev)),
            batch["interactions"],
            gts,
            encoder,
            simulator,
            n_iters,
            rng,
            ignores=ignores,
        )
        net.train()
    else:
        interactions, prev = batch["interactions"], torch.zeros(image.shape[0], 1, *gts.shape[1:])
    maps = encode_batch(encoder, interactions, gts.shape[1:])
    gt = torch.from_numpy(gts).float()[:, None]
    weight = torch.from_numpy(~ignores).float()[:, None]
    loss_fn = get_loss(config.loss)
    logits, aux = model(image, maps, prev, with_aux=True)
    loss = loss_fn(logits, gt, weight)
    if aux is not None and config.aux_weight > 0:
        loss = loss + config.aux_weight * loss_fn(aux, gt, weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"loss": float(loss.detach()), "iou": _batch_iou(logits, gt, weight), "n_iters": n_iters}


def train_clicks(
    config: TrainConfig,
    *,
    resume: bool = True,
    progress: bool = True,
    source: MixedSource | None = None,
) -> dict[str, Any]:
    """Train (or resume training) a click model as configured; returns a summary dict.

    Writes ``last.pt`` (model + optimizer + step, every ``checkpoint_every`` steps and at the
    end), ``model.pt`` (weights and model config only, at the end), ``metrics.jsonl`` (one line
    per ``log_every`` steps: step, loss, iou, lr, n_iters, seconds) and ``config.json`` into
    ``config.out``. With ``resume`` and an existing ``last.pt``, continues from its step.
    Under torchrun (``WORLD_SIZE`` > 1) runs data-parallel over gloo.
    """
    rank, world = _dist_info()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    main = rank == 0
    if main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")

    torch.manual_seed(config.seed)
    net = ClickNet(config.model_config())
    optimizer = make_optimizer(net, config)
    start = 0
    last = out / "last.pt"
    if resume and last.is_file():
        payload = read_checkpoint(last)
        net.load_state_dict(payload["model"])
        if payload.get("optimizer"):
            optimizer.load_state_dict(payload["optimizer"])
        start = int(payload["step"])
    net.train()
    model: torch.nn.Module = net
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(net)

    encoder = config.model_config().make_encoder()
    simulator = make_simulator(config.model_config().interaction, **config.clicks)
    source = source if source is not None else make_source(config.data)
    loader = DataLoader(
        ClickTrainSet(source, config, simulator),
        batch_size=config.batch_size,
        sampler=StepSampler(start, config.steps, config.batch_size, rank, world),
        num_workers=config.workers,
        collate_fn=collate,
    )
    log = _MetricsLog(out / "metrics.jsonl", main)
    if main and start > 0:
        log.truncate_after(start)
    window: list[dict[str, float]] = []
    t0 = time.perf_counter()
    first_loss = last_loss = float("nan")

    from occseg.progress import progress_bar

    with progress_bar("{task.fields[info]}", disable=not (progress and main)) as bar:
        task = bar.add_task("train clicks", total=config.steps, completed=start, info="")
        step = start
        for step, batch in enumerate(loader, start=start):
            factor = learning_rate_factor(step, config)
            for g in optimizer.param_groups:
                g["lr"] = config.lr * g["lr_mult"] * factor
            rng = np.random.default_rng([config.seed, 2, step, rank])
            stats = train_step(model, net, batch, optimizer, config, encoder, simulator, rng)
            window.append(stats)
            done = step + 1
            if done % config.log_every == 0 or done == config.steps:
                record = _summarise(window, world)
                record.update(step=done, lr=config.lr * factor, seconds=time.perf_counter() - t0)
                log.write(record)
                if np.isnan(first_loss):
                    first_loss = record["loss"]
                last_loss = record["loss"]
                bar.update(task, info=f"loss {record['loss']:.4f} IoU {record['iou']:.3f}")
                window = []
            if main and (done % config.checkpoint_every == 0 or done == config.steps):
                save_checkpoint(
                    last, net, optimizer=optimizer, step=done, train_config=config.to_dict()
                )
            bar.update(task, completed=done)
    if main:
        save_checkpoint(out / "model.pt", net, step=config.steps, train_config=config.to_dict())
    if world > 1:
        dist.barrier()
    return {
        "out": str(out),
        "start_step": start,
        "steps": config.steps,
        "first_loss": first_loss,
        "last_loss": last_loss,
        "seconds": time.perf_counter() - t0,
        "world_size": world,
    }


def _summarise(window: list[dict[str, float]], world: int) -> dict[str, Any]:
    """Mean loss/IoU over the window (and over processes), and the mean number of rounds."""
    values = torch.tensor(
        [np.mean([w["loss"] for w in window]), np.mean([w["iou"] for w in window])],
        dtype=torch.float64,
    )
    if world > 1:
        dist.all_reduce(values)
        values /= world
    return {
        "loss": float(values[0]),
        "iou": float(values[1]),
        "n_iters": float(np.mean([w["n_iters"] for w in window])),
    }
