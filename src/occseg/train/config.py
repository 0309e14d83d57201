"""Training configurations, read from small YAML files: one per kind, one shared loop.

``occseg train KIND --config FILE`` reads a flat YAML mapping. The options of the training loop
(steps, batch size, Adam and its schedule, seed, workers, logging, output folder) are the same
for every kind and live in :class:`LoopConfig`; each kind's config (:class:`TrainConfig` for
``clicks``, :class:`BoundaryTrainConfig` for ``boundaries``, :class:`OrderTrainConfig` for
``order``, :class:`TwoInOneTrainConfig` for ``twoinone``) holds its own options and embeds a
``loop``. In the YAML file both sit side by side at the top level; see
``configs/clicknet-hrnet18s-cpu.yaml`` for an annotated example::

    model: {backbone: hrnet18s, width_mult: 0.5}        # the kind's options
    data:
      - {kind: bsds500, root: ../shared/data/bsds500, splits: [train, val]}
    crop_size: [288, 288]
    steps: 20000                                        # loop options
    out: runs/clicknet-hrnet18s-cpu

Unknown keys are refused (a typo must not silently train the wrong model). Every option has a
default from the kind's paper unless the CPU budget asks otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from occseg.errors import ConfigError
from occseg.nn.clicknet import ClickNetConfig
from occseg.nn.losses import LOSSES
from occseg.nn.obnet import OBNetConfig
from occseg.nn.ordernet import OrderNetConfig
from occseg.nn.twoinone import TwoInOneConfig
from occseg.selection_crop import CROP_THRESHOLD, DEFAULT_PAD, CropRule
from occseg.simulate.boundary_clicks import BoundaryClickSimulator

__all__ = [
    "CONFIGS",
    "AugmentConfig",
    "BoundaryTrainConfig",
    "LoopConfig",
    "OrderTrainConfig",
    "TrainConfig",
    "TwoInOneTrainConfig",
    "add_image_folders",
    "default_class_names",
    "load_config",
    "read_yaml_config",
]


@dataclass(frozen=True)
class LoopConfig:
    """The options of the training loop every kind shares (:func:`occseg.train.loop.run_training`).

    Attributes
    ----------
    steps
        Optimisation steps.
    batch_size
        Samples per step **per process** (under torchrun the effective batch is ``nproc`` times
        this).
    lr, backbone_lr_mult
        Adam learning rate and the backbone's multiplier of it.
    lr_milestones, lr_gamma
        The rate is multiplied by ``lr_gamma`` at these fractions of ``steps``.
    weight_decay
        Adam's weight decay.
    seed
        Seed of every random choice.
    workers, threads
        Data-loading worker processes; torch threads (None: torch's default).
    log_every, checkpoint_every
        Steps between metric lines and between checkpoints.
    out
        Output folder: ``last.pt`` (resumable), ``model.pt`` (weights only), ``metrics.jsonl``,
        ``config.json``.
    device
        ``"auto"`` (CUDA when available, else the CPU), ``"cpu"`` or ``"cuda"``; on CUDA the
        forward passes run under bfloat16 autocast (losses in float32).
    """

    steps: int = 1000
    batch_size: int = 8
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
    out: str = "runs/train"
    device: str = "auto"

    def __post_init__(self) -> None:
        for name, (rule, text) in _LOOP_RULES.items():
            value = getattr(self, name)
            try:
                ok = rule(value)
            except TypeError:  # e.g. a string where a number belongs
                ok = False
            if not ok:
                raise ConfigError(f"{name} must be {text}, got {value!r}")


_LOOP_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "steps": (lambda v: v >= 1, ">= 1"),
    "batch_size": (lambda v: v >= 1, ">= 1"),
    "lr": (lambda v: v > 0, "> 0"),
    "backbone_lr_mult": (lambda v: v >= 0, ">= 0"),
    "lr_milestones": (lambda v: all(0 <= m <= 1 for m in v), "fractions of steps in [0, 1]"),
    "lr_gamma": (lambda v: v > 0, "> 0"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "seed": (lambda v: v >= 0, ">= 0"),
    "workers": (lambda v: v >= 0, ">= 0"),
    "threads": (lambda v: v is None or v >= 1, ">= 1 (or unset)"),
    "log_every": (lambda v: v >= 1, ">= 1"),
    "checkpoint_every": (lambda v: v >= 1, ">= 1"),
    "out": (lambda v: bool(str(v).strip()), "a folder"),
    "device": (lambda v: v in ("auto", "cpu", "cuda"), "auto, cpu or cuda"),
}

#: Names of the loop options (top-level YAML keys that go into ``loop``).
LOOP_KEYS = frozenset(f.name for f in fields(LoopConfig))

C = TypeVar("C", bound="_KindConfig")


def _as_tuple(value: Any) -> tuple[Any, ...]:
    """A YAML list (or a single value) as a tuple."""
    return (value,) if isinstance(value, str | int | float) else tuple(value or ())


class _KindConfig:
    """What every kind's config shares: a ``loop`` and the flat YAML form (loop keys beside the
    kind's own keys)."""

    loop: LoopConfig
    #: The kind's loop defaults (batch size, schedule, output folder).
    LOOP: ClassVar[LoopConfig]

    @classmethod
    def _convert(cls, data: dict[str, Any]) -> dict[str, Any]:
        """The kind's own options from YAML values (lists become tuples, nested configs)."""
        if "crop_size" in data:
            data["crop_size"] = _as_tuple(data["crop_size"])
        if "data" in data:
            data["data"] = _as_tuple(data["data"])
        return data

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        """Build from a parsed YAML mapping; unknown keys raise :class:`ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError("a training config must be a YAML mapping of option: value")
        own = {f.name for f in fields(cls)} - {"loop"}  # type: ignore[arg-type]
        refuse_unknown(own | LOOP_KEYS, data)
        options = {k: v for k, v in data.items() if k in own}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.type == "bool" and f.name in options and not isinstance(options[f.name], bool):
                raise ConfigError(f"{f.name} must be true or false, got {options[f.name]!r}")
        loop = {k: v for k, v in data.items() if k in LOOP_KEYS}
        if "lr_milestones" in loop:
            loop["lr_milestones"] = _as_tuple(loop["lr_milestones"])
        try:
            return cls(loop=replace(cls.LOOP, **loop), **cls._convert(options))  # type: ignore[call-arg]
        except TypeError as exc:
            raise ConfigError(f"invalid training config: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The flat YAML form as a plain dict (stored in ``config.json`` and checkpoints)."""
        d = asdict(self)  # type: ignore[call-overload]
        loop = d.pop("loop")
        d["data"] = [dict(e) if isinstance(e, dict) else e for e in d.get("data", ())]
        if "boundary_data" in d:
            d["boundary_data"] = [dict(e) if isinstance(e, dict) else e for e in d["boundary_data"]]
        return {**d, **loop}


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentations (RITM Sec. 5): rescale 0.75-1.40, crop, horizontal flip, colour jitter;
    ours: Gaussian pixel noise of standard deviation ``noise`` grey levels on every crop (0: off),
    which goes with a model's ``input_dither`` (:class:`~occseg.nn.ClickNetConfig`)."""

    scale_range: tuple[float, float] = (0.75, 1.40)
    flip: bool = True
    brightness: float = 0.25
    contrast: float = 0.15
    rgb_shift: float = 10.0
    noise: float = 0.0

    def __post_init__(self) -> None:
        if self.noise < 0:
            raise ConfigError(f"augment.noise must be at least 0 grey levels, got {self.noise}")

    min_object_pixels: int = 64
    crop_attempts: int = 10


@dataclass(frozen=True)
class TrainConfig(_KindConfig):
    """Options of ``occseg train clicks`` (RITM Sec. 5, "Implementation details").

    Attributes
    ----------
    model
        :class:`~occseg.nn.ClickNetConfig` options.
    data
        Source specs, each a dict with ``kind`` (see :data:`occseg.train.sources.SOURCES`)
        and that kind's options; an optional ``weight`` sets how often it is drawn. Kind
        ``proposals`` trains without masks (MIS, paper ``004``):
        ``{kind: proposals, images: FOLDER or [FOLDERS], features: colour | efficientnet,
        stride: 8, max_side: 640, alpha: 0.9, min_area: 0.05}``
        (:class:`~occseg.train.sources.ProposalSource`; only ``images`` is required).
    crop_size
        ``(height, width)`` of the training crops (RITM: 320×480).
    loss, aux_weight
        Loss name (:data:`occseg.nn.losses.LOSSES`; RITM: normalized focal) and the weight of the
        OCR auxiliary loss.
    smoothness_weight
        ``λ`` of MIS's smoothness constraint (paper ``004``, Eq. 7-8, λ = 10), added to the loss
        of the final logits with the batch images' bilateral affinity
        (:func:`occseg.nn.losses.smoothness_loss`); 0 (the default) leaves it out.
    max_iters
        ``N_iters`` of iterative sampling (RITM: 3); each batch draws ``0..max_iters`` rounds.
    clicks
        Options of the simulated user (:func:`occseg.simulate.make_simulator`).
    augment
        :class:`AugmentConfig` options.
    init
        Fine-tuning: the path of a click-model checkpoint whose weights start the run (e.g. the
        mask-free model of paper ``004``, then trained on masks: its Sec. 4.4 label
        efficiency); ``model:`` is then left out or equal to the checkpoint's options. A resumed
        run continues from its own ``last.pt``.
    loop
        The loop (:class:`LoopConfig`); RITM: batch 32 in total, Adam at 5e-4 with the backbone
        at 0.1 ×, ×0.1 at epochs 50 and 53 of 55.
    """

    LOOP: ClassVar[LoopConfig] = LoopConfig(
        backbone_lr_mult=0.1, lr_milestones=(0.9, 0.96), out="runs/clicknet"
    )

    model: dict[str, Any] = field(default_factory=dict)
    data: tuple[dict[str, Any], ...] = ()
    init: str | None = None
    crop_size: tuple[int, int] = (320, 480)
    loss: str = "nfl"
    aux_weight: float = 0.4
    smoothness_weight: float = 0.0
    max_iters: int = 3
    clicks: dict[str, Any] = field(default_factory=dict)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loop: LoopConfig = LOOP

    def __post_init__(self) -> None:
        try:
            self.model_config()
        except ValueError as exc:
            raise ConfigError(f"model: {exc}") from None
        if self.loss not in LOSSES:
            raise ConfigError(f"loss {self.loss!r} is unknown; choose one of {sorted(LOSSES)}")
        if len(self.crop_size) != 2 or min(self.crop_size) < 8:
            raise ConfigError(f"crop_size must be [height, width] >= 8, got {self.crop_size}")
        if self.max_iters < 0:
            raise ConfigError(f"max_iters must be >= 0, got {self.max_iters}")
        if not self.smoothness_weight >= 0:
            raise ConfigError(f"smoothness_weight must be >= 0, got {self.smoothness_weight}")
        for spec in self.data:
            if not isinstance(spec, dict) or "kind" not in spec:
                raise ConfigError(f"each data entry needs a 'kind', got {spec!r}")

    def model_config(self) -> ClickNetConfig:
        """The model's :class:`~occseg.nn.ClickNetConfig`."""
        return ClickNetConfig.from_dict(dict(self.model))

    @classmethod
    def _convert(cls, data: dict[str, Any]) -> dict[str, Any]:
        data = super()._convert(data)
        data["augment"] = _augment_config(data.pop("augment", None))
        return data


def _augment_config(options: dict[str, Any] | None) -> AugmentConfig:
    """The :class:`AugmentConfig` of a YAML ``augment:`` mapping (None: the defaults)."""
    augment = dict(options or {})
    refuse_unknown({f.name for f in fields(AugmentConfig)}, augment, "augment.")
    if "scale_range" in augment:
        augment["scale_range"] = tuple(augment["scale_range"])
    try:
        return AugmentConfig(**augment)
    except TypeError as exc:
        raise ConfigError(f"invalid augment options: {exc}") from None


@dataclass(frozen=True)
class BoundaryTrainConfig(_KindConfig):
    """Options of ``occseg train boundaries`` (paper ``000``, Sec. 3.2 "Training & Testing",
    Sec. 4.1 "Implementation Details"); see ``configs/obnet-cpu.yaml``.

    Attributes
    ----------
    model
        :class:`~occseg.nn.OBNetConfig` options.
    data
        Boundary data sets as ``KIND:PATH`` specs (:func:`occseg.data.open_boundary_dataset`),
        e.g. ``["synth:runs/synth-train"]``, or mappings ``{spec: KIND:PATH, split: NAME,
        weight: W, consensus: η, consensus_radius: R}``: ``split`` for kinds with splits
        (BSDS500 reads ``test`` unless told), ``weight`` the set's share of every batch (1 by
        default, :func:`occseg.train.boundaries.source_slots`), ``consensus`` and
        ``consensus_radius`` RCF's label rule for several annotators
        (:func:`occseg.train.boundaries.boundary_target`; without it the target is the union of
        the annotators' boundaries).
    crop_size
        ``(height, width)`` of the random training crops (images are zero-padded up to it).
    side_weight, neg_weight
        Weight of each side output's loss relative to the fused output's, and RCF's ``λ`` of
        the class-balanced cross-entropy (:func:`occseg.nn.losses.deep_supervision_loss`).
    fp_scribble_weight
        ``λ`` is multiplied by this under FP scribbles
        (:func:`occseg.train.boundaries.negative_weights`; 1 = the plain loss).
    stage2_epoch, stage2_step
        Stage 2 (segments from the model's own output) starts with epoch ``stage2_epoch``
        (paper: 5, i.e. after four stage-1 epochs; an epoch is one pass over the images at
        ``batch_size`` × processes per step), or at step ``stage2_step`` when given.
    threshold
        ``T`` (0.7, Sec. 4.1) applied to the NMS-thinned output to find the error segments of
        stage 2 (the previous output follows the model's ``prev_threshold``/``binary_prev``).
    max_segments, min_segment_length
        At most this many FN and FP segments per image (5), each longer than this many pixels.
    length_jitter, max_shift
        Scribble perturbation (:func:`occseg.simulate.scribbles.perturb_segment`).
    flip, colour_jitter
        Horizontal flips; brightness/contrast/RGB-shift jitter as in :class:`AugmentConfig`.
    init
        Fine-tuning: an OB checkpoint whose weights start the run (e.g. the shipped
        ``src/occseg/models/obnet.pt``); ``model:`` must give its options. A resumed run
        continues from its own ``last.pt``.
    loop
        The loop (:class:`LoopConfig`).
    """

    LOOP: ClassVar[LoopConfig] = LoopConfig(
        batch_size=4, steps=2000, lr_milestones=(0.8,), out="runs/obnet"
    )

    model: dict[str, Any] = field(default_factory=dict)
    data: tuple[str | dict[str, Any], ...] = ()
    crop_size: tuple[int, int] = (256, 256)
    side_weight: float = 1.0
    neg_weight: float = 1.0
    fp_scribble_weight: float = 1.0
    stage2_epoch: int = 5
    stage2_step: int | None = None
    threshold: float = 0.7
    max_segments: int = 5
    min_segment_length: int = 30
    length_jitter: float = 0.3
    max_shift: int = 3
    flip: bool = True
    colour_jitter: bool = True
    init: str | None = None
    loop: LoopConfig = LOOP

    def __post_init__(self) -> None:
        try:
            self.model_config()
        except ValueError as exc:
            raise ConfigError(f"model: {exc}") from None
        if len(self.crop_size) != 2 or min(self.crop_size) < 32:
            raise ConfigError(f"crop_size must be [height, width] >= 32, got {self.crop_size}")
        if self.stage2_epoch < 1:
            raise ConfigError(f"stage2_epoch must be >= 1, got {self.stage2_epoch}")
        if not 0 < self.threshold < 1:
            raise ConfigError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.max_segments < 0 or self.min_segment_length < 0:
            raise ConfigError("max_segments and min_segment_length must be >= 0")
        check_boundary_entries(self.data, "data")

    def model_config(self) -> OBNetConfig:
        """The model's :class:`~occseg.nn.OBNetConfig`."""
        return OBNetConfig.from_dict(dict(self.model))


def check_boundary_entries(entries: Sequence[str | dict[str, Any]], key: str) -> None:
    """Refuse a boundary data entry (under ``key``) that is neither a ``KIND:PATH`` string nor
    a ``{spec, split, weight, consensus, consensus_radius}`` mapping with valid values."""
    for entry in entries:
        spec = entry.get("spec") if isinstance(entry, dict) else entry
        keys = {"spec", "split", "weight", "consensus", "consensus_radius"}
        extra = set(entry) - keys if isinstance(entry, dict) else set()
        if not isinstance(spec, str) or ":" not in spec or extra:
            raise ConfigError(
                f"each {key} entry must be a KIND:PATH string or {{spec: KIND:PATH, split: "
                f"NAME, weight: W, consensus: η, consensus_radius: R}}, got {entry!r}"
            )
        if isinstance(entry, dict):
            _check_source_options(entry)


def _check_source_options(entry: dict[str, Any]) -> None:
    weight, consensus = entry.get("weight", 1.0), entry.get("consensus")
    if not isinstance(weight, (int, float)) or weight <= 0:
        raise ConfigError(f"data entry {entry['spec']!r}: weight must be > 0, got {weight!r}")
    if consensus is not None and not (isinstance(consensus, (int, float)) and 0 <= consensus < 1):
        raise ConfigError(
            f"data entry {entry['spec']!r}: consensus must be in [0, 1) (RCF uses 0.5), "
            f"got {consensus!r}"
        )
    radius = entry.get("consensus_radius", 0)
    if not isinstance(radius, int) or radius < 0:
        raise ConfigError(
            f"data entry {entry['spec']!r}: consensus_radius must be a whole number of pixels "
            f">= 0, got {radius!r}"
        )


def default_class_names() -> tuple[str, ...]:
    """Background + the procedural object kinds of ``occseg synth`` (sorted)."""
    from occseg.synth.scene import KIND_WEIGHTS

    return ("background", *sorted(KIND_WEIGHTS))


@dataclass(frozen=True)
class OrderTrainConfig(_KindConfig):
    """Options of ``occseg train order`` (paper 001, Sec. 3.1); see ``configs/ordernet-cpu.yaml``.

    Attributes
    ----------
    model
        :class:`~occseg.nn.ordernet.OrderNetConfig` options; ``class_names`` defaults to
        :func:`default_class_names`.
    data
        Folders written by ``occseg synth``.
    boundary_data
        Photographs with human boundaries that train head ``b`` alone (not in the paper, which
        trains on synthetic-like data only): boundary data sets in the ``data`` format of
        :class:`BoundaryTrainConfig` (``KIND:PATH`` or ``{spec, split, weight, consensus,
        consensus_radius}``); each set's ``weight`` is its share of every batch against the
        synthetic scenes' 1 (:func:`occseg.train.boundaries.source_slots`). Their pixels have
        no class and no orientation, so they count in ``CE_w`` of Eq. 4 only.
    crop_size
        ``(height, width)`` of the training crops (the paper: 225×225); images must be at
        least this large.
    flip
        Random horizontal flips.
    scale_range
        ``(low, high)``: each scene is rescaled by a factor drawn log-uniformly from it before
        the crop (:func:`occseg.train.order.rescale_targets`); None (the paper): no rescaling.
    boundary_weight
        ``w`` of the weighted boundary cross-entropy (Eq. 4; the paper: 0.9).
    self_occlusion_weight
        Weight in that cross-entropy of the self-occlusion pixels inside synthetic objects
        (:func:`occseg.occlusion.targets.self_occlusion_pixels`), negatives that look like
        boundaries; None (the paper) gives them ``1 - w`` like every other non-boundary pixel.
    init
        Start from an order checkpoint: every tensor whose name and shape the new model shares
        (:func:`occseg.train.order.initial_order_model`), e.g. a model extended by a decoder.
    loop
        The loop (:class:`LoopConfig`).
    """

    LOOP: ClassVar[LoopConfig] = LoopConfig(out="runs/ordernet")

    model: dict[str, Any] = field(default_factory=dict)
    data: tuple[str, ...] = ()
    boundary_data: tuple[str | dict[str, Any], ...] = ()
    crop_size: tuple[int, int] = (192, 192)
    flip: bool = True
    scale_range: tuple[float, float] | None = None
    boundary_weight: float = 0.9
    self_occlusion_weight: float | None = None
    init: str | None = None
    loop: LoopConfig = LOOP

    def __post_init__(self) -> None:
        try:
            self.model_config()
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"model: {exc}") from None
        if len(self.crop_size) != 2 or min(self.crop_size) < 16:
            raise ConfigError(f"crop_size must be [height, width] >= 16, got {self.crop_size}")
        if not 0 < self.boundary_weight < 1:
            raise ConfigError(f"boundary_weight must be in (0, 1), got {self.boundary_weight}")
        scales = self.scale_range
        if scales is not None and not (
            len(scales) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in scales)
            and 0 < scales[0] <= scales[1]
        ):
            raise ConfigError(
                f"scale_range must be [low, high] with 0 < low <= high, got {self.scale_range}"
            )
        if self.self_occlusion_weight is not None and not self.self_occlusion_weight > 0:
            raise ConfigError(
                f"self_occlusion_weight must be above 0 (or left out), got "
                f"{self.self_occlusion_weight}"
            )
        if not self.data:
            raise ConfigError("data must list at least one folder written by `occseg synth`")
        check_boundary_entries(self.boundary_data, "boundary_data")

    def model_config(self) -> OrderNetConfig:
        """The model's :class:`~occseg.nn.ordernet.OrderNetConfig`."""
        options = {"class_names": default_class_names(), **self.model}
        return OrderNetConfig.from_dict(options)

    @classmethod
    def _convert(cls, data: dict[str, Any]) -> dict[str, Any]:
        data = super()._convert(data)
        if "data" in data:
            data["data"] = tuple(str(r) for r in data["data"])
        if "boundary_data" in data:
            data["boundary_data"] = _as_tuple(data["boundary_data"])
        if data.get("scale_range") is not None:
            data["scale_range"] = _as_tuple(data["scale_range"])
        return data


