"""Training configuration of the click model, read from a small YAML file.

Every option has a default from RITM (Sec. 5, "Implementation details") unless the CPU budget
asks otherwise; see ``configs/clicknet-hrnet18s-cpu.yaml`` for an annotated example::

    model: {backbone: hrnet18s, width_mult: 0.5}        # ClickNetConfig fields
    data:                                               # training target sources
      - {kind: bsds500, root: ../shared/data/bsds500, splits: [train, val]}
    crop_size: [288, 288]
    steps: 20000
    out: runs/clicknet-hrnet18s-cpu

Unknown keys are refused (a typo must not silently train the wrong model).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from occseg.errors import ConfigError
from occseg.nn.clicknet import ClickNetConfig
from occseg.nn.losses import LOSSES
from occseg.nn.obnet import OBNetConfig


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentations (RITM Sec. 5): rescale 0.75-1.40, crop, horizontal flip, colour jitter."""

    scale_range: tuple[float, float] = (0.75, 1.40)
    flip: bool = True
    brightness: float = 0.25
    contrast: float = 0.15
    rgb_shift: float = 10.0
    min_object_pixels: int = 64
    crop_attempts: int = 10


@dataclass(frozen=True)
class TrainConfig:
    """Options of ``occseg train clicks`` (see the module docstring for the YAML form).

    Attributes
    ----------
    model
        :class:`~occseg.nn.ClickNetConfig` options.
    data
        Source specs, each a dict with ``kind`` (see :data:`occseg.train.sources.SOURCES`)
        and that kind's options; an optional ``weight`` sets how often it is drawn.
    crop_size
        ``(height, width)`` of the training crops (RITM: 320×480).
    batch_size
        Samples per step **per process** (RITM: 32 in total).
    steps
        Optimisation steps.
    lr, backbone_lr_mult
        Adam learning rate (RITM: 5e-4) and the backbone's multiplier (RITM: 0.1).
    lr_milestones, lr_gamma
        The rate is multiplied by ``lr_gamma`` at these fractions of ``steps`` (RITM: epochs 50
        and 53 of 55).
    loss, aux_weight
        Loss name (:data:`occseg.nn.losses.LOSSES`; RITM: normalized focal) and the weight of the
        OCR auxiliary loss.
    max_iters
        ``N_iters`` of iterative sampling (RITM: 3); each batch draws ``0..max_iters`` rounds.
    clicks
        Options of the simulated user (:func:`occseg.simulate.make_simulator`).
    seed, workers, threads
        Seed of every random choice; data-loading worker processes; torch threads (None:
        torch's default).
    log_every, checkpoint_every
        Steps between metric lines and between checkpoints.
    out
        Output folder: ``last.pt`` (resumable), ``model.pt`` (weights only), ``metrics.jsonl``.
    """

    model: dict[str, Any] = field(default_factory=dict)
    data: tuple[dict[str, Any], ...] = ()
    crop_size: tuple[int, int] = (320, 480)
    batch_size: int = 8
    steps: int = 1000
    lr: float = 5e-4
    backbone_lr_mult: float = 0.1
    lr_milestones: tuple[float, ...] = (0.9, 0.96)
    lr_gamma: float = 0.1
    weight_decay: float = 0.0
    loss: str = "nfl"
    aux_weight: float = 0.4
    max_iters: int = 3
    clicks: dict[str, Any] = field(default_factory=dict)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    workers: int = 0
    threads: int | None = None
    log_every: int = 10
    checkpoint_every: int = 200
    out: str = "runs/clicknet"

    def __post_init__(self) -> None:
        try:
            self.model_config()
        except ValueError as exc:
            raise ConfigError(f"model: {exc}") from None
        if self.loss not in LOSSES:
            raise ConfigError(f"loss {self.loss!r} is unknown; choose one of {sorted(LOSSES)}")
        if len(self.crop_size) != 2 or min(self.crop_size) < 8:
            raise ConfigError(f"crop_size must be [height, width] >= 8, got {self.crop_size}")
        if self.batch_size < 1 or self.steps < 1 or self.max_iters < 0:
            raise ConfigError("batch_size and steps must be >= 1 and max_iters >= 0")
        for spec in self.data:
            if not isinstance(spec, dict) or "kind" not in spec:
                raise ConfigError(f"each data entry needs a 'kind', got {spec!r}")

    def model_config(self) -> ClickNetConfig:
        """The model's :class:`~occseg.nn.ClickNetConfig`."""
        return ClickNetConfig.from_dict(dict(self.model))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (stored in checkpoints)."""
        d = asdict(self)
        d["data"] = [dict(s) for s in self.data]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a parsed YAML mapping; unknown keys raise :class:`ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError("a training config must be a YAML mapping of option: value")
        data = dict(data)
        refuse_unknown(cls, data, "")
        augment = data.pop("augment", None) or {}
        refuse_unknown(AugmentConfig, augment, "augment.")
        for key in ("crop_size", "lr_milestones"):
            if key in data:
                data[key] = tuple(data[key])
        if "scale_range" in augment:
            augment = {**augment, "scale_range": tuple(augment["scale_range"])}
        data["data"] = tuple(data.get("data") or ())
        try:
            return cls(augment=AugmentConfig(**augment), **data)
        except TypeError as exc:
            raise ConfigError(f"invalid training config: {exc}") from None


def refuse_unknown(cls: type, data: dict[str, Any], prefix: str = "") -> None:
    """Raise :class:`ConfigError` for keys of ``data`` that are not fields of dataclass ``cls``."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(prefix + u for u in unknown)}; "
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
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a YAML mapping of option: value")
    data.update({k: v for k, v in overrides.items() if v is not None})
    return data


