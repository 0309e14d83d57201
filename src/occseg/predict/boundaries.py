"""The learned occlusion-boundary predictor: an :class:`~occseg.nn.OBNet` on whole images.

Inference in two steps (paper ``000``, Sec. 3.2 "Training & Testing"):

1. **automatic**: the image with all-zero FN-FP maps and an all-zero previous output;
2. **interactive**: the image, the FN-FP maps of the user's scribbles (each polyline dilated by
   a disk of the model's ``scribble_radius``, 12 by default) and the previous output made from
   step 1 by :func:`previous_output` (NMS, then values below ``T`` = 0.7 set to 0).

Scribbles come from a person (``occseg boundaries IMAGE --scribbles FILE``, format in
:mod:`occseg.io.scribbles`) or from the simulated user (:mod:`occseg.simulate.scribbles`, used
by the evaluation protocol in :mod:`occseg.eval.interactive_boundaries`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from occseg.encode import scribble_map
from occseg.errors import InteractionError
from occseg.nn.obnet import OBNet, OBNetConfig
from occseg.occlusion.nms import edge_nms
from occseg.predictor import check_image
from occseg.types import Scribble

__all__ = ["OBPredictor", "previous_output", "scribble_maps"]

#: Inputs are padded to a multiple of this (the deepest level's stride) before the network.
_PAD = 32


def previous_output(
    prob: NDArray[np.floating], threshold: float = 0.7, *, binary: bool = False
) -> NDArray[np.float32]:
    """The previous output fed back to the model (paper ``000``, Sec. 4.1 "thresholding").

    The probability map is thinned by edge NMS; values below ``threshold`` become 0. The
    non-binary version (the paper's default, v1) keeps the other values, the binary version
    (v2) sets them to 1.

    Parameters
    ----------
    prob : (H, W) float array
        The output probabilities of the previous step.
    threshold : float
        ``T`` (0.7, Table 7).
    binary : bool
        Binary instead of non-binary version.

    Returns
    -------
    (H, W) float32 array in ``[0, 1]``

    Examples
    --------
    >>> p = np.zeros((20, 20)); p[:, 9:12] = [0.6, 1.0, 0.6]
    >>> [round(float(v), 2) for v in previous_output(p)[10, 8:13]]  # NMS smooths: 0.8 at the ridge
    [0.0, 0.0, 0.8, 0.0, 0.0]
    >>> previous_output(p, binary=True)[10, 8:13].tolist()
    [0.0, 0.0, 1.0, 0.0, 0.0]
    """
    thin = edge_nms(np.asarray(prob, dtype=np.float64))
    keep = thin >= threshold
    return (keep if binary else np.where(keep, thin, 0.0)).astype(np.float32)


def scribble_maps(
    scribbles: Sequence[Scribble], shape: tuple[int, int], radius: int = 12
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """FN and FP maps of polyline scribbles: lines through the points, dilated by a disk.

    Parameters
    ----------
    scribbles
        :class:`~occseg.types.Scribble` polylines of ``(y, x)`` points, ``kind`` ``"fn"`` or
        ``"fp"``.
    shape
        ``(H, W)`` of the image.
    radius
        Disk radius (the model's ``scribble_radius``).

    Returns
    -------
    fn_map, fp_map : (H, W) float32 arrays in ``{0, 1}``

    Raises
    ------
    InteractionError
        For a point outside the image or an unknown kind.
    """
    h, w = shape
    lines: dict[str, NDArray[np.uint8]] = {k: np.zeros((h, w), np.uint8) for k in ("fn", "fp")}
    for s in scribbles:
        if s.kind not in lines:
            raise InteractionError(f"scribble kind must be 'fn' or 'fp', got {s.kind!r}")
        pts = np.asarray(s.points, dtype=np.int64).reshape(-1, 2)
        outside = (pts[:, 0] < 0) | (pts[:, 0] >= h) | (pts[:, 1] < 0) | (pts[:, 1] >= w)
        if outside.any():
            y, x = pts[np.argmax(outside)]
            raise InteractionError(
                f"scribble point (y={y}, x={x}) is outside the {w}×{h} image; points must "
                "satisfy 0 <= y < height and 0 <= x < width"
            )
        xy = np.ascontiguousarray(pts[:, ::-1], dtype=np.int32)
        cv2.polylines(lines[s.kind], [xy], isClosed=False, color=1, thickness=1)
        lines[s.kind][pts[:, 0], pts[:, 1]] = 1  # single-point scribbles
    fn, fp = (scribble_map([np.argwhere(lines[k])], shape, radius=radius) for k in ("fn", "fp"))
    return fn, fp


def _check_map(name: str, array: NDArray[np.floating], shape: tuple[int, int]) -> None:
    """Raise :class:`InteractionError` unless ``array`` is an ``H×W`` map of ``shape``."""
    if np.shape(array) != shape:
        raise InteractionError(
            f"{name} has shape {np.shape(array)} but the image is {shape}; pass a map of the "
            "image's size"
        )


class OBPredictor:
    """Whole-image inference with an :class:`~occseg.nn.OBNet` (automatic, then interactive).

    Parameters
    ----------
    model
        The network, or the path of a checkpoint written by ``occseg train boundaries``.
    flip
        Average every map with the map of the mirrored inputs (horizontal flip, a test-time
        augmentation that paper 000 does not use; twice the time). With the 800-step 48/24
        model, held-out synthetic automatic ODS 0.843 → 0.851 (README, "Interactive occlusion
        boundaries").

    Examples
    --------
    >>> predictor = OBPredictor("runs/obnet-cpu/model.pt")  # doctest: +SKIP
    >>> predictor.set_image(image)  # doctest: +SKIP
    >>> auto = predictor.automatic()  # doctest: +SKIP
    >>> refined = predictor.predict(scribbles, previous_prob=auto)  # doctest: +SKIP
    """

    def __init__(self, model: OBNet | str | os.PathLike, *, flip: bool = False) -> None:
        if not isinstance(model, OBNet):
            from occseg.checkpoint import load_obnet

            model = load_obnet(model)
        self.net = model.eval()
        self.flip = bool(flip)
        self._image: NDArray[np.uint8] | None = None

    @property
    def config(self) -> OBNetConfig:
        """The model's config (scribble radius, previous-output threshold, ...)."""
        return self.net.config

    def set_image(self, image: NDArray[np.uint8]) -> None:
        """Set the ``H×W×3 uint8`` RGB image the next predictions are about."""
        self._image = check_image(image)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the current image."""
        if self._image is None:
            raise InteractionError("no image set; call set_image(image) first")
        return self._image.shape[0], self._image.shape[1]

    def forward(
        self,
        fn_map: NDArray[np.floating],
        fp_map: NDArray[np.floating],
        prev: NDArray[np.floating],
    ) -> NDArray[np.float32]:
        """The network's probability map for given input maps (each ``H×W``).

        Raises
        ------
        InteractionError
            Before :meth:`set_image`, or for a map of another size than the image.
        """
        h, w = self.shape
        assert self._image is not None
        for name, array in (("fn_map", fn_map), ("fp_map", fp_map), ("previous output", prev)):
            _check_map(name, array, (h, w))
        image = torch.from_numpy(self._image.transpose(2, 0, 1).astype(np.float32) / 255)
        maps = torch.from_numpy(np.stack([fn_map, fp_map, prev]).astype(np.float32))
        prob = self._run(image, maps)
        if self.flip:  # the mirrored inputs' map, mirrored back
            prob = 0.5 * (prob + self._run(image.flip(-1), maps.flip(-1)).flip(-1))
        return prob.numpy().astype(np.float32)

    @torch.no_grad()
    def _run(self, image: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """The probability (``H×W``) for ``3×H×W`` image and FN / FP / previous maps, padded
        (image edge-replicated, maps with zeros) to a multiple of the deepest stride."""
        h, w = image.shape[1:]
        pad = (0, -w % _PAD, 0, -h % _PAD)
        x = torch.nn.functional.pad(image[None], pad, mode="replicate")
        m = torch.nn.functional.pad(maps[None], pad)
        return torch.sigmoid(self.net(x, m[:, :2], m[:, 2:]))[0, 0, :h, :w]

    def automatic(self) -> NDArray[np.float32]:
        """Step 1: the OB probability map without interaction."""
        zeros = np.zeros(self.shape, np.float32)
        return self.forward(zeros, zeros, zeros)

    def refine(
        self,
        fn_map: NDArray[np.floating],
        fp_map: NDArray[np.floating],
        previous_prob: NDArray[np.floating],
    ) -> NDArray[np.float32]:
        """Step 2: the map given FN/FP maps and the previous step's probabilities."""
        _check_map("previous_prob", previous_prob, self.shape)
        cfg = self.config
        prev = previous_output(previous_prob, cfg.prev_threshold, binary=cfg.binary_prev)
        return self.forward(fn_map, fp_map, prev)

    def predict(
        self,
        scribbles: Sequence[Scribble] = (),
        previous_prob: NDArray[np.floating] | None = None,
    ) -> NDArray[np.float32]:
        """The OB probability map: automatic without scribbles, else refined by them.

        ``previous_prob`` is the previous step's output (computed automatically if None).

        Raises
        ------
        InteractionError
            Before :meth:`set_image`, for a scribble point outside the image, or a
            ``previous_prob`` of another size than the image.
        """
        if previous_prob is not None:
            _check_map("previous_prob", previous_prob, self.shape)
        if not scribbles and previous_prob is None:
            return self.automatic()
        if previous_prob is None:
            previous_prob = self.automatic()
        fn, fp = scribble_maps(scribbles, self.shape, self.config.scribble_radius)
        return self.refine(fn, fp, previous_prob)
