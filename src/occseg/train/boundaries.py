"""Two-stage training of the scribble-interactive OB model (paper ``000``, Sec. 3.2, 4.1).

**Stage 1** (epochs 1-4): FN segments are random pieces of the ground-truth boundaries, FP
segments pieces of Canny edges absent from the ground truth (at most 5 of each), perturbed and
dilated into the FN-FP map (:func:`occseg.simulate.scribbles.stage1_scribbles`, in the
data-loading workers); the previous output is all zero.

**Stage 2** (from epoch 5, or ``stage2_step``), batch by batch: (i) the model, in eval mode and
without gradients, predicts the batch with all-zero FN-FP maps and previous output; its output is
compared with the ground truth and the longest FN / FP segments (at most 5, thresholded at
``T`` = 0.7 after NMS) become the scribbles
(:func:`occseg.simulate.scribbles.simulate_scribbles`); the previous output is that output
thresholded at 0.7 (:func:`occseg.predict.boundaries.previous_output`, non-binary by default);
(ii) the model is trained on the images with these maps.

Every step minimises the class-balanced cross-entropy of the fused output and of the five side
outputs (:func:`occseg.nn.losses.deep_supervision_loss`). The loop itself (Adam, schedule,
resume, ``metrics.jsonl``, checkpoints, torchrun data-parallel) is
:func:`occseg.train.loop.run_training`.
Every random choice derives from ``(seed, sample or step number, rank)``.

Training data are boundary data sets (``KIND:PATH``), typically synthetic scenes written by
``occseg synth`` (``synth:DIR``; the target is ``SynthSample.ob``) and human boundaries of real
photos (``bsds500:DIR``). Several sets are mixed **per batch** in proportion to their ``weight``
(:func:`source_slots`), so every step sees every set and each set's loss is logged on its own
(``loss_<name>``). A multi-annotator set can train on RCF's label consensus
(:func:`boundary_target`) instead of the union of its annotators.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from occseg.checkpoint import OB_FORMAT, load_obnet
from occseg.data.boundary_sample import BoundarySample
from occseg.errors import ConfigError
from occseg.nn.losses import class_balanced_bce, deep_supervision_loss
from occseg.nn.obnet import OBNet
from occseg.predict.boundaries import previous_output
from occseg.simulate.scribbles import simulate_scribbles, stage1_scribbles
from occseg.train.augment import colour_jitter
from occseg.train.config import AugmentConfig, BoundaryTrainConfig
from occseg.train.loop import autocast, dist_info, run_training, training_device

__all__ = [
    "BoundarySource",
    "BoundaryTrainSet",
    "boundary_step",
    "boundary_target",
    "collate",
    "open_boundary_sources",
    "source_slots",
    "stage2_start",
    "train_boundaries",
]


@dataclass(frozen=True)
class BoundarySource:
    """One training set: its samples, share of every batch and target rule.

    ``consensus`` is RCF's ``η`` and ``consensus_radius`` the distance within which
    annotators count as agreeing (:func:`boundary_target`); ``consensus = None`` trains on the
    union of the annotators' boundaries.
    """

    name: str
    samples: Sequence[BoundarySample]
    weight: float = 1.0
    consensus: float | None = None
    consensus_radius: int = 0


def source_slots(weights: Sequence[float], batch_size: int) -> list[int]:
    """The source of each position of a batch: ``batch_size`` slots shared in proportion to
    ``weights`` (largest remainder), every source keeping at least one slot.

    >>> source_slots([1.0, 1.0], 8), source_slots([3.0, 1.0], 4), source_slots([9.0, 1.0], 4)
    ([0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 1])
    """
    if len(weights) > batch_size:
        raise ConfigError(
            f"{len(weights)} data sets cannot all appear in batches of {batch_size}: "
            "raise batch_size or drop a set"
        )
    w = np.asarray(weights, float)
    share = w / w.sum() * batch_size
    counts = np.maximum(np.floor(share).astype(int), 1)
    while counts.sum() > batch_size:  # pay for the forced single slots from sets with several
        excess = np.where(counts > 1, counts - share, -np.inf)
        counts[int(np.argmax(excess))] -= 1
    for i in np.argsort(-(share - counts), kind="stable")[: batch_size - counts.sum()]:
        counts[i] += 1
    return [i for i, c in enumerate(counts) for _ in range(c)]


def boundary_target(
    sample: BoundarySample, consensus: float | None, radius: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(target, ignored)`` H×W bool maps of one sample.

    With ``consensus = η`` this is RCF's rule for several annotators (Liu et al. 2017,
    Sec. 3.2): a pixel marked by more than ``η`` of them is a boundary, one marked by none is
    not, the rest (disputed pixels) are ignored by the loss. RCF counts votes on the exact
    pixel (``radius`` 0); hand-drawn BSDS500 boundaries of one contour rarely share pixels (on
    training images only 4-10 % of the annotated pixels get a majority), so ``radius`` r > 0
    counts an annotator as agreeing with a marked pixel when their boundary passes within r
    pixels (r = 2: 55-98 %), still far inside the benchmark's matching tolerance. ``None``:
    the union, nothing ignored.
    """
    union = sample.boundary_union
    if consensus is None:
        return union, np.zeros_like(union)
    marked: list[np.ndarray] = [(b > 0).astype(np.uint8) for b in sample.boundaries]
    if radius > 0:
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        marked = [cv2.dilate(m, disk) for m in marked]
    agreed = union & (np.mean(marked, axis=0) > consensus)
    return agreed, union & ~agreed


