"""Interactive occlusion-boundary evaluation: automatic, then with simulated scribbles.

Paper ``000``, Sec. 3.2 "Training & Testing" and Sec. 4.1: each image is predicted in two steps,

1. automatically (all-zero FN-FP maps and previous output);
2. with the scribbles a simulated user draws from the automatic output: every FN and FP
   segment longer than 30 pixels (:func:`occseg.simulate.scribbles.simulate_scribbles`, after
   NMS and thresholding at ``T`` = 0.7), dilated by the model's disk, and the automatic output
   as the previous output.

With ``oracle``, a third map is scored: the automatic map corrected exactly where the simulated
user scribbled (:func:`oracle_correction`), the most a perfectly obedient model could gain from
the same scribbles by fixing just those errors. It tells how much of the remaining error the
protocol's scribbles can reach at all.

All maps are scored with the boundary benchmark (:func:`occseg.eval.boundaries.boundary_pr`:
ODS, OIS, AP, R50), and the user effort with avgFN / avgFP
(:func:`occseg.eval.scribble_metrics.scribble_effort`). The simulated user compares the output
with the union of the annotators' boundaries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from occseg.data.boundary_sample import BoundarySample
from occseg.errors import ConfigError, FileFormatError
from occseg.eval.boundaries import BoundaryReport, boundary_pr, merge_boundary_reports
from occseg.eval.scribble_metrics import ScribbleEffort, scribble_effort
from occseg.parallel import Shard, unshard
from occseg.predict.boundaries import OBPredictor
from occseg.simulate.scribbles import (
    EVAL_MIN_LENGTH,
    ErrorSegments,
    far_from,
    matching_tolerance,
    scribble_map,
    simulate_scribbles,
)

__all__ = [
    "InteractiveBoundaryReport",
    "evaluate_interactive_boundaries",
    "merge_interactive_reports",
    "oracle_correction",
]


def oracle_correction(
    prob: NDArray[np.floating], segments: ErrorSegments, max_dist: float = 0.0075
) -> NDArray[np.float32]:
    """The map a perfectly obedient model would return for the scribbles of ``segments``.

    FN segment pixels become 1; FP segments are erased with everything within the matching
    tolerance (``max_dist`` × diagonal) of them: no ground-truth boundary is that close to an FP
    segment (that is what makes it one), and erasing the neighbourhood keeps edge NMS from
    promoting the ridge's flanks (on images so small that the tolerance is under about 1.5 px,
    the flanks can survive). Nothing else changes. For analysis, not part of paper ``000``.

    Examples
    --------
    >>> prob = np.zeros((40, 40), np.float32); prob[10, 5:35] = 0.9
    >>> seg = ErrorSegments(fn=[np.array([[30, x] for x in range(5, 35)])],
    ...                     fp=[np.argwhere(prob > 0)])
    >>> out = oracle_correction(prob, seg)
    >>> float(out[10, 20]), float(out[30, 20])
    (0.0, 1.0)
    """
    out = np.array(prob, dtype=np.float32, copy=True)
    fp = scribble_map(segments.fp, out.shape, radius=0) > 0
    out[~far_from(fp, matching_tolerance(out.shape, max_dist))] = 0.0
    out[scribble_map(segments.fn, out.shape, radius=0) > 0] = 1.0
    return out


@dataclass(frozen=True)
class InteractiveBoundaryReport:
    """Boundary benchmark before and after the simulated scribbles, and the user effort."""

    automatic: BoundaryReport
    interactive: BoundaryReport
    effort: ScribbleEffort
    oracle: BoundaryReport | None = None

    @property
    def shard(self) -> Shard | None:
        """The shard of a larger run these images are (see :func:`merge_interactive_reports`)."""
        return self.automatic.shard

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``automatic`` and ``interactive`` reports, ``avgFN``, ``avgFP``, gains
        (and a shard's per-image counts, which :meth:`from_dict` reads back)."""
        effort = self.effort.as_dict()
        oracle = {} if self.oracle is None else {"oracle": self.oracle.to_dict()}
        return oracle | {
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InteractiveBoundaryReport:
        """Rebuild a sharded run's report from its :meth:`to_dict`.

        Raises
        ------
        FileFormatError
            If ``data`` is not the dictionary of a sharded interactive report.
        """
        try:
            effort = ScribbleEffort.from_ratios(data["fn_ratios"], data["fp_ratios"])
            parts = [data["automatic"], data["interactive"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(
                f"not the summary of an interactive boundary evaluation ({exc})"
            ) from None
        oracle = data.get("oracle")
        automatic, interactive = (BoundaryReport.from_dict(p) for p in parts)
        fixed = None if oracle is None else BoundaryReport.from_dict(oracle)
        return cls(automatic, interactive, effort, fixed)


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
    oracle: bool = False,
    shard: Shard | None = None,
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
    oracle
        Also score :func:`oracle_correction` of each automatic map.
    shard
        The shard of a larger run ``samples`` are (its items in order): the scribbles are
        seeded by each image's position in the whole run, so that the merged shards
        (:func:`merge_interactive_reports`) equal the unsharded run.
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
    for j, sample in enumerate(samples):
        i = j if shard is None else shard.index - 1 + j * shard.count
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
        return boundary_pr(
            maps, gts, n_thresholds, max_dist, nms=nms, jobs=jobs, names=names, shard=shard
        )

    fixed = None
    if oracle:
        pairs = zip(autos, segments, strict=True)
        fixed = score([oracle_correction(a, s, max_dist) for a, s in pairs])
    return InteractiveBoundaryReport(
        score(autos), score(inters), scribble_effort(segments, unions), fixed
    )


def merge_interactive_reports(
    reports: Iterable[InteractiveBoundaryReport],
) -> InteractiveBoundaryReport:
    """Join the reports of shards ``1/N`` ... ``N/N`` of one interactive run (in any order); the
    result equals the unsharded run's report.

    Raises
    ------
    ConfigError
        As :func:`~occseg.eval.boundaries.merge_boundary_reports`, or if only some shards
        were run with ``oracle``.
    """
    reports = list(reports)
    automatic = merge_boundary_reports(r.automatic for r in reports)  # checks the shards
    if len({r.oracle is None for r in reports}) > 1:
        raise ConfigError("only some shards were run with --oracle; merge the shards of one run")
    shards = [cast(Shard, r.shard) for r in reports]
    interactive = merge_boundary_reports(r.interactive for r in reports)
    oracle = None
    if reports[0].oracle is not None:
        oracle = merge_boundary_reports(r.oracle for r in reports if r.oracle is not None)
    effort = ScribbleEffort.from_ratios(
        unshard((s, r.effort.fn_ratios) for s, r in zip(shards, reports, strict=True)),
        unshard((s, r.effort.fp_ratios) for s, r in zip(shards, reports, strict=True)),
    )
    return InteractiveBoundaryReport(automatic, interactive, effort, oracle)
