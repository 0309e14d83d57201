"""Training the joint semantic / oriented-boundary network of OOSIS on synthetic scenes.

Paper 001, Sec. 3.1: the PSPNet with heads s, b and e (:class:`occseg.nn.ordernet.OrderNet`)
trained with the loss of Eq. 4 (:func:`occseg.nn.losses.oosis_loss`, ``w = 0.9``). Training
data are folders written by ``occseg synth``; per sample:

* semantic target: each object painted with the index of its ``kind`` in the model's
  ``class_names`` (the room is the background, class 0);
* boundary and orientation targets (supplement 1.3): the scene's exact per-pixel occlusion flags
  ``ob_occludes`` between different instances, the occluder not the room
  (:func:`occseg.occlusion.targets.instance_boundaries`), which is the construction from instance
  masks and occlusion order with the pixel-exact side at contact lines;
* a random ``crop_size`` crop and a horizontal flip (which swaps the left and right bins).

Every random choice derives from ``(seed, sample number)``; the loop, checkpoints, resume and
the metrics log are :func:`occseg.train.loop.run_training`'s. Example config:
``configs/ordernet-cpu.yaml``::

    occseg synth --out data/synth-train --n 2000 --size 256 --seed 1 --jobs 2
    occseg train order --config configs/ordernet-cpu.yaml
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from occseg.checkpoint import ORDER_FORMAT
from occseg.data.synth import SynthDataset, SynthSample
from occseg.errors import ConfigError, DatasetError
from occseg.nn.losses import oosis_loss
from occseg.nn.ordernet import OrderNet, OrderNetConfig
from occseg.occlusion.targets import (
    instance_boundaries,
    orientation_targets,
    semantic_targets,
    synth_classes,
)
from occseg.train.config import read_yaml_config, refuse_unknown
from occseg.train.loop import run_training

__all__ = [
    "OrderTrainConfig",
    "OrderTrainSet",
    "default_class_names",
    "load_order_config",
    "train_order",
    "training_targets",
]


def default_class_names() -> tuple[str, ...]:
    """Background + the procedural object kinds of ``occseg synth`` (sorted)."""
    from occseg.synth.scene import KIND_WEIGHTS

    return ("background", *sorted(KIND_WEIGHTS))


@dataclass(frozen=True)
class OrderTrainConfig:
    """Options of ``occseg train order`` (YAML keys of the same names).

    Attributes
    ----------
    model
        :class:`~occseg.nn.ordernet.OrderNetConfig` options; ``class_names`` defaults to
        :func:`default_class_names`.
    data
        Folders written by ``occseg synth``.
    crop_size
        ``(height, width)`` of the training crops (the paper: 225×225); images must be at
        least this large.
    flip
        Random horizontal flips.
    boundary_weight
        ``w`` of the weighted boundary cross-entropy (Eq. 4; the paper: 0.9).
    batch_size, steps, lr, backbone_lr_mult, lr_milestones, lr_gamma, weight_decay
        Adam and its step schedule (:func:`occseg.train.loop.make_optimizer`).
    seed, workers, threads, log_every, checkpoint_every, out
        As for the click trainer (:class:`occseg.train.config.TrainConfig`).
    """

    model: dict[str, Any] = field(default_factory=dict)
    data: tuple[str, ...] = ()
    crop_size: tuple[int, int] = (192, 192)
    flip: bool = True
    boundary_weight: float = 0.9
    batch_size: int = 8
    steps: int = 1000
    lr: float = 5e-4
    backbone_lr_mult: float = 1.0
    lr_milestones: tuple[float, ...] = (0.9,)
    lr_gamma: float = 0.1
    weight_decay: float = 0.0
    seed: int = 0
    workers: int = 0
    threads: int | None = None
    log_every: int = 10
    checkpoint_every: int = 200
    out: str = "runs/ordernet"

    def __post_init__(self) -> None:
        try:
            self.model_config()
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"model: {exc}") from None
        if len(self.crop_size) != 2 or min(self.crop_size) < 16:
            raise ConfigError(f"crop_size must be [height, width] >= 16, got {self.crop_size}")
        if self.batch_size < 1 or self.steps < 1:
            raise ConfigError("batch_size and steps must be >= 1")
        if not 0 < self.boundary_weight < 1:
            raise ConfigError(f"boundary_weight must be in (0, 1), got {self.boundary_weight}")
        if not self.data:
            raise ConfigError("data must list at least one folder written by `occseg synth`")

    def model_config(self) -> OrderNetConfig:
        """The model's :class:`~occseg.nn.ordernet.OrderNetConfig`."""
        options = {"class_names": default_class_names(), **self.model}
        return OrderNetConfig.from_dict(options)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (stored in checkpoints)."""
        d = asdict(self)
        d["data"] = list(self.data)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderTrainConfig:
        """Build from a parsed YAML mapping; unknown keys raise :class:`ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError("a training config must be a YAML mapping of option: value")
        refuse_unknown(cls, data)
        data = dict(data)
        for key in ("crop_size", "lr_milestones"):
            if key in data:
                data[key] = tuple(data[key])
        roots = data.get("data") or ()
        data["data"] = (str(roots),) if isinstance(roots, str) else tuple(str(r) for r in roots)
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"invalid training config: {exc}") from None


def load_order_config(path: str | Path, **overrides: Any) -> OrderTrainConfig:
    """Read a YAML config of ``occseg train order`` (``overrides`` replace top-level options)."""
    return OrderTrainConfig.from_dict(read_yaml_config(path, **overrides))


def training_targets(
    sample: SynthSample, class_names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(semantic H×W int64, boundary H×W bool, orientation H×W×4 float32)`` of one sample."""
    inst = sample.instances.astype(np.int64)
    semantic = semantic_targets(inst, synth_classes(sample.meta, class_names))
    boundary, orientation = orientation_targets(instance_boundaries(sample.ob_occludes, inst))
    return semantic, boundary, orientation


class OrderTrainSet(Dataset):
    """Sample number ``k`` → a random crop of a random scene with its targets."""

    def __init__(self, config: OrderTrainConfig) -> None:
        self.config = config
        self.class_names = config.model_config().class_names
        self.sets = [SynthDataset(root) for root in config.data]
        self.refs = [(i, j) for i, ds in enumerate(self.sets) for j in range(len(ds))]
        if not self.refs:
            raise DatasetError(f"no samples in {', '.join(config.data)}")

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, k: int) -> dict[str, np.ndarray]:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, 1, int(k)])
        i, j = self.refs[int(rng.integers(len(self.refs)))]
        sample = self.sets[i][j]
        semantic, boundary, orientation = training_targets(sample, self.class_names)
        h, w = semantic.shape
        ch, cw = cfg.crop_size
        if h < ch or w < cw:
            raise DatasetError(
                f"{sample.name} is {w}×{h}, smaller than crop_size {cw}×{ch}; "
                "generate larger scenes or lower crop_size"
            )
        y0, x0 = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        crop = np.s_[y0 : y0 + ch, x0 : x0 + cw]
        image, semantic = sample.rgb[crop], semantic[crop]
        boundary, orientation = boundary[crop], orientation[crop]
        if cfg.flip and rng.random() < 0.5:
            image, semantic, boundary = image[:, ::-1], semantic[:, ::-1], boundary[:, ::-1]
            orientation = orientation[:, ::-1][..., [1, 0, 2, 3]]  # left <-> right
        return {
            "image": np.ascontiguousarray(image.transpose(2, 0, 1), np.float32) / 255.0,
            "semantic": np.ascontiguousarray(semantic),
            "boundary": np.ascontiguousarray(boundary, np.float32),
            "orientation": np.ascontiguousarray(orientation.transpose(2, 0, 1)),
        }


def collate(items: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Stack the arrays of a batch into tensors."""
    return {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}


def train_step(
    model: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    boundary_weight: float,
) -> dict[str, float]:
    """Forward, the loss of Eq. 4, backward and update; the loss terms and pixel accuracy."""
    out = model(batch["image"])
    loss, parts = oosis_loss(
        out.s,
        out.b,
        out.e,
        batch["semantic"],
        batch["boundary"],
        batch["orientation"],
        w=boundary_weight,
    )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    acc = (out.s.detach().argmax(1) == batch["semantic"]).float().mean()
    return {
        "loss": float(loss.detach()),
        "loss_s": parts["s"],
        "loss_b": parts["b"],
        "loss_e": parts["e"],
        "pixel_acc": float(acc),
    }


def train_order(
    config: OrderTrainConfig, *, resume: bool = True, progress: bool = True
) -> dict[str, Any]:
    """Train (or resume training) the OOSIS network as configured; returns a summary dict.

    Writes ``last.pt``, ``model.pt`` (the model config and the training config inside),
    ``metrics.jsonl`` (step, loss, loss_s, loss_b, loss_e, pixel_acc, lr, seconds) and
    ``config.json`` into ``config.out`` (:func:`occseg.train.loop.run_training`).
    """
    torch.manual_seed(config.seed)
    net = OrderNet(config.model_config())
    dataset = OrderTrainSet(config)

    def step_fn(model, batch, optimizer, step, rng) -> dict[str, float]:
        return train_step(model, batch, optimizer, config.boundary_weight)

    return run_training(
        config,
        net,
        dataset,
        collate,
        step_fn,
        name="train order",
        model_format=ORDER_FORMAT,
        info=lambda r: f"loss {r['loss']:.4f} acc {r['pixel_acc']:.3f}",
        resume=resume,
        progress=progress,
    )
