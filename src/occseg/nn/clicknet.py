"""The click-interactive segmentation network of RITM (Sofiiuk et al., 2022, Sec. 3.1-3.3).

Inputs: an RGB image in [0, 1], the encoded interactions (positive/negative disks of radius 5 by
default) and the previous mask (Sec. 3.3: the third interaction channel, zero for the first
click). The interaction maps enter the backbone either by **Conv1S** (a small convolution block
whose output has the shape of the stem's first convolution block and is summed with it — RITM's
choice) or by **Conv1E** (concatenated to the image before the first convolution; the ablation of
Table 1). The body (HRNet+OCR, ResNet+DeepLabV3+ or EfficientNet-Lite+FPN) yields features at
1/4 resolution; a 1×1 head gives logits that are bilinearly upsampled to the input size.

A third fusion, ``"late"`` (ours, :mod:`occseg.nn.late_fusion`), keeps the clicks out of the
body: :meth:`ClickNet.encode` runs once per image, :meth:`ClickNet.decode` once per click.

:class:`ClickNetConfig` describes a model completely, so a checkpoint holding it (see
:mod:`occseg.nn.checkpoint`) rebuilds the model alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from occseg.encode import ENCODERS, InteractionEncoder, make_encoder
from occseg.nn.backbones import BODY_NAMES, build_body
from occseg.nn.backbones.base import ImageNormalize, resize_to
from occseg.nn.late_fusion import ClickDecoder, LocalRefiner

#: Default parameter of each click encoding (disk radius 5, RITM Table 1; DT truncation 255).
DEFAULT_ENCODING_PARAM = {"disk": 5.0, "distance": 255.0, "gaussian": 10.0}
#: How the interaction maps enter the network.
FUSIONS = ("conv1s", "conv1e", "late")


@dataclass(frozen=True)
class ClickNetConfig:
    """Everything needed to rebuild a :class:`ClickNet` (stored in every checkpoint).

    Attributes
    ----------
    backbone
        ``hrnet18s`` (default), ``hrnet18``, ``hrnet32``, ``resnet18``, ``resnet34``, ``resnet50``,
        ``efficientnet_lite0/1/2`` (with a feature pyramid; ImageNet weights via ``pretrained``).
    width_mult
        Width multiplier of the backbone (1.0 = paper widths).
    ocr_width
        HRNet only; None = the paper's 48/64/128 scaled by ``width_mult``.
    fusion
        ``"conv1s"`` (RITM), ``"conv1e"`` (ablation) or ``"late"`` (encode once, decode per
        click; :mod:`occseg.nn.late_fusion`).
    interaction
        Interaction type, a key of :data:`occseg.nn.inputs.ENCODERS` (``"clicks"``).
    encoding
        ``"disk"`` (RITM), ``"distance"`` or ``"gaussian"``.
    encoding_param
        Disk radius / DT truncation / sigma; None = :data:`DEFAULT_ENCODING_PARAM`.
    prev_mask
        Feed the previous mask as an extra channel (RITM Sec. 3.3).
    conv1s_hidden
        Width of the Conv1S block's first 1×1 convolution (16 in RITM's code).
    conv1s_scale
        Initial value of the Conv1S block's learnable output scale (0.05 in RITM's code, chosen
        not to disturb a pre-trained backbone; from random initialisation a larger value lets
        the clicks act sooner).
    decoder_width
        Late fusion only: width of the per-click decoder.
    refine_window
        Late fusion only: side of the window around the latest click in which the predictor
        runs the full-resolution refinement (at least 16; training refines whole crops).
    input_dither
        Standard deviation, in grey levels, of a fixed Gaussian dither the predictor adds to the
        image before the network sees it (0: none; ours, not RITM's). An ImageNet trunk on an
        exactly constant region is in a state photographs, which always carry sensor noise,
        never produce (the features at stride 32 change by about 78 % under noise of one grey
        level); with the dither, flat drawings look like photographs of them. Train such a
        model with the same noise (``augment.noise``). Exported ONNX graphs leave it out.
    pretrained
        The trainer initialised the backbone from packaged ImageNet weights
        (:meth:`ClickNet.load_pretrained`). Recorded for the record; rebuilding a model from a
        checkpoint never loads them (the checkpoint holds the trained weights).
    """

    backbone: str = "hrnet18s"
    width_mult: float = 1.0
    ocr_width: int | None = None
    fusion: str = "conv1s"
    interaction: str = "clicks"
    encoding: str = "disk"
    encoding_param: float | None = None
    prev_mask: bool = True
    conv1s_hidden: int = 16
    conv1s_scale: float = 0.05
    decoder_width: int = 64
    refine_window: int = 192
    input_dither: float = 0.0
    pretrained: bool = False

    def __post_init__(self) -> None:
        if self.backbone not in BODY_NAMES:
            raise ValueError(f"backbone must be one of {BODY_NAMES}, got {self.backbone!r}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.interaction not in ENCODERS:
            raise ValueError(f"interaction must be one of {sorted(ENCODERS)}")
        if self.refine_window < 16:
            raise ValueError(f"refine_window must be at least 16, got {self.refine_window}")
        if self.input_dither < 0:
            raise ValueError(f"input_dither must be at least 0, got {self.input_dither}")
        if not self.width_mult > 0:
            raise ValueError(f"width_mult must be positive, got {self.width_mult}")
        self.make_encoder()  # validates the encoding

    @property
    def param(self) -> float:
        """The encoding parameter actually used."""
        if self.encoding_param is not None:
            return float(self.encoding_param)
        return DEFAULT_ENCODING_PARAM.get(self.encoding, 5.0)

    def make_encoder(self) -> InteractionEncoder:
        """The encoder turning interactions into this model's interaction maps."""
        return make_encoder(self.interaction, self.encoding, self.param)

    @property
    def interaction_channels(self) -> int:
        """Interaction-map channels the model takes (without the previous mask)."""
        return self.make_encoder().channels

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` (JSON/YAML-safe)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClickNetConfig:
        """Build from a dict, refusing unknown keys (a typo must not pass silently)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model option(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


class ScaleLayer(nn.Module):
    """Multiply by one learnable scalar (RITM's Conv1S block ends with one, initial 0.05)."""

    def __init__(self, init: float = 0.05) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def conv1s_block(cin: int, hidden: int, stem_channels: int, scale: float = 0.05) -> nn.Sequential:
    """The Conv1S block: 1×1 conv, LeakyReLU(0.2), 3×3 stride-2 conv to the stem's width, scale.

    Its output has the shape of the backbone's first convolution block (stride 2) and is summed
    with it (RITM Sec. 3.1, Fig. 3).
    """
    return nn.Sequential(
        nn.Conv2d(cin, hidden, 1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(hidden, stem_channels, 3, stride=2, padding=1),
        ScaleLayer(scale),
    )


class ClickNet(nn.Module):
    """Interactive segmentation network (RITM). Build with ``ClickNet(ClickNetConfig(...))``.

    ``forward(image, maps, prev=None)`` takes ``image`` ``B×3×H×W`` in [0, 1], ``maps``
    ``B×C×H×W`` (``C = config.interaction_channels``) and ``prev`` ``B×1×H×W`` (the previous
    probability or mask; zeros if None) and returns logits ``B×1×H×W``.
    :meth:`forward_with_aux` also returns the OCR auxiliary logits (for the training loss).
    """

    def __init__(self, config: ClickNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ClickNetConfig()
        n_maps = config.interaction_channels + int(config.prev_mask)
        in_channels = 3 + n_maps if config.fusion == "conv1e" else 3
        self.body = build_body(config.backbone, config.width_mult, in_channels, config.ocr_width)
        self.maps_block: nn.Module | None = None
        if config.fusion == "conv1s":
            self.maps_block = conv1s_block(
                n_maps, config.conv1s_hidden, self.body.stem_channels, config.conv1s_scale
            )
        self.decoder: ClickDecoder | None = None
        self.refiner: LocalRefiner | None = None
        if config.fusion == "late":
            self.decoder = ClickDecoder(self.body.out_channels, n_maps, config.decoder_width)
            self.refiner = LocalRefiner(n_maps)
        else:
            self.head = nn.Conv2d(self.body.out_channels, 1, 1)
        self.normalize = ImageNormalize(self.body.image_mean, self.body.image_std)

    def load_pretrained(self) -> None:
        """Load the backbone's packaged ImageNet weights (EfficientNet-Lite bodies only).

        Raises
        ------
        ValueError
            If the backbone has no packaged weights.
        """
        load = getattr(self.body, "load_imagenet", None)
        if load is None:
            raise ValueError(
                f"backbone {self.config.backbone!r} has no packaged ImageNet weights; "
                "use an efficientnet_lite* backbone or pretrained: false"
            )
        load()

    def backbone_parameters(self) -> list[nn.Parameter]:
        """The backbone's parameters (RITM trains them at 1/10 of the learning rate)."""
        return self.body.backbone_parameters()

    def other_parameters(self) -> list[nn.Parameter]:
        """Every parameter that is not in :meth:`backbone_parameters`."""
        ids = {id(p) for p in self.backbone_parameters()}
        return [p for p in self.parameters() if id(p) not in ids]

    def _inputs(
        self, image: torch.Tensor, maps: torch.Tensor, prev: torch.Tensor | None
    ) -> torch.Tensor:
        if self.config.prev_mask:
            if prev is None:
                prev = image.new_zeros((image.shape[0], 1, *image.shape[2:]))
            maps = torch.cat([maps, prev], dim=1)
        return maps

    @property
    def encodes_once(self) -> bool:
        """Whether :meth:`encode` / :meth:`decode` split the work (late fusion)."""
        return self.decoder is not None

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """Late fusion: the per-image features ``B×F×H/4×W/4`` of ``image`` (``B×3×H×W``)."""
        if not self.encodes_once:
            raise ValueError(
                f"fusion {self.config.fusion!r} needs the clicks to encode; use forward"
            )
        return self.body(self.normalize(image))[0]

    def decode(
        self,
        features: torch.Tensor,
        image: torch.Tensor,
        maps: torch.Tensor,
        prev: torch.Tensor | None = None,
        window: tuple[slice, slice] | None = None,
    ) -> torch.Tensor:
        """Late fusion: logits ``B×1×H×W`` from cached :meth:`encode` features and the clicks.

        ``window`` (rows, columns) limits the full-resolution refinement to that region; its
        output there equals a whole-image pass except within ``LocalRefiner.halo`` pixels of the
        window's inner edges. None refines everywhere (training).
        """
        if self.decoder is None or self.refiner is None:
            raise ValueError(f"fusion {self.config.fusion!r} has no per-click decoder")
        maps = self._inputs(image, maps, prev)
        logits = resize_to(self.decoder(features, maps), image)
        rgb = self.normalize(image)
        if window is None:
            return self.refiner(rgb, logits, maps)
        ys, xs = window
        local = self.refiner(rgb[..., ys, xs], logits[..., ys, xs], maps[..., ys, xs])
        logits = logits.clone()
        logits[..., ys, xs] = local
        return logits

    def forward_with_aux(
        self, image: torch.Tensor, maps: torch.Tensor, prev: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return ``(logits, aux_logits)`` at input resolution (``aux`` None without OCR)."""
        if self.encodes_once:
            return self.decode(self.encode(image), image, maps, prev), None
        x = self.normalize(image)
        maps = self._inputs(image, maps, prev)
        if self.maps_block is None:  # Conv1E
            feats, aux = self.body(torch.cat([x, maps], dim=1))
        else:  # Conv1S
            feats, aux = self.body(x, self.maps_block(maps))
        logits = resize_to(self.head(feats), image)
        return logits, (resize_to(aux, image) if aux is not None else None)

    def forward(
        self,
        image: torch.Tensor,
        maps: torch.Tensor,
        prev: torch.Tensor | None = None,
        with_aux: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """Logits ``B×1×H×W``; with ``with_aux``, ``(logits, aux_logits)`` as
        :meth:`forward_with_aux` (so that a ``DistributedDataParallel`` wrapper, which only
        synchronises calls through ``forward``, can train the auxiliary head too)."""
        logits, aux = self.forward_with_aux(image, maps, prev)
        return (logits, aux) if with_aux else logits
