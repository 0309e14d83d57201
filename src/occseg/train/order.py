"""Training the joint semantic / oriented-boundary network of OOSIS on synthetic scenes.

Paper 001, Sec. 3.1: the PSPNet with heads s, b and e (:class:`occseg.nn.ordernet.OrderNet`)
trained with the loss of Eq. 4 (:func:`occseg.nn.losses.oosis_loss`, ``w = 0.9``). Training
data are folders written by ``occseg synth``; per sample:

* semantic target: each object painted with the index of its ``kind`` in the model's
  ``class_names`` (the room is the background, class 0);
* boundary and orientation targets (supplement 1.3): the scene's exact per-pixel occlusion flags
  ``ob_occludes`` between different instances, the occluder not the room
  (:func:`occseg.occlusion.targets.instance_boundaries`), which is the construction from instance
  masks and occlusion order; contact pixels (``ob_contact``, data format 2: objects touching,
  where the marked side flips from pixel to pixel) stay boundaries without an orientation
  (:func:`training_targets`);
* with ``self_occlusion_weight``, the self-occlusion pixels inside objects
  (:func:`occseg.occlusion.targets.self_occlusion_pixels`), hard negatives of the boundary head;
* with ``scale_range``, the scene and its targets rescaled by a random factor
  (:func:`rescale_targets`; not in the paper, which trains at one scale);
* a random ``crop_size`` crop and a horizontal flip (which swaps the left and right bins).

Every random choice derives from ``(seed, sample number)``; the loop, checkpoints, resume and
the metrics log are :func:`occseg.train.loop.run_training`'s. Example config:
``configs/ordernet-cpu.yaml``::

    occseg synth --out data/synth-train --n 2000 --size 256 --seed 1 --jobs 2
    occseg train order --config configs/ordernet-cpu.yaml
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from occseg.checkpoint import ORDER_FORMAT, load_ordernet
from occseg.data.synth import SynthDataset, SynthSample
from occseg.errors import ConfigError, DatasetError
from occseg.nn.losses import oosis_loss, weighted_boundary_ce
from occseg.nn.ordernet import OrderNet
from occseg.occlusion.targets import (
    instance_boundaries,
    orientation_targets,
    self_occlusion_pixels,
    semantic_targets,
    synth_classes,
)
from occseg.train.boundaries import (
    BoundarySource,
    boundary_target,
    open_boundary_sources,
    source_slots,
)
from occseg.train.config import OrderTrainConfig
from occseg.train.loop import autocast, run_training, training_device

__all__ = ["OrderTrainSet", "rescale_targets", "train_order", "training_targets"]


def training_targets(
    sample: SynthSample, class_names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(semantic H×W int64, boundary H×W bool, orientation H×W×4 float32)`` of one sample.

    Contact pixels (``sample.ob_contact``; None for data format 1, whose targets keep the flags
    as they are) have no orientation: a zero row of the orientation target, so they weigh 0 in
    the orientation term of Eq. 4. They stay boundary pixels (``B_p = 1``): supplement 1.3 takes
    ``B_p`` from the instance masks alone ("having the instance masks, one can easily get the
    boundary pixels"), and a contact between two objects is a boundary of their masks; the CRF
    (Sec. 3.2) separates two touching objects only along predicted boundaries, so a network
    taught ``B_p = 0`` there would merge them. Which of the two pixels carries ``B_p`` still
    flips along a contact line (the OB map marks the closer one), and a pixel with both contact
    and separated events is not a contact pixel, so its ``E_p`` keeps the contact direction:
    the data store contacts per pixel, not per flag.
    """
    inst = sample.instances.astype(np.int64)
    semantic = semantic_targets(inst, synth_classes(sample.meta, class_names))
    boundary, orientation = orientation_targets(
        instance_boundaries(sample.ob_occludes, inst), sample.ob_contact
    )
    return semantic, boundary, orientation