#: The stages of ``occseg train twoinone`` (paper ``002``, Sec. 3.4: selection, then refinement).
TWOINONE_STAGES = ("selection", "refinement")


@dataclass(frozen=True)
class TwoInOneTrainConfig(_KindConfig):
    """Options of ``occseg train twoinone`` (paper ``002``, Sec. 3.3-3.4); one stage per run, see
    ``configs/twoinone-lite0.yaml`` (selection) and ``configs/twoinone-lite0-refine.yaml``.

    Attributes
    ----------
    stage
        ``selection``: train the selection network (the refinement network stays frozen as
        initialised); ``refinement``: start from the selection stage's checkpoint (``init``),
        freeze the selection network and train the refinement network.
    model
        :class:`~occseg.nn.twoinone.TwoInOneConfig` options (stage refinement: the ``init``
        checkpoint's, so leave it empty or repeat them exactly, except the refinement network's
        own options :data:`~occseg.nn.twoinone.REFINEMENT_OPTIONS`, e.g. ``residual: true``).
    init
        Stage refinement: the ``model.pt`` (or ``last.pt``) the selection stage wrote.
    encoder_init
        Stage selection, optional: a click-model checkpoint (``occseg train clicks``, encode-once,
        same EfficientNet-Lite and widths) whose image encoder (and, for ``fusion: late``, click
        decoder) starts the selection network instead of the ImageNet weights
        (:meth:`~occseg.nn.twoinone.TwoInOne.load_click_model`). Ours: the paper fine-tunes a
        pretrained DeepLab-v2; this gives short CPU runs a network that already segments
        objects.
    data, crop_size, augment
        Training sources (:data:`occseg.train.sources.SOURCES`), crop ``(height, width)`` and
        augmentations, as for ``occseg train clicks``.
    boundary_aware
        Minimise BA-CE (Eq. 3, the paper's loss for both networks); false: the class-balanced
        CB-CE of Eq. 1 (the baseline of Table 1).
    class_balanced
        Weigh the classes by their inverse frequency in the batch (Eq. 1, the paper's); false
        (ours): the plain mean cross-entropy (with the boundary term when ``boundary_aware``),
        see :func:`occseg.nn.losses.boundary_aware_ce`.
    selection_iou
        Stage refinement trains on instances whose selection IoU lies in this range (0.2-0.6).
    candidates
        Stage refinement: augmented instances drawn per batch slot; the slot takes the first
        whose selection IoU is in ``selection_iou`` (else the one nearest to the range). The
        paper picks its training instances by this IoU; drawing candidates during training is
        our way to do that with random augmentations (``in_range`` in the metrics log says how
        often a slot found one).
    click_window, click_weight
        The loss is multiplied by ``click_weight`` (2) in a ``click_window`` × ``click_window``
        (40 × 40) window around each refinement click.
    crop_pad, crop_threshold, crop_relative_pad
        The selection crop (:class:`occseg.selection_crop.CropRule`): padding in pixels,
        probability threshold (the paper's 0.001) and padding relative to the box's size (0).
        Recorded in the checkpoint, so the predictor crops as the model was trained.
    clicks
        Options of the training user (:class:`~occseg.simulate.BoundaryClickSimulator`; the
        defaults are the paper's: selection jitter 25, boundary jitter 10, m in 1-5 %, 2-4 clicks).
    loop
        The loop (:class:`LoopConfig`). The paper trains with SGD at a fixed rate; we keep the
        shared loop's Adam and, by default, a fixed rate (no milestones).
    """

    LOOP: ClassVar[LoopConfig] = LoopConfig(lr_milestones=(), out="runs/twoinone")

    stage: str = "selection"
    model: dict[str, Any] = field(default_factory=dict)
    init: str | None = None
    encoder_init: str | None = None
    data: tuple[dict[str, Any], ...] = ()
    crop_size: tuple[int, int] = (320, 480)
    boundary_aware: bool = True
    class_balanced: bool = True
    selection_iou: tuple[float, float] = (0.2, 0.6)
    candidates: int = 4
    click_window: int = 40
    click_weight: float = 2.0
    crop_pad: int = DEFAULT_PAD
    crop_threshold: float = CROP_THRESHOLD
    crop_relative_pad: float = 0.0
    clicks: dict[str, Any] = field(default_factory=dict)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loop: LoopConfig = LOOP

    def __post_init__(self) -> None:
        if self.stage not in TWOINONE_STAGES:
            raise ConfigError(
                f"stage must be one of {', '.join(TWOINONE_STAGES)}, got {self.stage!r}"
            )
        if self.stage == "refinement" and not self.init:
            raise ConfigError(
                "stage refinement needs init: the model.pt of a selection-stage run "
                "(`occseg train twoinone` with stage: selection)"
            )
        if self.stage == "refinement" and self.encoder_init:
            raise ConfigError(
                "encoder_init is for stage selection; the refinement stage starts from init"
            )
        try:
            self.model_config()
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"model: {exc}") from None
        try:
            self.simulator()
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"clicks: {exc}") from None
        if len(self.crop_size) != 2 or min(self.crop_size) < 16:
            raise ConfigError(f"crop_size must be [height, width] >= 16, got {self.crop_size}")
        low, high = self.selection_iou
        if not 0 <= low <= high <= 1:
            raise ConfigError(
                f"selection_iou must be [low, high] in [0, 1], got {self.selection_iou}"
            )
        if self.candidates < 1 or self.click_window < 1 or self.click_weight <= 0:
            raise ConfigError("candidates and click_window must be >= 1 and click_weight > 0")
        self.crop_rule()  # raises ConfigError for a bad threshold or padding
        for spec in self.data:
            if not isinstance(spec, dict) or "kind" not in spec:
                raise ConfigError(f"each data entry needs a 'kind', got {spec!r}")

    def model_config(self) -> TwoInOneConfig:
        """The model's :class:`~occseg.nn.twoinone.TwoInOneConfig` (from ``model`` alone)."""
        return TwoInOneConfig.from_dict(dict(self.model))

    def crop_rule(self) -> CropRule:
        """The selection crop of ``crop_threshold``, ``crop_pad`` and ``crop_relative_pad``."""
        return CropRule(self.crop_threshold, self.crop_pad, self.crop_relative_pad)

    def simulator(self, signed: bool = False) -> BoundaryClickSimulator:
        """The training user of ``clicks``; ``signed``: the PNR user, for a model whose
        ``refinement_clicks`` are ``signed``."""
        return BoundaryClickSimulator(**self.clicks, signed=signed)

    @classmethod
    def _convert(cls, data: dict[str, Any]) -> dict[str, Any]:
        data = super()._convert(data)
        if "selection_iou" in data:
            data["selection_iou"] = _as_tuple(data["selection_iou"])
        data["augment"] = _augment_config(data.pop("augment", None))
        return data