def stage2_start(config: BoundaryTrainConfig, n_images: int, world: int = 1) -> int:
    """The first step of stage 2: ``stage2_step``, else the first step of epoch
    ``stage2_epoch`` (an epoch = ``ceil(n_images / (batch_size · world))`` steps)."""
    if config.stage2_step is not None:
        return int(config.stage2_step)
    per_epoch = math.ceil(n_images / (config.loop.batch_size * world))
    return (config.stage2_epoch - 1) * per_epoch


def random_crop(
    image: np.ndarray, gt: np.ndarray, size: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random ``size`` crop of ``image`` and its H×W label map ``gt`` (both zero-padded when
    smaller) and the crop's valid mask."""
    ch, cw = size
    h, w = gt.shape
    ph, pw = max(0, ch - h), max(0, cw - w)
    valid = np.ones((h, w), bool)
    if ph or pw:
        image = np.pad(image, ((0, ph), (0, pw), (0, 0)))
        gt = np.pad(gt, ((0, ph), (0, pw)))
        valid = np.pad(valid, ((0, ph), (0, pw)))
    y0 = int(rng.integers(gt.shape[0] - ch + 1))
    x0 = int(rng.integers(gt.shape[1] - cw + 1))
    sl = np.s_[y0 : y0 + ch, x0 : x0 + cw]
    return image[sl], gt[sl], valid[sl]


class BoundaryTrainSet(Dataset):
    """Sample ``k`` → an augmented crop, its boundary target and (stage 1) its FN-FP maps.

    The sample number ``k`` seeds every random choice; the step it belongs to (``k`` divided by
    ``batch_size · world``, see :class:`occseg.train.loop.StepSampler`) decides the stage.
    """

    def __init__(
        self,
        sources: Sequence[BoundarySource],
        config: BoundaryTrainConfig,
        stage2_from: int,
        world: int = 1,
    ) -> None:
        self.sources = sources
        self.config = config
        self.stage2_from = stage2_from
        self.per_step = config.loop.batch_size * world
        self.slots = source_slots([s.weight for s in sources], config.loop.batch_size)
        self.radius = config.model_config().scribble_radius

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, k: int) -> dict[str, Any]:
        cfg = self.config
        rng = np.random.default_rng([cfg.loop.seed, 1, int(k)])
        source_index = self.slots[int(k) % cfg.loop.batch_size]
        source = self.sources[source_index]
        sample = source.samples[int(rng.integers(len(source.samples)))]
        target, ignored = boundary_target(sample, source.consensus, source.consensus_radius)
        label = target.astype(np.uint8) + 2 * ignored.astype(np.uint8)
        image, label, valid = random_crop(sample.image, label, cfg.crop_size, rng)
        if cfg.flip and rng.random() < 0.5:
            image, label, valid = image[:, ::-1], label[:, ::-1], valid[:, ::-1]
        if cfg.colour_jitter:
            a = AugmentConfig()
            image = colour_jitter(image, rng, a.brightness, a.contrast, a.rgb_shift)
        image, label, valid = (np.ascontiguousarray(a) for a in (image, label, valid))
        gt = label == 1
        stage = 1 if int(k) // self.per_step < self.stage2_from else 2
        maps = np.zeros((2, *gt.shape), np.float32)
        if stage == 1:
            sim = stage1_scribbles(
                image,
                gt,
                rng,
                max_segments=cfg.max_segments,
                min_length=cfg.min_segment_length,
                radius=self.radius,
                length_jitter=cfg.length_jitter,
                max_shift=cfg.max_shift,
            )
            maps = np.stack([sim.fn_map, sim.fp_map]) * valid
        return {
            "image": np.ascontiguousarray(image.transpose(2, 0, 1), np.float32) / 255.0,
            "gt": gt,
            "valid": valid,
            "weight": valid & (label != 2),
            "maps": maps.astype(np.float32),
            "stage": stage,
            "source": source_index,
        }


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack a list of :class:`BoundaryTrainSet` items (all of one step, hence one stage)."""
    return {
        "image": torch.from_numpy(np.stack([i["image"] for i in items])),
        "gt": np.stack([i["gt"] for i in items]),
        "valid": np.stack([i["valid"] for i in items]),
        "weight": np.stack([i["weight"] for i in items]),
        "source": np.array([i["source"] for i in items]),
        "maps": torch.from_numpy(np.stack([i["maps"] for i in items])),
        "stage": max(i["stage"] for i in items),
    }


def stage2_inputs(
    net: OBNet,
    batch: dict[str, Any],
    config: BoundaryTrainConfig,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage 2, step (i): FN-FP maps and previous output from the model's own automatic output.

    Returns ``(maps B×2×H×W, prev B×1×H×W)``.
    """
    image, gts, valid = batch["image"], batch["gt"], batch["valid"]
    device = next(net.parameters()).device
    image = image.to(device)
    zeros = torch.zeros(image.shape[0], 3, *image.shape[2:], device=device)
    was_training = net.training
    net.eval()
    with torch.no_grad(), autocast(device):
        logits = net(image, zeros[:, :2], zeros[:, 2:])
    probs = torch.sigmoid(logits.float())[:, 0].cpu().numpy()
    net.train(was_training)
    mc = net.config
    maps, prevs = [], []
    for prob, gt, ok in zip(probs * valid, gts, valid, strict=True):
        sim = simulate_scribbles(
            prob,
            gt,
            threshold=config.threshold,
            min_length=config.min_segment_length,
            max_segments=config.max_segments,
            rng=rng,
            radius=mc.scribble_radius,
            length_jitter=config.length_jitter,
            max_shift=config.max_shift,
        )
        maps.append(np.stack([sim.fn_map, sim.fp_map]) * ok)
        prevs.append(previous_output(prob, mc.prev_threshold, binary=mc.binary_prev)[None])
    return torch.from_numpy(np.stack(maps)), torch.from_numpy(np.stack(prevs))


