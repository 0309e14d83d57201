"""Training the click model with random + iterative click simulation (RITM Sec. 3.2-3.4, 5).

One step:

1. a batch of augmented targets with random first clicks (data-loading workers);
2. ``n ~ U{0..max_iters}`` rounds of iterative sampling with the model in eval mode and no
   gradients, each prediction fed back as the previous mask (:func:`iterative_rollout`);
3. a forward/backward pass with the final clicks and previous mask; normalized focal loss on the
   main logits plus ``aux_weight`` × the same loss on the OCR auxiliary logits, plus, when
   ``smoothness_weight`` (λ) is set, λ × MIS's smoothness loss of the main logits (paper ``004``,
   Eq. 7-8);
4. Adam, the backbone at ``backbone_lr_mult`` × the rate, step decay at ``lr_milestones``.

Every random choice derives from ``(seed, sample or step number, rank)``, so a run is
reproducible and a resumed run continues exactly as if it had not stopped.

Multi-process (data-parallel) training uses ``torch.distributed`` with the gloo backend; start
one process per core with torchrun, e.g.::

    torchrun --standalone --nproc_per_node 2 -m occseg train clicks --config CONFIG

Each process draws its own ``batch_size`` samples per step (so the effective batch is
``nproc × batch_size``); gradients are averaged by ``DistributedDataParallel``; rank 0 writes
the checkpoints, the metrics log and the progress bar.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from occseg.checkpoint import FORMAT, load_clicknet
from occseg.encode import InteractionEncoder
from occseg.errors import ConfigError
from occseg.nn.clicknet import ClickNet
from occseg.nn.losses import get_loss, smoothness_loss
from occseg.simulate.clicks import InteractionSimulator, make_simulator
from occseg.train.augment import augment
from occseg.train.config import TrainConfig
from occseg.train.iterative import Forward, encode_batch, iterative_rollout, sample_n_iters
from occseg.train.loop import autocast, run_training, training_device
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
        rng = np.random.default_rng([cfg.loop.seed, 1, int(k)])
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


def _batch_iou(logits: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor) -> float:
    pred = (logits.detach() > 0).float() * weight  # sigmoid > 0.5 ⇔ logit > 0
    g = gt * weight
    inter = (pred * g).flatten(1).sum(1)
    union = ((pred + g) > 0).float().flatten(1).sum(1)
    return float((inter / union.clamp(min=1)).mean())


def rollout_forward(net: ClickNet, image: torch.Tensor) -> Forward:
    """The no-gradient model of the rollout on ``image``'s device (maps and previous masks are
    moved there); an encode-once model encodes the batch only once."""
    device = image.device
    with torch.no_grad(), autocast(device):
        features = net.encode(image) if net.encodes_once else None

    def forward(maps: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        maps, prev = maps.to(device), prev.to(device)
        with autocast(device):
            if features is None:
                return torch.sigmoid(net(image, maps, prev).float())
            return torch.sigmoid(net.decode(features, image, maps, prev).float())

    return forward


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
    device = next(net.parameters()).device
    image = batch["image"].to(device)
    gts, ignores = batch["mask"], batch["ignore"]
    n_iters = sample_n_iters(rng, config.max_iters)
    if n_iters:
        net.eval()
        interactions, prev = iterative_rollout(
            rollout_forward(net, image),
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
    maps = encode_batch(encoder, interactions, gts.shape[1:]).to(device)
    prev = prev.to(device)
    gt = torch.from_numpy(gts).float()[:, None].to(device)
    weight = torch.from_numpy(~ignores).float()[:, None].to(device)
    loss_fn = get_loss(config.loss)
    with autocast(device):
        logits, aux = model(image, maps, prev, with_aux=True)
    logits = logits.float()
    aux = aux.float() if aux is not None else None
    loss = loss_fn(logits, gt, weight)
    if aux is not None and config.aux_weight > 0:
        loss = loss + config.aux_weight * loss_fn(aux, gt, weight)
    if config.smoothness_weight > 0:  # Eq. 8: L = L_pseudo + λ L_smooth
        loss = loss + config.smoothness_weight * smoothness_loss(logits, image)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {"loss": float(loss.detach()), "iou": _batch_iou(logits, gt, weight), "n_iters": n_iters}


def initial_model(config: TrainConfig) -> ClickNet:
    """The model a run starts from: the weights of ``init`` (fine-tuning), else a new model,
    with its packaged ImageNet weights when ``pretrained``. A resumed run then loads its own
    ``last.pt`` over it.

    Raises
    ------
    ConfigError
        If ``model:`` options differ from those of the ``init`` checkpoint in more than
        ``input_dither`` (the predictor's preprocessing, which a fine-tuning may add).
    """
    if config.init is None:
        net = ClickNet(config.model_config())
        if net.config.pretrained:
            net.load_pretrained()
        return net
    net = load_clicknet(config.init)
    if not config.model:
        return net
    wanted = config.model_config()
    if replace(wanted, input_dither=net.config.input_dither) != net.config:
        raise ConfigError(
            f"model options differ from those of the init checkpoint {config.init}; "
            "drop 'model:' from the config (the checkpoint's are used)"
        )
    net.config = wanted
    return net


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
    ``config.loop.out``. With ``resume`` and an existing ``last.pt``, continues from its step.
    Under torchrun (``WORLD_SIZE`` > 1) runs data-parallel over gloo (:func:`run_training`).
    """
    torch.manual_seed(config.loop.seed)
    net = initial_model(config)
    encoder = net.config.make_encoder()
    simulator = make_simulator(net.config.interaction, **config.clicks)
    source = source if source is not None else make_source(config.data)

    def step_fn(
        model: torch.nn.Module,
        batch: dict[str, Any],
        optimizer: torch.optim.Optimizer,
        step: int,
        rng: np.random.Generator,
    ) -> dict[str, float]:
        return train_step(model, net, batch, optimizer, config, encoder, simulator, rng)

    return run_training(
        config,
        net,
        ClickTrainSet(source, config, simulator),
        collate,
        step_fn,
        name="train clicks",
        model_format=FORMAT,
        info=lambda r: f"loss {r['loss']:.4f} IoU {r['iou']:.3f}",
        resume=resume,
        progress=progress,
        device=training_device(config.loop.device),
    )