#: A training config of any kind.
AnyTrainConfig = TrainConfig | BoundaryTrainConfig | OrderTrainConfig | TwoInOneTrainConfig

#: ``occseg train KIND``: the config of each kind.
CONFIGS: dict[str, type[AnyTrainConfig]] = {
    "clicks": TrainConfig,
    "boundaries": BoundaryTrainConfig,
    "order": OrderTrainConfig,
    "twoinone": TwoInOneTrainConfig,
}


def refuse_unknown(known: Iterable[str], data: dict[str, Any], prefix: str = "") -> None:
    """Raise :class:`ConfigError` for keys of ``data`` that are not in ``known``."""
    known = set(known)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(prefix + str(u) for u in unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )


def read_yaml_config(path: str | os.PathLike, **overrides: Any) -> dict[str, Any]:
    """The mapping of a YAML config file; ``overrides`` (non-None values) replace top-level keys.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid YAML, or is not a mapping.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"training config {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a YAML mapping of option: value")
    data.update({k: v for k, v in overrides.items() if v is not None})
    return data


def load_config(kind: str, path: str | os.PathLike, **overrides: Any) -> AnyTrainConfig:
    """Read the YAML config of ``occseg train KIND`` (``clicks``, ``boundaries``, ``order`` or
    ``twoinone``).

    ``overrides`` (non-None values) replace top-level options, e.g. ``steps=10`` or ``out=DIR``.
    Relative paths in data specs are kept as written (relative to the working directory, like
    every other path on the command line).

    Raises
    ------
    ConfigError
        If the kind is unknown, or the file is missing, is not valid YAML, or has unknown or
        invalid options.
    """
    if kind not in CONFIGS:
        raise ConfigError(f"unknown training kind {kind!r}; choose one of {', '.join(CONFIGS)}")
    return CONFIGS[kind].from_dict(read_yaml_config(path, **overrides))


def add_image_folders(config: AnyTrainConfig, folders: Sequence[str | os.PathLike]) -> TrainConfig:
    """``config`` with one more data entry that trains on the photos of ``folders`` without
    masks (``occseg train clicks --images DIR``; MIS, paper ``004``).

    The entry is ``{kind: proposals, images: [FOLDERS]}`` with the proposal options
    (``features``, ``stride``, ...) of the config's first ``proposals`` entry, if any, so that
    every tree is built the same way; its weight is 1, as for every entry that names none.

    Raises
    ------
    ConfigError
        If ``config`` is not a click-model config (kind ``clicks``).
    """
    if not isinstance(config, TrainConfig):
        raise ConfigError(
            "--images adds photos without masks to the training data of kind clicks only; "
            "leave it out for this kind"
        )
    like = next((dict(e) for e in config.data if e.get("kind") == "proposals"), {})
    like.pop("weight", None)
    entry = {**like, "kind": "proposals", "images": [str(f) for f in folders]}
    return replace(config, data=(*config.data, entry))
