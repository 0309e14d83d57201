"""The Two-in-One predictor: one selection click, then boundary clicks (paper ``002``, Fig. 2).

Behind the :class:`~occseg.predictor.Predictor` protocol, with boundary clicks as a second kind
of interaction (``supports_boundary_clicks``):

* the **first** interaction is a positive :class:`~occseg.types.Click`, the selection click: the
  selection network (Sec. 3.1) sees the image with a Gaussian (σ from the model config) at the
  click and returns the full-image probability and its features;
* every **later** interaction is a :class:`~occseg.types.BoundaryClick` on the object's boundary:
  the refinement network (Sec. 3.2) sees the features inside the selection crop (Sec. 4.2:
  ``sigmoid > 0.001``, padded; the model's :class:`~occseg.selection_crop.CropRule`, stretched
  to hold the boundary clicks) and one Gaussian channel of all boundary clicks so far; its crop
  logits are resized to the crop and replace the selection probability there (outside the crop
  the selection probability is at most the crop threshold by construction of the crop). A
  residual model's correction is resized and added to the selection logits instead.

A model trained with positive/negative refinement clicks (``refinement_clicks: signed``, the
paper's PNR variant) takes :class:`~occseg.types.Click` of either sign after the selection click
instead, and then does not declare ``supports_boundary_clicks``.

The refinement network has no previous-mask input, so ``prev_prob`` is checked but not used; each
prediction depends on the clicks alone. The selection network takes the click as input, so the
expensive pass cannot run in :meth:`TwoInOnePredictor.set_image`: it runs once per selection
click (kept while the selection click stays the same; a late-fusion model encodes the image at
its first selection click and then runs only its click decoder) and every boundary click then
runs the small refinement network only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from occseg.encode import gaussian_channel, refinement_channels
from occseg.errors import InteractionError
from occseg.nn.twoinone import TwoInOne
from occseg.predictor import check_clicks, check_image
from occseg.selection_crop import Box, CropRule
from occseg.types import BoundaryClick, Click

__all__ = ["TwoInOnePredictor", "check_boundary_interactions"]


def check_boundary_interactions(
    interactions: Sequence[Any], shape: tuple[int, int], signed: bool = False
) -> None:
    """Raise :class:`InteractionError` unless ``interactions`` are a positive selection click
    followed by boundary clicks (``signed``: by clicks of either sign), all inside an image of
    ``shape`` (H, W)."""
    if not interactions:
        raise InteractionError("predict needs at least one click: the selection click")
    check_clicks(interactions, shape)
    first = interactions[0]
    if not (isinstance(first, Click) and first.positive):
        raise InteractionError(
            f"a two-in-one model starts with a positive click that selects the object, got {first}"
        )
    for c in interactions[1:]:
        if signed and not isinstance(c, Click):
            raise InteractionError(
                f"this two-in-one model refines with positive and negative clicks, got {c}; "
                "give Click(y, x, positive)"
            )
        if not signed and not isinstance(c, BoundaryClick):
            raise InteractionError(
                "after the selection click a two-in-one model takes boundary clicks only, got "
                f"{c}; give BoundaryClick(y, x) (in `occseg eval clicks`: --interaction boundary)"
            )


class TwoInOnePredictor:
    """Selection + boundary-click refinement over a trained :class:`~occseg.nn.twoinone.TwoInOne`.

    Parameters
    ----------
    model
        A model, or the path of a checkpoint (format ``occseg.twoinone``, written by
        ``occseg train twoinone``).
    pad
        Padding of the selection crop in pixels (:func:`occseg.selection_crop.selection_box`);
        None: the ``crop_pad`` the checkpoint was trained with (else the default, 20). The
        crop's threshold and relative padding are always the checkpoint's (:attr:`crop`).

    Examples
    --------
    >>> p = TwoInOnePredictor("model.pt")                                    # doctest: +SKIP
    >>> p.set_image(image)                                                   # doctest: +SKIP
    >>> prob = p.predict([Click(120, 200, True)])                            # doctest: +SKIP
    >>> prob = p.predict([Click(120, 200, True), BoundaryClick(80, 260)])    # doctest: +SKIP
    """

    #: The mask is ``prob > threshold`` (the networks are trained with cross-entropy).
    threshold = 0.5

    def __init__(self, model: TwoInOne | str | os.PathLike, *, pad: int | None = None) -> None:
        crop = CropRule()
        if isinstance(model, TwoInOne):
            net = model
        else:
            from occseg.checkpoint import TWOINONE_FORMAT, model_from_payload, read_checkpoint

            payload = read_checkpoint(model, TWOINONE_FORMAT)
            net = model_from_payload(payload)
            crop = CropRule.from_train_config(payload.get("train_config") or {})
        self.model = net.eval()
        #: Later interactions are boundary clicks (read by the app and ``--interaction
        #: boundary``); False for a model refined with positive/negative clicks.
        self.supports_boundary_clicks = not net.config.signed_clicks
        #: ... and only boundary clicks (``eval clicks`` refuses the positive/negative user).
        self.boundary_clicks_only = self.supports_boundary_clicks
        #: How the selection is cropped (the checkpoint's rule; ``pad`` overrides its padding).
        self.crop = crop if pad is None else replace(crop, pad=int(pad))
        self._image: torch.Tensor | None = None
        self._encoded: torch.Tensor | None = None
        self._selection: tuple[Click, torch.Tensor, torch.Tensor, np.ndarray] | None = None

    @property
    def pad(self) -> int:
        """Padding of the selection crop in pixels."""
        return self.crop.pad

    def set_image(self, image: np.ndarray) -> None:
        """Hold a new ``H×W×3 uint8`` RGB image (forgets the previous selection)."""
        image = check_image(image)
        self._image = torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32) / 255.0)[None]
        self._encoded = None
        self._selection = None

    def _selection_pass(self, guidance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The selection network's ``(logits, features)``; a late-fusion model encodes the
        image once and runs only its click decoder for each new selection click."""
        assert self._image is not None
        selection = self.model.selection
        if selection.decoder is None:
            return selection(self._image, guidance)
        if self._encoded is None:
            self._encoded = selection.encode(self._image)
        return selection.decode(self._encoded, self._image, guidance)

    @torch.inference_mode()
    def _select(self, click: Click) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """Selection logits ``1×1×H×W``, features and probability ``H×W`` of ``click``
        (computed once per click)."""
        if self._selection is None or self._selection[0] != click:
            assert self._image is not None
            shape = (self._image.shape[-2], self._image.shape[-1])
            guidance = gaussian_channel([click], shape, self.model.config.sigma)
            logits, features = self._selection_pass(torch.from_numpy(guidance)[None, None])
            logits = logits.float()
            prob = np.ascontiguousarray(torch.sigmoid(logits)[0, 0].numpy(), np.float32)
            self._selection = (click, logits, features, prob)
        _, logits, features, prob = self._selection
        return logits, features, prob

    @torch.inference_mode()
    def _refine(
        self, logits: torch.Tensor, features: torch.Tensor, clicks: Sequence[Any], box: Box
    ) -> torch.Tensor:
        """The logits ``1×1×H×W`` with the crop ``box`` refined by the boundary ``clicks``."""
        assert self._image is not None
        shape = (self._image.shape[-2], self._image.shape[-1])
        y0, y1, x0, x1 = box
        config = self.model.config
        channels = refinement_channels(clicks, shape, config.sigma, config.signed_clicks)
        boxes = torch.tensor([[y0, y1, x0, x1]], dtype=torch.float32)
        crop = self.model.refine(features, torch.from_numpy(channels)[None], boxes, shape, logits)
        # The RoIAlign grid's cells are the crop's pixels scaled by size/S: resizing with
        # half-pixel centres (align_corners=False) puts each cell back where it was sampled.
        crop = F.interpolate(crop, size=(y1 - y0, x1 - x0), mode="bilinear", align_corners=False)
        out = logits.clone()
        if config.residual:  # a correction to the full-resolution selection logits
            out[..., y0:y1, x0:x1] += crop
        else:
            out[..., y0:y1, x0:x1] = crop
        return out

    def predict(self, clicks: Sequence[Any], prev_prob: np.ndarray | None = None) -> np.ndarray:
        """Object probability (``H×W float32``) of the selection click and the refinement
        clicks.

        Raises
        ------
        InteractionError
            Before :meth:`set_image`; without clicks; for a click outside the image; when the
            first interaction is not a positive click or a later one not a boundary click; for
            a ``prev_prob`` of another shape than the image.
        """
        if self._image is None:
            raise InteractionError("call set_image(image) before predict(clicks)")
        shape = (self._image.shape[-2], self._image.shape[-1])
        check_boundary_interactions(clicks, shape, self.model.config.signed_clicks)
        if prev_prob is not None and np.shape(prev_prob) != shape:
            raise InteractionError(
                f"prev_prob has shape {np.shape(prev_prob)} but the image is {shape}; "
                "pass the previous prediction for this image (or None)"
            )
        logits, features, prob = self._select(clicks[0])
        if len(clicks) == 1:
            return prob.copy()  # the cached selection stays the caller's to change
        box = self.crop.box(prob, clicks[0], clicks[1:])
        refined = self._refine(logits, features, clicks[1:], box)
        return np.ascontiguousarray(torch.sigmoid(refined)[0, 0].numpy(), np.float32)

    def __repr__(self) -> str:
        cfg = self.model.config
        return (
            f"TwoInOnePredictor(backbone={cfg.backbone!r}, width_mult={cfg.width_mult}, "
            f"fusion={cfg.fusion!r}, residual={cfg.residual}, crop={self.crop})"
        )
