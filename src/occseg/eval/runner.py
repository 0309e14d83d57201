"""Running the click protocol over a dataset, optionally in several processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from occseg.eval.clicks import ClickReport, SampleResult, evaluate_sample
from occseg.predict import load_predictor
from occseg.types import Sample

_WORKER: dict[str, Any] = {}


def _init_worker(
    method: str, samples: Sequence[Sample], options: dict, predictor_options: dict
) -> None:
    # One predictor per process; OpenCV threads would fight the process pool for cores.
    import cv2

    cv2.setNumThreads(1)
    predictor = load_predictor(method, **predictor_options)
    _WORKER.update(predictor=predictor, samples=samples, options=options)


def _run_one(index: int) -> SampleResult:
    return evaluate_sample(_WORKER["predictor"], _WORKER["samples"][index], **_WORKER["options"])


def run_click_eval(
    method: str,
    samples: Sequence[Sample],
    *,
    max_clicks: int = 20,
    target_iou: float | None = 0.90,
    pred_thr: float = 0.49,
    jobs: int = 1,
    progress: Callable[[SampleResult], None] | None = None,
    predictor_options: dict[str, Any] | None = None,
) -> ClickReport:
    """Evaluate the predictor named ``method`` on ``samples`` (a lazily-loading sequence).

    ``predictor_options`` are keyword arguments of :func:`~occseg.predict.load_predictor`
    (e.g. ``{"refine": "hybrid", "flip": False}``). With ``jobs > 1`` samples are spread over
    processes, each holding its own predictor; the results are identical to a single-process
    run and come back in sample order.
    """
    options = {"max_clicks": max_clicks, "target_iou": target_iou, "pred_thr": pred_thr}
    jobs = max(1, min(jobs, os.cpu_count() or 1, len(samples) or 1))
    results: list[SampleResult] = []
    if jobs == 1:
        _init_worker(method, samples, options, predictor_options or {})
        iterator = map(_run_one, range(len(samples)))
        for result in iterator:
            results.append(result)
            if progress is not None:
                progress(result)
        _WORKER.clear()
    else:
        initargs = (method, samples, options, predictor_options or {})
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=initargs) as pool:
            for result in pool.map(_run_one, range(len(samples)), chunksize=1):
                results.append(result)
                if progress is not None:
                    progress(result)
    meta = {"method": method, "predictor_options": dict(predictor_options or {})}
    return ClickReport(results, max_clicks, meta=meta)