def load_train_config(path: str | os.PathLike, **overrides: Any) -> TrainConfig:
    """Read a YAML training config; ``overrides`` (non-None values) replace top-level options.

    Relative ``root``/``annotations``/``images`` paths in data specs are kept as written
    (relative to the working directory, like every other path on the command line).

    Raises
    ------
    ConfigError
        If the file is missing, is not valid YAML, or has unknown or invalid options.
    """
    return TrainConfig.from_dict(read_yaml_config(path, **overrides))


@dataclass(frozen=True)
class BoundaryTrainConfig:
    """Options of ``occseg train boundaries`` (paper ``000``, Sec. 3.2 "Training & Testing",
    Sec. 4.1 "Implementation Details"); see ``configs/obnet-cpu.yaml``.

    Attributes
    ----------
    model
        :class:`~occseg.nn.OBNetConfig` options.
    data
        Boundary data sets as ``KIND:PATH`` specs (:func:`occseg.data.open_boundary_dataset`),
        e.g. ``["synth:runs/synth-train"]``, or mappings ``{spec: KIND:PATH, split: NAME}``
        for kinds with splits (BSDS500 reads ``test`` unless told); the target of a sample is
        the union of its annotators' boundaries.
    crop_size
        ``(height, width)`` of the random training crops (images are zero-padded up to it).
    batch_size, steps
        Samples per step per process; optimisation steps.
    lr, backbone_lr_mult, lr_milestones, lr_gamma, weight_decay
        Adam and its step decay (as for the click model).
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
    seed, workers, threads, log_every, checkpoint_every, out
        As for the click model.
    """

    model: dict[str, Any] = field(default_factory=dict)
    data: tuple[str | dict[str, str], ...] = ()
    crop_size: tuple[int, int] = (256, 256)
    batch_size: int = 4
    steps: int = 2000
    lr: float = 5e-4
    backbone_lr_mult: float = 1.0
    lr_milestones: tuple[float, ...] = (0.8,)
    lr_gamma: float = 0.1
    weight_decay: float = 0.0
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
    seed: int = 0
    workers: int = 0
    threads: int | None = None
    log_every: int = 10
    checkpoint_every: int = 200
    out: str = "runs/obnet"

    def __post_init__(self) -> None:
        try:
            self.model_config()
        except ValueError as exc:
            raise ConfigError(f"model: {exc}") from None
        if len(self.crop_size) != 2 or min(self.crop_size) < 32:
            raise ConfigError(f"crop_size must be [height, width] >= 32, got {self.crop_size}")
        if self.batch_size < 1 or self.steps < 1 or self.stage2_epoch < 1:
            raise ConfigError("batch_size, steps and stage2_epoch must be >= 1")
        if not 0 < self.threshold < 1:
            raise ConfigError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.max_segments < 0 or self.min_segment_length < 0:
            raise ConfigError("max_segments and min_segment_length must be >= 0")
        for entry in self.data:
            spec = entry.get("spec") if isinstance(entry, dict) else entry
            extra = set(entry) - {"spec", "split"} if isinstance(entry, dict) else set()
            if not isinstance(spec, str) or ":" not in spec or extra:
                raise ConfigError(
                    "each data entry must be a KIND:PATH string or {spec: KIND:PATH, split: "
                    f"NAME}}, got {entry!r}"
                )

    def model_config(self) -> OBNetConfig:
        """The model's :class:`~occseg.nn.OBNetConfig`."""
        return OBNetConfig.from_dict(dict(self.model))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (stored in checkpoints)."""
        d = asdict(self)
        d["data"] = [dict(e) if isinstance(e, dict) else e for e in self.data]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoundaryTrainConfig:
        """Build from a parsed YAML mapping; unknown keys raise :class:`ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError("a training config must be a YAML mapping of option: value")
        data = dict(data)
        refuse_unknown(cls, data)
        for key in ("crop_size", "lr_milestones", "data"):
            if key in data:
                value = data[key]
                data[key] = (value,) if isinstance(value, str) else tuple(value or ())
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"invalid training config: {exc}") from None


def load_boundary_config(path: str | os.PathLike, **overrides: Any) -> BoundaryTrainConfig:
    """Read a YAML config of ``occseg train boundaries`` (see :class:`BoundaryTrainConfig`).

    Raises
    ------
    ConfigError
        If the file is missing, is not valid YAML, or has unknown or invalid options.
    """
    return BoundaryTrainConfig.from_dict(read_yaml_config(path, **overrides))
