"""The boundary benchmark of a detector or an OB model over a data set (``occseg eval boundaries``).

:func:`check_boundary_options` validates the run before anything is read,
:func:`open_boundary_benchmark` opens the images to evaluate (their number sizes a progress bar),
:func:`run_boundary_benchmark` scores them and :func:`write_boundary_run` writes the report. An
OB model's maps are thinned by edge NMS before the benchmark (paper 000, Sec. 3.2).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from occseg.data.boundary_sample import BoundaryDataset
from occseg.errors import ConfigError, DatasetError
from occseg.eval.boundaries import BoundaryReport, boundary_pr
from occseg.eval.boundary_report import write_boundary_report, write_interactive_report
from occseg.occlusion.detectors import DETECTORS, detect_boundaries
from occseg.parallel import Shard
from occseg.predict.boundary_map import DEFAULT_OB_NAME, default_ob_model

if TYPE_CHECKING:
    from occseg.eval.interactive_boundaries import InteractiveBoundaryReport

__all__ = [
    "BoundaryRun",
    "boundary_model_path",
    "check_boundary_options",
    "open_boundary_benchmark",
    "run_boundary_benchmark",
    "write_boundary_run",
]


def boundary_model_path(method: str) -> Path | None:
    """None for a detector name (:data:`~occseg.occlusion.detectors.DETECTORS`), else the path
    of an OB model checkpoint: the shipped one for ``"obnet"``
    (:func:`~occseg.predict.boundary_map.default_ob_model`; the name wins over a file called so),
    or ``method`` itself.

    Raises
    ------
    ConfigError
        If ``method`` is neither a detector, nor ``"obnet"`` with the shipped model installed,
        nor an existing file.
    """
    if method in DETECTORS:
        return None
    if method == DEFAULT_OB_NAME:
        return default_ob_model()
    if not Path(method).is_file():
        raise ConfigError(
            f"unknown --method {method!r}; use one of {', '.join(DETECTORS)}, "
            f"{DEFAULT_OB_NAME} (the shipped OB model) or the path of an OB model checkpoint"
        )
    return Path(method)


def check_boundary_options(
    method: str,
    *,
    interactive: bool = False,
    oracle: bool = False,
    threshold: float = 0.7,
    max_segments: int = 0,
    limit: int = 0,
    jobs: int = 1,
    n_thresholds: int = 99,
    max_dist: float = 0.0075,
    shard: Shard | None = None,
) -> None:
    """Refuse options that do not fit together or are out of range (before any work).

    Raises
    ------
    ConfigError
        With the first problem found.
    """
    model = boundary_model_path(method)
    if interactive and model is None:
        raise ConfigError(
            f"--interactive needs an OB model as --method ({DEFAULT_OB_NAME} or a checkpoint)"
        )
    if oracle and not interactive:
        raise ConfigError("--oracle needs --interactive")
    if interactive and shard is not None:
        raise ConfigError("--shard splits the plain benchmark only; leave out --interactive")
    if jobs < 1 or n_thresholds < 1 or limit < 0 or not (0 < max_dist < 1):
        raise ConfigError(
            "--jobs and --n-thresholds must be >= 1, --limit >= 0, 0 < --max-dist < 1"
        )
    if not 0 < threshold < 1 or max_segments < 0:
        raise ConfigError("--threshold must be in (0, 1) and --max-segments >= 0")


def open_boundary_benchmark(
    dataset: str, *, split: str | None = None, limit: int = 0, shard: Shard | None = None
) -> BoundaryDataset:
    """The images of ``dataset`` (``KIND:PATH``) to evaluate: the first ``limit`` (0: all), then
    the shard's part of them.

    Raises
    ------
    DatasetError
        If the data set cannot be opened or has no images (in the shard).
    """
    from occseg.data.boundaries import open_boundary_dataset

    data = open_boundary_dataset(dataset, split=split)
    if limit:
        data = data[:limit]
    if shard is not None:
        data = cast(BoundaryDataset, shard.select(data))  # a lazy slice of the data set
    if len(data) == 0:
        raise DatasetError(f"no images in {dataset}" + (f" (shard {shard})" if shard else ""))
    return data


@dataclass(frozen=True)
class BoundaryRun:
    """The outcome of :func:`run_boundary_benchmark`: a title and the report."""

    title: str
    report: BoundaryReport | InteractiveBoundaryReport

    def describe(self) -> str:
        """The headline numbers in one line."""
        from occseg.eval.interactive_boundaries import InteractiveBoundaryReport

        r = self.report
        if isinstance(r, InteractiveBoundaryReport):
            a, i = r.automatic, r.interactive
            return (
                f"{self.title}: automatic ODS={a.ods:.3f} OIS={a.ois:.3f} AP={a.ap:.3f}; with "
                f"scribbles ODS={i.ods:.3f} OIS={i.ois:.3f} AP={i.ap:.3f}; "
                f"avgFN={r.effort.avg_fn:.4f} avgFP={r.effort.avg_fp:.6f}"
                + ("" if r.oracle is None else f"; oracle ODS={r.oracle.ods:.3f}")
                + f" ({len(a.counts)} images)"
            )
        r50 = "n/a" if not math.isfinite(r.r50) else f"{r.r50:.3f}"
        part = "" if r.shard is None else f" of shard {r.shard}"
        return (
            f"{self.title}: ODS={r.ods:.3f} OIS={r.ois:.3f} AP={r.ap:.3f} R50={r50} "
            f"({len(r.counts)} images{part})"
        )


def run_boundary_benchmark(
    data: BoundaryDataset,
    method: str,
    *,
    dataset: str = "",
    split: str | None = None,
    interactive: bool = False,
    oracle: bool = False,
    threshold: float = 0.7,
    max_segments: int = 0,
    jobs: int = 1,
    n_thresholds: int = 99,
    max_dist: float = 0.0075,
    shard: Shard | None = None,
    progress: Callable[[], None] | None = None,
) -> BoundaryRun:
    """Boundary precision/recall (ODS, OIS, AP, R50) of ``method`` on ``data``.

    ``method`` is a detector name, ``"obnet"`` (the shipped OB model) or the path of an OB
    model checkpoint. With ``interactive`` (OB models only) each image is predicted
    automatically, then with FN/FP scribbles simulated from that output
    (:func:`~occseg.eval.interactive_boundaries.evaluate_interactive_boundaries`; ``threshold``,
    ``max_segments`` (0: all) and ``oracle`` go there). ``shard`` records that ``data`` is that
    part of a larger run (:func:`open_boundary_benchmark`). ``dataset`` and ``split`` name the
    data in the title; ``progress`` is called once per image.
    """
    check_boundary_options(
        method, interactive=interactive, oracle=oracle, threshold=threshold,
        max_segments=max_segments, jobs=jobs, n_thresholds=n_thresholds, max_dist=max_dist,
        shard=shard,
    )  # fmt: skip
    model = boundary_model_path(method)
    name = method if model is None else model.stem
    title = f"{name} on {dataset}" + (f" ({split})" if split else "")
    if interactive:
        from occseg.eval.interactive_boundaries import evaluate_interactive_boundaries
        from occseg.predict.boundaries import OBPredictor

        both = evaluate_interactive_boundaries(
            OBPredictor(model),  # type: ignore[arg-type]  # interactive implies a model
            data,
            threshold=threshold,
            max_segments=max_segments or None,
            n_thresholds=n_thresholds,
            max_dist=max_dist,
            jobs=jobs,
            oracle=oracle,
            progress=progress,
        )
        return BoundaryRun(title, both)
    detect = _detector(method, model)

    def maps() -> Iterator[np.ndarray]:
        for sample in data:
            yield detect(sample.image)

    def gts() -> Iterator[tuple[np.ndarray, ...]]:
        for sample in data:
            yield sample.boundaries

    report = boundary_pr(
        maps(),
        gts(),
        n_thresholds,
        max_dist,
        nms=model is not None,
        jobs=jobs,
        names=data.names,
        progress=progress,
        shard=shard,
    )
    return BoundaryRun(title, report)


def _detector(method: str, model: Path | None) -> Callable[[np.ndarray], np.ndarray]:
    """Image → soft boundary map, by a detector or the automatic step of an OB model."""
    if model is None:
        return partial(detect_boundaries, method=method)
    from occseg.predict.boundaries import OBPredictor

    predictor = OBPredictor(model)

    def detect(image: np.ndarray) -> np.ndarray:
        predictor.set_image(image)
        return predictor.automatic()

    return detect


def write_boundary_run(run: BoundaryRun, out: str | os.PathLike) -> dict:
    """Write the report of ``run`` into ``out`` (``summary.json``, ``summary.md``, ``pr.png``;
    interactive runs also ``automatic/`` and ``interactive/``); return the summary."""
    from occseg.eval.interactive_boundaries import InteractiveBoundaryReport

    if isinstance(run.report, InteractiveBoundaryReport):
        return write_interactive_report(run.report, Path(out), title=run.title)
    return write_boundary_report(run.report, Path(out), title=run.title)
