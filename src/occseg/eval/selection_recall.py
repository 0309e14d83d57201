"""Instance recall and area of the selection crop against the padding (paper ``002``, Fig. 3a).

Two-in-One refines an object inside a crop of the selection network's output: the box of the
pixels whose selection probability exceeds 0.001, padded (Sec. 4.2,
:func:`occseg.selection_crop.selection_box`). Refinement can only fix what lies in the crop, so
the paper plots against the padding in pixels

* the **instance recall**: the share of objects whose *entire* ground-truth mask lies inside the
  padded crop ("the cropped feature map retains the entire object 3414 times out of 3427");
* the **area** of the crop as a percentage of the image area (the paper speaks of the "area
  reduction"; we report the crop's share, the reduction is 100 % minus it), averaged over
  objects.

Each object gets the protocol's selection click (:func:`~occseg.simulate.boundary_clicks.
selection_click`: the object pixel farthest from its boundary, undisplaced, as in evaluation) and
one pass of the selection network; the crops of all paddings come from that one probability map.
Ignored pixels (``Sample.ignore``) are not part of the object: the click avoids them and they
need not be inside the crop. An object with no pixel left is skipped (counted, not scored).

:func:`run_selection_recall` runs a two-in-one model over a data set (in several processes with
``jobs``); :func:`occseg.eval.selection_report.write_selection_report` writes the results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from occseg.errors import ConfigError, DatasetError
from occseg.eval.clicks import iou
from occseg.parallel import ordered_map
from occseg.predict import available_methods, load_predictor
from occseg.predictor import Predictor
from occseg.selection_crop import Box, CropRule
from occseg.simulate.boundary_clicks import selection_click
from occseg.types import Click, Sample

__all__ = [
    "DEFAULT_PADS",
    "ObjectCrops",
    "SelectionRecallReport",
    "check_selection_method",
    "object_crops",
    "parse_pads",
    "run_selection_recall",
]

#: Paddings (pixels) evaluated by default: the range of the paper's Fig. 3a axis, and ours.
DEFAULT_PADS: tuple[int, ...] = (0, 5, 10, 20, 40, 80)


def parse_pads(text: str) -> tuple[int, ...]:
    """``"0,5,10"`` -> ``(0, 5, 10)``: distinct non-negative paddings in pixels, sorted.

    Raises
    ------
    ConfigError
        If the text is empty or an item is not a non-negative integer.

    Examples
    --------
    >>> parse_pads("20, 0,5,5")
    (0, 5, 20)
    """
    items = [t.strip() for t in str(text).split(",")]
    if not all(t.isdigit() for t in items):
        raise ConfigError(
            f"--pads must be non-negative whole numbers of pixels separated by commas "
            f"(e.g. 0,5,10,20), got {text!r}"
        )
    return tuple(sorted({int(t) for t in items}))


@dataclass(frozen=True)
class ObjectCrops:
    """The selection crops of one object at every padding evaluated.

    Attributes
    ----------
    name : str
        The sample's name.
    shape : (H, W)
        The image's size.
    click : Click or None
        The selection click; None when the object has no pixel outside the ignore region
        (then nothing else is filled in and the object is not scored).
    object_box : (y0, y1, x0, x1) or None
        The end-exclusive bounding box of the object's pixels (ignored pixels excluded).
    crops : dict
        Padding -> the end-exclusive crop box of :func:`~occseg.selection_crop.selection_box`.
    iou : float or None
        IoU of the selection mask (probability above the predictor's ``threshold``) with the
        object, ignored pixels excluded: the one-click mIoU of the paper's Table 1.
    """

    name: str
    shape: tuple[int, int]
    click: Click | None = None
    object_box: Box | None = None
    crops: dict[int, Box] = field(default_factory=dict)
    iou: float | None = None

    def contains(self, pad: int) -> bool:
        """Whether the crop of padding ``pad`` holds every pixel of the object."""
        if self.object_box is None:
            raise ValueError(f"{self.name}: an empty object has no crop")
        y0, y1, x0, x1 = self.crops[pad]
        oy0, oy1, ox0, ox1 = self.object_box
        return y0 <= oy0 and oy1 <= y1 and x0 <= ox0 and ox1 <= x1

    def area_share(self, pad: int) -> float:
        """The crop's area (padding ``pad``) as a fraction of the image's area."""
        y0, y1, x0, x1 = self.crops[pad]
        return (y1 - y0) * (x1 - x0) / (self.shape[0] * self.shape[1])


def object_crops(predictor: Predictor, sample: Sample, pads: Iterable[int]) -> ObjectCrops:
    """Selection crops of ``sample``'s object at every padding in ``pads``, from one prediction.

    ``predictor`` takes boundary clicks (a two-in-one model): its prediction for the selection
    click alone is the selection network's probability (no refinement runs), which is cropped
    by the predictor's :class:`~occseg.selection_crop.CropRule` (the paper's ``prob > 0.001``
    unless the model was trained with another) at each padding.
    """
    object_mask = np.asarray(sample.mask, bool)
    if sample.ignore is not None:
        object_mask = object_mask & ~np.asarray(sample.ignore, bool)
    shape = (int(object_mask.shape[0]), int(object_mask.shape[1]))
    click = selection_click(sample.mask, sample.ignore)
    if click is None:
        return ObjectCrops(sample.name, shape)
    predictor.set_image(sample.image)
    prob = predictor.predict([click])
    rows, cols = np.flatnonzero(object_mask.any(1)), np.flatnonzero(object_mask.any(0))
    object_box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
    rule = model_crop_rule(predictor)
    crops = {p: replace(rule, pad=p).box(prob, click) for p in pads}
    mask_iou = iou(object_mask, prob > predictor.threshold, sample.ignore)
    return ObjectCrops(sample.name, shape, click, object_box, crops, mask_iou)


@dataclass
class SelectionRecallReport:
    """The selection crops of every object of a run, and their recall and area per padding.

    ``rule`` is how the model crops; its padding ``model_pad`` (objects outside that crop are
    :meth:`missed`) is always among ``pads``. ``meta`` names the method and data set.
    """

    results: list[ObjectCrops]
    pads: tuple[int, ...]
    rule: CropRule
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def model_pad(self) -> int:
        """The padding the model crops with."""
        return self.rule.pad

    @property
    def scored(self) -> list[ObjectCrops]:
        """The objects with a selection click (the non-empty ones)."""
        return [r for r in self.results if r.click is not None]

    def recall(self, pad: int) -> float | None:
        """Instance recall at ``pad``: the share of objects entirely inside their crop."""
        scored = self.scored
        return sum(r.contains(pad) for r in scored) / len(scored) if scored else None

    def mean_area_share(self, pad: int) -> float | None:
        """The crop's area as a fraction of the image area at ``pad``, averaged over objects."""
        scored = self.scored
        return float(np.mean([r.area_share(pad) for r in scored])) if scored else None

    def missed(self, pad: int | None = None) -> list[str]:
        """Names of the objects not entirely inside their crop at ``pad`` (the model's)."""
        pad = self.model_pad if pad is None else pad
        return [r.name for r in self.scored if not r.contains(pad)]

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers: per padding the recall and mean area share, the model padding's
        missed objects, the one-click mIoU, and the counts."""
        scored = self.scored
        rows = [
            {
                "pad": p,
                "instance_recall": self.recall(p),
                "mean_area_share": self.mean_area_share(p),
            }
            for p in self.pads
        ]
        return {
            **self.meta,
            "n_objects": len(scored),
            "n_empty": len(self.results) - len(scored),
            "threshold": self.rule.threshold,
            "relative_pad": self.rule.relative_pad,
            "model_pad": self.model_pad,
            "pads": rows,
            "missed_at_model_pad": self.missed(),
            "selection_mIoU": float(np.mean([r.iou for r in scored])) if scored else None,
        }


def model_crop_rule(predictor: Predictor) -> CropRule:
    """The crop rule of a two-in-one ``predictor``, also behind resizing transforms (the
    paper's for one that names none)."""
    rule = getattr(getattr(predictor, "inner", predictor), "crop", None)
    return rule if isinstance(rule, CropRule) else CropRule()


def check_selection_method(method: str | Predictor) -> Predictor:
    """The predictor of ``method`` (a name, a checkpoint path or a predictor), checked to be a
    two-in-one model: one whose first click is a selection click (it takes boundary clicks).

    Raises
    ------
    ConfigError
        If the method is unknown, its shipped model is not installed, or it is not a two-in-one
        model (also a checkpoint of another kind).
    """
    if isinstance(method, str) and method not in available_methods() and Path(method).is_file():
        from occseg.checkpoint import TWOINONE_FORMAT, checkpoint_format

        found = checkpoint_format(method)
        if found != TWOINONE_FORMAT:
            kind = f"a checkpoint of format {found!r}" if found else "not an occseg checkpoint"
            raise ConfigError(
                f"{method} is {kind}, not a two-in-one model; give --method twoinone or the "
                "path of a checkpoint of `occseg train twoinone`"
            )
    predictor = load_predictor(method) if isinstance(method, str) else method
    if not getattr(predictor, "supports_boundary_clicks", False):
        raise ConfigError(
            f"{method} is not a two-in-one model (it has no selection network); give "
            "--method twoinone or the path of a checkpoint of `occseg train twoinone`"
        )
    return predictor


def _crops_of_index(
    predictor: Predictor, index: int, *, samples: Sequence[Sample], pads: tuple[int, ...]
) -> ObjectCrops:
    return object_crops(predictor, samples[index], pads)


def _same(predictor: Predictor) -> Predictor:
    return predictor


def run_selection_recall(
    method: str | Predictor,
    samples: Sequence[Sample],
    *,
    pads: Iterable[int] = DEFAULT_PADS,
    dataset: str = "",
    jobs: int = 1,
    progress: Callable[[ObjectCrops], None] | None = None,
) -> SelectionRecallReport:
    """Instance recall and crop area against the padding of a two-in-one model on ``samples``.

    Parameters
    ----------
    method
        ``"twoinone"`` (the shipped model), the path of a two-in-one checkpoint, or a predictor
        that takes boundary clicks (then ``jobs`` must be 1).
    samples
        A lazily-loading sequence of samples, one object each.
    pads
        Paddings in pixels; the model's own crop padding (:func:`model_crop_rule`) is always
        added.
    dataset
        The data set's name, recorded in the report.
    jobs
        Worker processes (:func:`occseg.parallel.ordered_map`, spawned; each builds its own
        predictor). The results equal a single-process run.
    progress
        Called with each object's result, in sample order.

    Raises
    ------
    ConfigError
        If the method is not a two-in-one model, a padding is negative, or a predictor object
        is given with ``jobs > 1``.
    DatasetError
        If there are no samples.
    """
    predictor = check_selection_method(method)
    rule = model_crop_rule(predictor)
    pads = tuple(sorted({int(p) for p in pads} | {rule.pad}))
    if pads[0] < 0:
        raise ConfigError(f"paddings must be non-negative, got {pads[0]}")
    if not isinstance(method, str) and jobs > 1:
        raise ConfigError("several jobs need the method's name or checkpoint path, not a predictor")
    if len(samples) == 0:
        raise DatasetError(
            f"{dataset or 'the data set'} has no samples; check --dataset and --limit"
        )
    # The checked predictor serves a single-process run; workers build their own.
    setup: Callable[[], Predictor] = partial(_same, predictor)
    if isinstance(method, str) and jobs > 1:
        setup = partial(load_predictor, method)
    results = ordered_map(
        partial(_crops_of_index, samples=samples, pads=pads),
        range(len(samples)),
        jobs=jobs,
        setup=setup,
        progress=progress,
    )
    meta = {"method": method if isinstance(method, str) else repr(method), "dataset": dataset}
    return SelectionRecallReport(results, pads, rule, meta=meta)
