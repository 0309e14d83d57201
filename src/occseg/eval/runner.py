"""Running the click protocol over a data set: in several processes, in shards; merging shards."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from occseg.errors import ConfigError
from occseg.eval.clicks import ClickReport, SampleResult, evaluate_sample
from occseg.parallel import Shard, ordered_map, unshard
from occseg.predict import load_predictor
from occseg.predictor import Predictor
from occseg.types import Sample


def _evaluate_index(
    predictor: Predictor, index: int, *, samples: Sequence[Sample], options: dict[str, Any]
) -> SampleResult:
    return evaluate_sample(predictor, samples[index], **options)


def run_click_eval(
    method: str,
    samples: Sequence[Sample],
    *,
    max_clicks: int = 20,
    target_iou: float | None = 0.90,
    pred_thr: float | None = None,
    jobs: int = 1,
    progress: Callable[[SampleResult], None] | None = None,
    predictor_options: dict[str, Any] | None = None,
    shard: Shard | None = None,
    interaction: str = "clicks",
) -> ClickReport:
    """Evaluate the predictor named ``method`` on ``samples`` (a lazily-loading sequence).

    ``interaction`` picks the simulated user (:func:`~occseg.eval.clicks.evaluate_sample`); a run
    with boundary clicks records ``"interaction": "boundary"`` in the report's meta.

    ``predictor_options`` are keyword arguments of :func:`~occseg.predict.load_predictor`
    (e.g. ``{"refine": "hybrid", "flip": False}``); the mask is ``prob > pred_thr``, by default
    the predictor's own ``threshold`` (as in :func:`~occseg.eval.clicks.evaluate_sample`).

    With ``jobs > 1`` samples are spread over processes (:func:`occseg.parallel.ordered_map`);
    each builds its own predictor from the name and options and decodes its own samples. The
    results are identical to a single-process run and come back in sample order; ``progress`` is
    called with each of them.

    With ``shard`` only that shard's samples (:meth:`~occseg.parallel.Shard.select`) are
    evaluated and the report's meta records it (``"shard": "K/N"``);
    :func:`merge_click_reports` joins the reports of all shards into the report of the whole run.
    """
    options: dict[str, Any] = {"max_clicks": max_clicks, "target_iou": target_iou}
    options.update(pred_thr=pred_thr, interaction=interaction)
    predictor_options = dict(predictor_options or {})
    selected = shard.select(samples) if shard is not None else samples
    results = ordered_map(
        partial(_evaluate_index, samples=selected, options=options),
        range(len(selected)),
        jobs=jobs,
        setup=partial(load_predictor, method, **predictor_options),
        progress=progress,
    )
    meta: dict[str, Any] = {"method": method, "predictor_options": predictor_options}
    if interaction != "clicks":  # the standard run's report stays as it was
        meta["interaction"] = interaction
    if shard is not None:
        meta["shard"] = str(shard)
    return ClickReport(results, max_clicks, meta=meta)


def merge_click_reports(reports: Iterable[ClickReport]) -> ClickReport:
    """Join the reports of shards ``1/N`` ... ``N/N`` of one evaluation (in any order).

    The result lists every sample in the order of the unsharded run and equals its report
    (per-sample IoUs and clicks; the timings are those the shards measured). Reports written
    to disk are read back with :func:`occseg.eval.report.read_click_report`.

    Raises
    ------
    ConfigError
        If a report is not from a sharded run, the reports differ in method, options, data set or
        click budget, or a shard is missing or given twice.
    """
    reports = list(reports)
    if not reports:
        raise ConfigError("no click reports to merge")
    for report in reports:
        if "shard" not in report.meta:
            raise ConfigError(
                f"a report of {report.meta.get('method', '?')} is not from a sharded run "
                "(no 'shard' in its summary); merge only the outputs of shard runs"
            )
    meta = {k: v for k, v in reports[0].meta.items() if k != "shard"}
    for report in reports[1:]:
        other = {k: v for k, v in report.meta.items() if k != "shard"}
        if other != meta or report.max_clicks != reports[0].max_clicks:
            raise ConfigError(
                f"shard {report.meta['shard']} was run with other settings than shard "
                f"{reports[0].meta['shard']}; merge the shards of one evaluation"
            )
    results = unshard((Shard.parse(r.meta["shard"]), r.results) for r in reports)
    return ClickReport(results, reports[0].max_clicks, meta=meta)
