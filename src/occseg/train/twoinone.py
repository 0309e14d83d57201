"""Training the Two-in-One selection and refinement networks (paper ``002``, Sec. 3.3-3.4).

Two stages, one run each (``stage`` in :class:`~occseg.train.config.TwoInOneTrainConfig`), both
minimising the boundary-aware cross-entropy (BA-CE, Eq. 3,
:func:`occseg.nn.losses.boundary_aware_ce`; CB-CE of Eq. 1 with ``boundary_aware: false``):

1. **selection**: an augmented instance with its training selection click (the interior-most
   point displaced by up to 25 pixels, Sec. 3.3) → the selection network's full-image logits.
   The refinement network is frozen (it is not on this loss's path).
2. **refinement**: the selection network of stage 1 (``init``) is frozen and run in eval mode.
   Each batch slot draws ``candidates`` instances and keeps the first whose selection IoU lies in
   ``selection_iou`` (0.2-0.6: "we pick training instances with 0.2 - 0.6 mIoU based on
   predictions by the selection network"). The training user places 2-4 boundary clicks on the
   instance's errors, the selection crop (Sec. 4.2, :class:`~occseg.selection_crop.CropRule`) is
   taken around the prediction and the clicks, and the refinement network's crop logits are
   compared with the ground truth cropped by the same RoIAlign; the loss counts twice in a 40×40
   window around each refinement click (Sec. 3.4). The paper determines the clicks "from the
   crops"; with its threshold the crop holds the errors and the two readings agree, and with a
   tighter crop (ours) clicking first is what the predictor sees: a crop stretched to the clicks.
   A model whose ``refinement_clicks`` are ``signed`` (the paper's PNR variant) is trained the
   same way with positive and negative clicks inside the error regions.

Freezing the network a stage does not train is our reading of the two-stage recipe: the
refinement loss alone would otherwise move the shared features away from the selection head.
Every random choice derives from ``(seed, sample or step number, rank)`` as in
:func:`occseg.train.loop.run_training`, so a resumed run continues exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from occseg.boundary_weights import boundary_aware_weights
from occseg.checkpoint import TWOINONE_FORMAT, load_clicknet, load_twoinone
from occseg.encode import gaussian_channel, refinement_channels
from occseg.errors import ConfigError
from occseg.nn.losses import boundary_aware_ce
from occseg.nn.twoinone import REFINEMENT_OPTIONS, TwoInOne, roi_align
from occseg.simulate.boundary_clicks import BoundaryClickSimulator
from occseg.train.augment import augment
from occseg.train.config import TwoInOneTrainConfig
from occseg.train.loop import autocast, resume_checkpoint, run_training, training_device
from occseg.train.sources import MixedSource, make_source
from occseg.types import BoundaryClick, Click

__all__ = ["TwoInOneTrainSet", "collate", "train_twoinone"]


class TwoInOneTrainSet(Dataset):
    """Sample ``k`` → ``per_item`` augmented instances, each with its training selection click
    and, for BA-CE, its boundary weights ``w(B, p)`` (Eq. 2).

    The sample number ``k`` (not an image index) seeds every random choice of the sample.
    """

    def __init__(
        self,
        source: MixedSource,
        config: TwoInOneTrainConfig,
        simulator: BoundaryClickSimulator,
        per_item: int = 1,
    ) -> None:
        self.source = source
        self.config = config
        self.simulator = simulator
        self.per_item = per_item

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, k: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng([self.config.loop.seed, 1, int(k)])
        return [self._instance(rng) for _ in range(self.per_item)]

    def _instance(self, rng: np.random.Generator) -> dict[str, Any]:
        cfg = self.config
        for _ in range(8):
            t = augment(self.source.draw(rng), cfg.crop_size, rng, cfg.augment)
            ignore = np.zeros(t.mask.shape, bool) if t.ignore is None else t.ignore
            if (t.mask & ~ignore).any():
                break
        first = self.simulator.first(t.mask, rng, ignore=ignore)
        # An object hidden by the ignore region in every draw (rare): a click at the centre
        # teaches the network an empty selection there.
        h, w = t.mask.shape
        click = first[0] if first else Click(h // 2, w // 2, True)
        return {
            "image": np.ascontiguousarray(t.image.transpose(2, 0, 1), np.float32) / 255.0,
            "mask": t.mask,
            "ignore": ignore,
            "click": click,
            "boundary": boundary_aware_weights(t.mask) if cfg.boundary_aware else None,
        }


def collate(items: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Flatten the samples' instances (slot-major) and stack their arrays."""
    flat = [i for item in items for i in item]
    boundary = [i["boundary"] for i in flat]
    return {
        "image": torch.from_numpy(np.stack([i["image"] for i in flat])),
        "mask": np.stack([i["mask"] for i in flat]),
        "ignore": np.stack([i["ignore"] for i in flat]),
        "clicks": [i["click"] for i in flat],
        "boundary": None if boundary[0] is None else torch.from_numpy(np.stack(boundary)),
    }