def rescale_targets(
    image: np.ndarray,
    maps: dict[str, np.ndarray],
    orientation: np.ndarray,
    scale: float,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """An RGB image, its label and line maps and its orientation target, resized by ``scale``.

    The image is resampled bilinearly (by area when shrunk), ``maps["semantic"]`` by the nearest
    pixel. The other maps are one-pixel lines (``B_p``, the self-occlusion pixels) that must
    neither break nor vanish: enlarged, each pixel takes its nearest source pixel (a line
    becomes one or two pixels wide); shrunk, a pixel is on a line when its footprint holds a
    line pixel. Orientation rows (``E_p``, summing to 1 on oriented boundary pixels, 0 elsewhere)
    are taken from the same nearest pixel when enlarged and averaged over the footprint's
    oriented pixels when shrunk, so contact pixels (zero rows) stay without orientation.
    """
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return image, maps, orientation
    shrink = scale < 1

    def nearest(a: np.ndarray) -> np.ndarray:
        return cv2.resize(a, size, interpolation=cv2.INTER_NEAREST_EXACT)

    def lines(a: np.ndarray) -> np.ndarray:
        if not shrink:
            return nearest(a.astype(np.uint8)).astype(bool)
        return cv2.resize(a.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0

    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    # OpenCV resizes no int64: class indices (and -100, no class) travel as int16
    out = {
        k: nearest(v.astype(np.int16)).astype(v.dtype) if k == "semantic" else lines(v)
        for k, v in maps.items()
    }
    if shrink:
        e = cv2.resize(orientation, size, interpolation=cv2.INTER_AREA)
        total = e.sum(2, keepdims=True)
        e = np.where(total > 0, e / np.maximum(total, 1e-12), 0.0).astype(np.float32)
    else:
        e = nearest(orientation)
    return resized, out, e


class OrderTrainSet(Dataset):
    """Sample number ``k`` → a random crop of a random scene (or, with ``boundary_data``, of a
    photograph in that set's batch positions, :func:`occseg.train.boundaries.source_slots`)
    with its targets. A photograph's pixels have class -100 (none) and a zero orientation row;
    its disputed boundary pixels are ``ignored``."""

    def __init__(self, config: OrderTrainConfig) -> None:
        self.config = config
        self.class_names = config.model_config().class_names
        self.sets = [SynthDataset(root) for root in config.data]
        self.refs = [(i, j) for i, ds in enumerate(self.sets) for j in range(len(ds))]
        if not self.refs:
            raise DatasetError(f"no samples in {', '.join(config.data)}")
        self.photos = open_boundary_sources(config.boundary_data) if config.boundary_data else []
        weights = [1.0, *(source.weight for source in self.photos)]
        self.slots = source_slots(weights, config.loop.batch_size)

    def __len__(self) -> int:
        return 2**62

    def _scene(
        self, rng: np.random.Generator
    ) -> tuple[str, np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """A random synthetic scene: its name, image, maps and orientation target."""
        i, j = self.refs[int(rng.integers(len(self.refs)))]
        sample = self.sets[i][j]
        semantic, boundary, orientation = training_targets(sample, self.class_names)
        maps = {"semantic": semantic, "boundary": boundary}
        if self.config.self_occlusion_weight is not None:
            selfocc = self_occlusion_pixels(sample.ob_occludes, sample.instances) & ~boundary
            maps["self_occlusion"] = selfocc
        if self.photos:
            maps["ignored"] = np.zeros_like(boundary)
        return sample.name, sample.rgb, maps, orientation

    def _photo(
        self, rng: np.random.Generator, source: BoundarySource
    ) -> tuple[str, np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """A random photograph of ``source``: its name, image, maps and orientation target."""
        sample = source.samples[int(rng.integers(len(source.samples)))]
        boundary, ignored = boundary_target(sample, source.consensus, source.consensus_radius)
        maps = {"semantic": np.full(boundary.shape, -100, np.int64), "boundary": boundary}
        if self.config.self_occlusion_weight is not None:
            maps["self_occlusion"] = np.zeros_like(boundary)
        maps["ignored"] = ignored
        return sample.name, sample.image, maps, np.zeros((*boundary.shape, 4), np.float32)

    def __getitem__(self, k: int) -> dict[str, np.ndarray]:
        cfg = self.config
        rng = np.random.default_rng([cfg.loop.seed, 1, int(k)])
        slot = self.slots[int(k) % cfg.loop.batch_size]
        name, image, maps, orientation = (
            self._scene(rng) if slot == 0 else self._photo(rng, self.photos[slot - 1])
        )
        if cfg.scale_range is not None:
            low, high = np.log(cfg.scale_range)
            scale = float(np.exp(rng.uniform(low, high)))
            image, maps, orientation = rescale_targets(image, maps, orientation, scale)
        h, w = image.shape[:2]
        ch, cw = cfg.crop_size
        if h < ch or w < cw:
            raise DatasetError(
                f"{name} is {w}×{h} as trained, smaller than crop_size {cw}×{ch}; "
                "use larger images, lower crop_size or raise the low end of scale_range"
            )
        y0, x0 = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        crop = np.s_[y0 : y0 + ch, x0 : x0 + cw]
        maps = {k: v[crop] for k, v in maps.items()}
        image, orientation = image[crop], orientation[crop]
        if cfg.flip and rng.random() < 0.5:
            image = image[:, ::-1]
            maps = {k: v[:, ::-1] for k, v in maps.items()}
            orientation = orientation[:, ::-1][..., [1, 0, 2, 3]]  # left <-> right
        item = {k: np.ascontiguousarray(v) for k, v in maps.items()}
        item["boundary"] = item["boundary"].astype(np.float32)
        item["image"] = np.ascontiguousarray(image.transpose(2, 0, 1), np.float32) / 255.0
        item["orientation"] = np.ascontiguousarray(orientation.transpose(2, 0, 1))
        if self.photos:
            item["source"] = np.int64(slot)
        return item


def collate(items: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Stack the arrays of a batch into tensors."""
    return {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}


def train_step(
    model: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    boundary_weight: float,
    self_occlusion_weight: float | None = None,
) -> dict[str, float]:
    """Forward, the loss of Eq. 4, backward and update; the loss terms and pixel accuracy.
    With ``self_occlusion_weight`` the batch's ``self_occlusion`` pixels weigh that much as
    negatives of the boundary head. A batch with photographs (``source`` > 0) has their
    ``ignored`` pixels out of ``CE_w``; ``loss_b`` is then the scenes' boundary term alone and
    ``loss_b_photo`` the photographs' (each per pixel of its own items). The batch goes to the
    model's device; on CUDA the forward pass runs under bfloat16 autocast and the loss in
    float32."""
    if ("self_occlusion" in batch) == (self_occlusion_weight is None):
        raise ValueError("self_occlusion_weight needs the batch's self_occlusion map, and back")
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    hard = batch.get("self_occlusion")
    with autocast(device):
        out = model(batch["image"])
    ignored = batch.get("ignored")
    loss, parts = oosis_loss(
        out.s.float(),
        out.b.float(),
        out.e.float(),
        batch["semantic"],
        batch["boundary"],
        batch["orientation"],
        w=boundary_weight,
        hard_negatives=hard,
        hard_weight=self_occlusion_weight,
        ignored=ignored,
    )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    classed = batch["semantic"] >= 0
    hits = (out.s.detach().argmax(1) == batch["semantic"]) & classed
    stats = {
        "loss": float(loss.detach()),
        "loss_s": parts["s"],
        "loss_b": parts["b"],
        "loss_e": parts["e"],
        "pixel_acc": float(hits.sum() / classed.sum().clamp(min=1)),
    }
    if "source" in batch:
        ce_b = weighted_boundary_ce(
            out.b.detach().float(),
            batch["boundary"],
            w=boundary_weight,
            hard_negatives=hard,
            hard_weight=self_occlusion_weight,
            ignored=ignored,
        )
        photo = batch["source"] > 0
        stats["loss_b"] = float(ce_b[~photo].mean()) if (~photo).any() else 0.0
        stats["loss_b_photo"] = float(ce_b[photo].mean()) if photo.any() else 0.0
    return stats


def initial_order_model(config: OrderTrainConfig) -> OrderNet:
    """The model a run starts from: a new model with its packaged ImageNet weights when
    ``pretrained``, or, with ``init``, every tensor of that checkpoint whose name and shape it
    shares; what the checkpoint lacks (e.g. a decoder added since) keeps its new
    initialisation. A resumed run then loads its own ``last.pt`` over it.

    Raises
    ------
    ConfigError
        If the ``init`` checkpoint does not exist or has another trunk.
    FileFormatError
        If it is not an order checkpoint.
    """
    net = OrderNet(config.model_config())
    if config.init is None:
        if net.config.pretrained:
            net.load_pretrained()
        return net
    # the same trunk (checked below) gives every trunk tensor: no ImageNet weights to load
    start = load_ordernet(config.init)  # ConfigError if it does not exist
    if start.config.backbone != net.config.backbone:
        raise ConfigError(
            f"init checkpoint {config.init} has the trunk {start.config.backbone}, the config "
            f"{net.config.backbone}; start from a model with the same trunk"
        )
    own = net.state_dict()
    shared = {k: v for k, v in start.state_dict().items() if k in own and own[k].shape == v.shape}
    net.load_state_dict(shared, strict=False)
    return net


def train_order(
    config: OrderTrainConfig, *, resume: bool = True, progress: bool = True
) -> dict[str, Any]:
    """Train (or resume training) the OOSIS network as configured; returns a summary dict.

    Writes ``last.pt``, ``model.pt`` (the model config and the training config inside),
    ``metrics.jsonl`` (step, loss, loss_s, loss_b, loss_e, pixel_acc, lr, seconds) and
    ``config.json`` into ``config.loop.out`` (:func:`occseg.train.loop.run_training`).
    """
    torch.manual_seed(config.loop.seed)
    net = initial_order_model(config)
    dataset = OrderTrainSet(config)

    def step_fn(model, batch, optimizer, step, rng) -> dict[str, float]:
        return train_step(
            model, batch, optimizer, config.boundary_weight, config.self_occlusion_weight
        )

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
        device=training_device(config.loop.device),
    )
