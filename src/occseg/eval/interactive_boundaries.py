"""Interactive occlusion-boundary evaluation: automatic, then with simulated scribbles.

Paper ``000``, Sec. 3.2 "Training & Testing" and Sec. 4.1: each image is predicted in two steps,

1. automatically (all-zero FN-FP maps and previous output);
2. with the scribbles a simulated user draws from the automatic output: every FN and FP
   segment longer than 30 pixels (:func:`occseg.simulate.scribbles.simulate_scribbles`, after
   NMS and thresholding at ``T`` = 0.7), dilated by the model's disk, and the automatic output
   as the previous output.

Both maps are scored with the boundary benchmark (:func:`occseg.eval.boundaries.boundary_pr`:
ODS, OIS, AP, R50), and the user effort with avgFN / avgFP
(:func:`occseg.eval.scribble_metrics.scribble_effort`). The simulated user compares the output
with the union of the annotators' boundaries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from occseg.data.boundary_sample import BoundarySample
from occseg.eval.boundaries import BoundaryReport, boundary_pr
from occseg.eval.scribble_metrics import ScribbleEffort, scribble_effort
from occseg.predict.boundaries import OBPredictor
from occseg.simulate.scribbles import EVAL_MIN_LENGTH, simulate_scribbles

__all__ = ["InteractiveBoundaryReport", "evaluate_interactive_boundaries"]


@dataclass(frozen=True)
class InteractiveBoundaryReport:
    """Boundary benchmark before and after the simulated scribbles, and the user effort."""

    automatic: BoundaryReport
    interactive: BoundaryReport
    effort: ScribbleEffort

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``automatic`` and ``interactive`` reports, ``avgFN``, ``avgFP``, gains."""
        effort = self.effort.as_dict()
        return {
            "automatic": self.automatic.to_dict(),
            "interactive": self.interactive.to_dict(),
            "avgFN": effort["avg_fn"],
            "avgFP": effort["avg_fp"],
            "fn_ratios": effort["fn_ratios"],
            "fp_ratios": effort["fp_ratios"],
            "gain": {
                k: getattr(self.interactive, k.lower()) - getattr(self.automatic, k.lower())
                for k in ("ODS", "OIS", "AP")
            },
        }


def evaluate_interactive_boundaries(
    predictor: OBPredictor,
    samples: Iterable[BoundarySample],
    *,
    threshold: float = 0.7,
    min_length: int = EVAL_MIN_LENGTH,
    max_segments: int | None = None,
    seed: int | None = 0,
    n_thresholds: int = 99,
    max_dist: float = 0.0075,
    nms: bool = True,
    jobs: int = 1,
    progress: Callable[[], None] | None = None,
) -> InteractiveBoundaryReport:
    """Run the two-step protocol on boundary samples.

    Parameters
    ----------
    predictor
        The OB model.
    samples
        :class:`~occseg.data.boundary_sample.BoundarySample` items (image + annotators).
    threshold
        ``T`` applied after NMS to find the error segments (0.7).
    min_length, max_segments
        Segments longer than ``min_length`` (30) are scribbled; ``max_segments`` caps their
        number (None: all, the paper's general evaluation; 12 in its ablations).
    seed
        Seed of the scribble perturbation (length and position, per image ``(seed, index)``);
        None draws the segments unperturbed.
    n_thresholds, max_dist, nms, jobs
        Boundary benchmark options (:func:`~occseg.eval.boundaries.boundary_pr`); ``nms``
        thins the soft maps by edge NMS first, as the paper's pipeline does (Sec. 3.2 (iv)).
    progress
        Called once per predicted image.

    Returns
    -------
    InteractiveBoundaryReport
    """
    autos: list[np.ndarray] = []
    inters: list[np.ndarray] = []
    gts: list[Sequence[np.ndarray]] = []
    unions: list[np.ndarray] = []
    segments = []
    names: list[str] = []
    for i, sample in enumerate(samples):
        predictor.set_image(sample.image)
        auto = predictor.automatic()
        union = sample.boundary_union
        rng = None if seed is None else np.random.default_rng([seed, i])
        sim = simulate_scribbles(
            auto,
            union,
            threshold=threshold,
            max_dist=max_dist,
            min_length=min_length,
            max_segments=max_segments,
            rng=rng,
            radius=predictor.config.scribble_radius,
        )
        inters.append(predictor.refine(sim.fn_map, sim.fp_map, auto))
        autos.append(auto)
        gts.append(sample.boundaries)
        unions.append(union)
        segments.append(sim.segments)
        names.append(sample.name)
        if progress is not None:
            progress()

    def score(maps: list[np.ndarray]) -> BoundaryReport:
        return boundary_pr(maps, gts, n_thresholds, max_dist, nms=nms, jobs=jobs, names=names)

    return InteractiveBoundaryReport(score(autos), score(inters), scribble_effort(segments, unions))