def negative_weights(maps: torch.Tensor, config: BoundaryTrainConfig) -> torch.Tensor:
    """RCF's ``λ`` per pixel: ``neg_weight``, times ``fp_scribble_weight`` under FP scribbles.

    The class-balanced loss weighs a non-boundary pixel by about ``|Y+|/|Y|`` (≈ 0.05 on
    boundary maps), so a false positive the user has crossed out costs the model ~20× less than
    a missed boundary pixel; with the plain loss the model learned to answer FN scribbles but
    barely FP ones (synthetic held-out split, step 1050: NMS probability under FP scribbles
    0.87 → 0.80, under FN scribbles 0.22 → 0.85). Paper ``000`` does not state its loss (it
    keeps OPNet's settings), so this weight is our addition; 1 gives the plain loss.
    """
    fp = maps[:, 1:2].float()
    return config.neg_weight * (1.0 + (config.fp_scribble_weight - 1.0) * fp)


def boundary_step(
    model: torch.nn.Module,
    net: OBNet,
    batch: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    config: BoundaryTrainConfig,
    rng: np.random.Generator,
    source_names: Sequence[str] = (),
) -> dict[str, float]:
    """One optimisation step of stage ``batch["stage"]``; returns the statistics to log,
    with the fused output's loss on each training set (``loss_<name>``, ``source_names``).

    ``model`` is what gradients flow through (``net`` or its DDP wrapper); ``net`` is the bare
    model used for the no-gradient automatic pass of stage 2. The batch goes to the model's
    device; on CUDA the forward passes run under bfloat16 autocast and the losses in float32.
    """
    device = next(net.parameters()).device
    image = batch["image"].to(device)
    if batch["stage"] == 2:
        maps, prev = stage2_inputs(net, batch, config, rng)
    else:
        maps, prev = batch["maps"], image.new_zeros(image.shape[0], 1, *image.shape[2:])
    maps, prev = maps.to(device), prev.to(device)
    gt = torch.from_numpy(batch["gt"]).float()[:, None].to(device)
    weight = torch.from_numpy(batch["weight"]).float()[:, None].to(device)
    with autocast(device):
        fused, sides = model(image, maps, prev, with_sides=True)
    fused, sides = fused.float(), sides.float()
    neg = negative_weights(maps, config)
    loss_fn = partial(class_balanced_bce, neg_weight=neg)
    loss = deep_supervision_loss(
        fused, sides, gt, weight, side_weight=config.side_weight, loss=loss_fn
    )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    per_source = {}
    for i, name in enumerate(source_names):
        rows = torch.from_numpy(batch["source"] == i).to(device)
        per_source[f"loss_{name}"] = float(
            class_balanced_bce(fused.detach()[rows], gt[rows], weight[rows], neg[rows])
        )
    return {
        "loss": float(loss.detach()),
        "fused_loss": float(loss_fn(fused.detach(), gt, weight)),
        **per_source,
        "stage": float(batch["stage"]),
        "fn_area": float(maps[:, 0].mean()),
        "fp_area": float(maps[:, 1].mean()),
    }