def _channels(points: list[list[Any]], shape: tuple[int, int], sigma: float) -> torch.Tensor:
    """``N×1×H×W`` Gaussian channels (:func:`occseg.encode.gaussian_channel`), one per sample."""
    return torch.from_numpy(np.stack([gaussian_channel(p, shape, sigma) for p in points]))[:, None]


def _ious(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-sample IoU of ``N×H×W bool`` masks over the valid pixels (1 where both are empty)."""
    inter = (pred & gt & valid).sum(axis=(1, 2))
    union = ((pred | gt) & valid).sum(axis=(1, 2))
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def _tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``N×H×W`` array → ``N×1×H×W float32`` tensor on ``device``."""
    return torch.from_numpy(np.asarray(array, np.float32))[:, None].to(device)


def _update(loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def selection_step(
    model: torch.nn.Module,
    batch: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    sigma: float,
    class_balanced: bool = True,
) -> dict[str, float]:
    """One step of stage selection: BA-CE (or CB-CE) of the selection logits (Sec. 3.1)."""
    device = next(model.parameters()).device
    image = batch["image"].to(device)
    guidance = _channels([[c] for c in batch["clicks"]], batch["mask"].shape[1:], sigma)
    gt, valid = batch["mask"], ~batch["ignore"]
    boundary = batch["boundary"]
    with autocast(device):
        out = model(image, guidance.to(device))
    logits = out.selection.float()
    loss = boundary_aware_ce(
        logits,
        _tensor(gt, device),
        _tensor(valid, device),
        None if boundary is None else boundary[:, None].to(device),
        class_balanced,
    )
    _update(loss, optimizer)
    pred = (logits.detach() > 0)[:, 0].cpu().numpy()  # sigmoid > 0.5 ⇔ logit > 0
    return {"loss": float(loss.detach()), "iou": float(_ious(pred, gt, valid).mean())}


def choose_candidates(ious: np.ndarray, low: float, high: float) -> np.ndarray:
    """Per slot (row of ``slots × candidates`` selection IoUs), the index of the first candidate
    with ``low <= IoU <= high``, else of the candidate nearest to that range (the first of ties).
    """
    gap = np.maximum(np.maximum(low - ious, ious - high), 0.0)
    return np.argmin(gap, axis=1)  # argmin: the first zero gap, or the first smallest one


def click_weights(
    clicks: Sequence[Click | BoundaryClick], valid: np.ndarray, window: int, factor: float
) -> np.ndarray:
    """Pixel weights of the refinement loss: ``factor`` in a ``window`` × ``window`` square
    around each click (Sec. 3.4: ×2 in a 40×40 neighbourhood; overlaps count once), 1 elsewhere,
    0 where not ``valid``; ``H×W float32``."""
    weights = np.ones(valid.shape, np.float32)
    half = window // 2
    for c in clicks:
        y0, x0 = max(0, c.y - half), max(0, c.x - half)
        weights[y0 : c.y - half + window, x0 : c.x - half + window] = factor
    return weights * valid


def refinement_step(
    model: torch.nn.Module,
    net: TwoInOne,
    batch: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    config: TwoInOneTrainConfig,
    simulator: BoundaryClickSimulator,
    rng: np.random.Generator,
) -> dict[str, float]:
    """One step of stage refinement (see the module doc).

    ``model`` is what gradients flow through (``net`` or its DDP wrapper); ``net`` is the bare
    model, whose frozen selection network picks the candidates without gradients.
    """
    device = next(net.parameters()).device
    sigma, shape = net.config.sigma, batch["mask"].shape[1:]
    net.selection.eval()  # frozen, batch-norm statistics included
    image_all = batch["image"].to(device)
    guidance_all = _channels([[c] for c in batch["clicks"]], shape, sigma).to(device)
    with torch.no_grad(), autocast(device):
        logits_all, _ = net.select(image_all, guidance_all)
    prob_all = torch.sigmoid(logits_all.float())[:, 0].cpu().numpy()
    masks, valid_all = batch["mask"], ~batch["ignore"]
    ious_all = _ious(prob_all > 0.5, masks, valid_all)
    slots = len(batch["clicks"]) // config.candidates
    low, high = config.selection_iou
    grid = ious_all.reshape(slots, config.candidates)
    chosen = np.arange(slots) * config.candidates + choose_candidates(grid, low, high)
    index = torch.from_numpy(chosen)

    rule = config.crop_rule()
    boxes, clicks, weights = [], [], []
    for i in chosen:
        pred = prob_all[i] > 0.5
        placed = simulator.next(masks[i], pred, rng, ignore=batch["ignore"][i])
        boxes.append(rule.box(prob_all[i], batch["clicks"][i], placed))
        clicks.append(placed)
        weights.append(
            click_weights(placed, valid_all[i], config.click_window, config.click_weight)
        )
    signed = net.config.signed_clicks
    click_maps = np.stack([refinement_channels(c, shape, sigma, signed) for c in clicks])
    box_t = torch.tensor(boxes, dtype=torch.float32, device=device)
    # Through ``model``'s forward, as DistributedDataParallel needs: the frozen selection network
    # runs once more on the chosen instances (no gradients reach it).
    with autocast(device):
        out = model(
            image_all[index.to(device)],
            guidance_all[index.to(device)],
            torch.from_numpy(click_maps).to(device),
            box_t,
        )
    refined = out.refined.float()
    size, ratio = net.config.crop_size, net.config.sampling_ratio

    def crop(x: torch.Tensor) -> torch.Tensor:
        return roi_align(x, box_t, shape, size, ratio)

    target = (crop(_tensor(masks[chosen], device)) >= 0.5).float()
    weight = crop(_tensor(np.stack(weights), device))
    boundary = batch["boundary"]
    loss = boundary_aware_ce(
        refined,
        target,
        weight,
        None if boundary is None else crop(boundary[index][:, None].to(device)),
        config.class_balanced,
    )
    _update(loss, optimizer)
    in_crop = (weight > 0)[:, 0].cpu().numpy()
    truth = target[:, 0].bool().cpu().numpy()
    pred_crop = (refined.detach() > 0)[:, 0].cpu().numpy()
    selection_crop = (crop(out.selection.detach().float()) > 0)[:, 0].cpu().numpy()
    selected = ious_all[chosen]
    return {
        "loss": float(loss.detach()),
        "iou": float(_ious(pred_crop, truth, in_crop).mean()),
        "crop_selection_iou": float(_ious(selection_crop, truth, in_crop).mean()),
        "selection_iou": float(selected.mean()),
        "in_range": float(((selected >= low) & (selected <= high)).mean()),
        "clicks": float(np.mean([len(c) for c in clicks])),
    }


def _start_from_click_model(net: TwoInOne, path: str) -> None:
    """Start ``net``'s selection network from the encode-once click model at ``path``."""
    clicknet = load_clicknet(path)
    if not clicknet.encodes_once:
        raise ConfigError(f"encoder_init {path} must be an encode-once click model (fusion: late)")
    config = clicknet.config
    if config.interaction != "clicks" or config.make_encoder().encode([], (4, 4)).any():
        raise ConfigError(
            f"encoder_init {path} must encode positive/negative clicks with maps that are 0 "
            f"where there is no click (e.g. encoding: disk), not {config.interaction!r} "
            f"with {config.encoding!r}"
        )
    try:
        net.load_click_model(clicknet.body, clicknet.decoder)
    except ValueError as exc:
        raise ConfigError(f"encoder_init {path}: {exc}") from None


def _model(config: TwoInOneTrainConfig, resuming: bool) -> TwoInOne:
    """The model a stage starts from, with the network it does not train frozen (a resumed
    selection run loads its own weights, so it needs neither ``encoder_init`` nor ImageNet)."""
    if config.stage == "selection":
        net = TwoInOne(config.model_config())
        if not resuming:  # a resumed run gets its own weights from run_training
            if config.encoder_init:
                _start_from_click_model(net, config.encoder_init)
            elif net.config.pretrained:
                net.load_pretrained()
        net.refinement.requires_grad_(False)
        return net
    assert config.init is not None  # the config refuses a refinement stage without init
    net = load_twoinone(config.init)
    wanted = replace(net.config, **config.model)  # the config checked the keys and values
    if replace(wanted, **{k: getattr(net.config, k) for k in REFINEMENT_OPTIONS}) != net.config:
        raise ConfigError(
            f"model options differ from those of the init checkpoint {config.init}; in the "
            f"refinement stage only {', '.join(REFINEMENT_OPTIONS)} may change (the rest are "
            "the checkpoint's)"
        )
    if wanted != net.config:  # a new refinement network on the trained selection network
        rebuilt = TwoInOne(wanted)
        rebuilt.selection.load_state_dict(net.selection.state_dict())
        net = rebuilt
    net.selection.requires_grad_(False)
    return net


def train_twoinone(
    config: TwoInOneTrainConfig,
    *,
    resume: bool = True,
    progress: bool = True,
    source: MixedSource | None = None,
) -> dict[str, Any]:
    """Train (or resume training) one stage of the Two-in-One model; returns a summary dict.

    Writes ``last.pt``, ``model.pt`` (format ``occseg.twoinone``: the whole model, both
    networks), ``metrics.jsonl`` (loss, iou; stage refinement also the chosen instances' mean
    ``selection_iou``, the selection's IoU on the same crops ``crop_selection_iou`` (what ``iou``
    must beat), the fraction ``in_range`` and the mean number of ``clicks``) and
    ``config.json`` into ``config.loop.out`` (:func:`occseg.train.loop.run_training`). Stage
    refinement's ``model.pt`` is the model that :class:`~occseg.predict.twoinone.TwoInOnePredictor`
    uses.

    Raises
    ------
    ConfigError
        If the init checkpoint is missing or its model options differ from ``model``.
    FileFormatError
        If ``init`` is not a two-in-one checkpoint.
    """
    torch.manual_seed(config.loop.seed)
    net = _model(config, resuming=resume_checkpoint(config.loop, resume) is not None)
    simulator = config.simulator(signed=net.config.signed_clicks)
    source = source if source is not None else make_source(config.data)
    selection = config.stage == "selection"

    def step_fn(
        model: torch.nn.Module,
        batch: dict[str, Any],
        optimizer: torch.optim.Optimizer,
        step: int,
        rng: np.random.Generator,
    ) -> dict[str, float]:
        if selection:
            return selection_step(model, batch, optimizer, net.config.sigma, config.class_balanced)
        return refinement_step(model, net, batch, optimizer, config, simulator, rng)

    def info(r: dict[str, float]) -> str:
        text = f"loss {r['loss']:.4f} IoU {r['iou']:.3f}"
        return text if selection else f"{text} (selection {r['crop_selection_iou']:.3f})"

    per_item = 1 if selection else config.candidates
    return run_training(
        config,
        net,
        TwoInOneTrainSet(source, config, simulator, per_item),
        collate,
        step_fn,
        name=f"train twoinone ({config.stage})",
        model_format=TWOINONE_FORMAT,
        info=info,
        resume=resume,
        progress=progress,
        device=training_device(config.loop.device),
    )