def initial_ob_model(config: BoundaryTrainConfig) -> OBNet:
    """The model a run starts from: the weights of ``init`` (fine-tuning), else a new model,
    with its packaged ImageNet weights when ``pretrained``. A resumed run then loads its own
    ``last.pt`` over it.

    Raises
    ------
    ConfigError
        If the ``init`` checkpoint does not exist or its options differ from ``model:``.
    FileFormatError
        If it is not an OB checkpoint.
    """
    if config.init is None:
        net = OBNet(config.model_config())
        if net.config.pretrained:
            net.load_pretrained()
        return net
    net = load_obnet(config.init)
    if net.config != config.model_config():
        raise ConfigError(
            f"model options differ from those of the init checkpoint {config.init} "
            f"({net.config.to_dict()}); give those as 'model:'"
        )
    return net.train()


def train_boundaries(
    config: BoundaryTrainConfig,
    *,
    resume: bool = True,
    progress: bool = True,
    samples: Sequence[BoundarySample] | None = None,
) -> dict[str, Any]:
    """Train (or resume training) the OB model as configured; returns a summary dict.

    Writes ``last.pt``, ``model.pt``, ``metrics.jsonl`` (step, loss, fused_loss, stage,
    fn_area, fp_area, lr, seconds) and ``config.json`` into ``config.loop.out``
    (:func:`occseg.train.loop.run_training`). ``samples`` replaces the configured ``data``
    (tests, notebooks). The summary adds ``stage2_start``.

    Raises
    ------
    ConfigError
        If no data is configured or a data set is empty.
    """
    sources = (
        open_boundary_sources(config.data) if samples is None else [BoundarySource("data", samples)]
    )
    for source in sources:
        if len(source.samples) == 0:
            raise ConfigError(f"no training images in data set {source.name!r} under 'data:'")
    n_images = sum(len(source.samples) for source in sources)
    _, world = dist_info()
    start2 = stage2_start(config, n_images, world)
    torch.manual_seed(config.loop.seed)
    net = initial_ob_model(config)

    def step_fn(
        model: torch.nn.Module,
        batch: dict[str, Any],
        optimizer: torch.optim.Optimizer,
        step: int,
        rng: np.random.Generator,
    ) -> dict[str, float]:
        return boundary_step(model, net, batch, optimizer, config, rng, names)

    names = [source.name for source in sources]

    summary = run_training(
        config,
        net,
        BoundaryTrainSet(sources, config, start2, world),
        collate,
        step_fn,
        name="train boundaries",
        model_format=OB_FORMAT,
        info=lambda r: f"stage {r['stage']:.0f} loss {r['loss']:.4f} fused {r['fused_loss']:.4f}",
        resume=resume,
        progress=progress,
        device=training_device(config.loop.device),
    )
    summary["stage2_start"] = start2
    return summary


def open_boundary_sources(entries: Sequence[str | dict[str, Any]]) -> list[BoundarySource]:
    """The training sets of ``data`` entries (:class:`~occseg.train.config.BoundaryTrainConfig`),
    each named after its kind and split (``bsds500_train``; repeats get a ``_``)."""
    from occseg.data.boundaries import open_boundary_dataset

    if not entries:
        raise ConfigError(
            "no training data: add KIND:PATH entries under 'data:', e.g. "
            "data: [synth:runs/synth-train] (written by `occseg synth`)"
        )
    sources: list[BoundarySource] = []
    for entry in entries:
        e: dict[str, Any] = {"spec": entry} if isinstance(entry, str) else dict(entry)
        name = "_".join([e["spec"].split(":", 1)[0], *([e["split"]] if "split" in e else [])])
        while name in {s.name for s in sources}:
            name += "_"
        sources.append(
            BoundarySource(
                name,
                open_boundary_dataset(e["spec"], split=e.get("split")),
                float(e.get("weight", 1.0)),
                e.get("consensus"),
                int(e.get("consensus_radius", 0)),
            )
        )
    return sources
