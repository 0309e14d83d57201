"""The click protocol over a data set as ``occseg eval clicks`` and ``occseg demo`` run it.

:func:`select_samples` picks the samples, :func:`parse_options` reads predictor options written
``KEY=VALUE`` and :func:`run_click_benchmark` checks the method, then runs
:func:`~occseg.eval.runner.run_click_eval`; :func:`occseg.eval.report.write_click_report` writes
the results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from occseg.errors import ConfigError, DatasetError
from occseg.eval.clicks import INTERACTIONS, ClickReport, SampleResult
from occseg.eval.runner import run_click_eval
from occseg.parallel import Shard
from occseg.types import Sample

__all__ = ["check_method", "parse_options", "run_click_benchmark", "select_samples"]


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``["refine=hybrid", "flip=false", "refine.weight=2"]`` -> keyword arguments (bool, int,
    float, None (``none``) or str values; ``A.B=V`` goes to ``A_options={"B": V}``).

    Raises
    ------
    ConfigError
        If an item is not ``KEY=VALUE``.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option must look like KEY=VALUE, got {pair!r}")
        value: Any = raw.strip()
        if value.lower() in ("true", "false"):
            value = value.lower() == "true"
        elif value.lower() == "none":
            value = None
        else:
            for kind in (int, float):
                try:
                    value = kind(value)
                    break
                except ValueError:
                    pass
        name, dot, sub = key.strip().replace("-", "_").partition(".")
        if dot:  # "refine.weight=0.5" -> refine_options={"weight": 0.5}
            out.setdefault(f"{name}_options", {})[sub] = value
        else:
            out[name] = value
    return out


def select_samples(
    samples: Sequence[Sample], *, every: int = 1, limit: int = 0
) -> Sequence[Sample]:
    """Every ``every``-th sample, then the first ``limit`` of those (0: all); lazy slices.

    Raises
    ------
    ConfigError
        If ``every < 1`` or ``limit < 0``.
    """
    if every < 1 or limit < 0:
        raise ConfigError(f"--every must be >= 1 and --limit >= 0, got {every} and {limit}")
    if every > 1:
        samples = samples[::every]
    return samples[:limit] if limit else samples


def check_method(
    method: str, predictor_options: dict[str, Any] | None = None, interaction: str = "clicks"
) -> None:
    """Build the predictor once, so that an unknown method or option, or an interaction the
    predictor does not take, fails in one clear line.

    Raises
    ------
    ConfigError
        If the method is unknown or does not take the options (or values of their kind), the
        interaction is unknown, or
        it is ``"boundary"`` and the predictor does not take boundary clicks, or ``"clicks"``
        and it refines with boundary clicks only.
    """
    from occseg.predict import load_predictor

    if interaction not in INTERACTIONS:
        raise ConfigError(
            f"--interaction must be one of {', '.join(INTERACTIONS)}, got {interaction!r}"
        )
    try:
        predictor = load_predictor(method, **(predictor_options or {}))
    except (TypeError, ValueError) as exc:  # an option it does not take, or a value of the
        # wrong kind (int("abc") in a constructor)
        raise ConfigError(
            f"bad --option for {method}: {exc}; give the options it takes, numbers where it "
            "expects numbers"
        ) from None
    if interaction == "boundary" and not getattr(predictor, "supports_boundary_clicks", False):
        raise ConfigError(
            f"{method} does not take boundary clicks; use --interaction clicks, or a two-in-one "
            "model trained with boundary clicks (--method twoinone or the path of its checkpoint)"
        )
    if interaction == "clicks" and getattr(predictor, "boundary_clicks_only", False):
        raise ConfigError(
            f"{method} refines with boundary clicks only; use --interaction boundary (or a "
            "two-in-one model trained with positive and negative clicks)"
        )


def run_click_benchmark(
    samples: Sequence[Sample],
    method: str,
    *,
    dataset: str,
    max_clicks: int = 20,
    all_clicks: bool = False,
    jobs: int = 1,
    predictor_options: dict[str, Any] | None = None,
    shard: Shard | None = None,
    progress: Callable[[SampleResult], None] | None = None,
    interaction: str = "clicks",
) -> ClickReport:
    """The click protocol of ``method`` on ``samples``; ``dataset`` names them in the report.

    Stops each object at 90 % IoU unless ``all_clicks`` (then every object gets ``max_clicks``
    clicks, for exact mIoU@k). ``shard`` evaluates only that part of the samples
    (:func:`~occseg.eval.runner.run_click_eval`); ``progress`` is called with each result.
    ``interaction`` picks the simulated user: ``"clicks"`` (positive/negative, the standard) or
    ``"boundary"`` (a selection click, then boundary clicks; :mod:`occseg.eval.clicks`).

    Raises
    ------
    ConfigError
        If the method or its options are invalid, or the predictor does not take the
        interaction.
    DatasetError
        If there are no samples (in the shard).
    """
    check_method(method, predictor_options, interaction)
    n = len(samples) if shard is None else len(shard.indices(len(samples)))
    if n == 0:
        raise DatasetError(
            f"{dataset} has no samples to evaluate"
            + (f" in shard {shard}" if shard is not None else "")
            + "; check --dataset, --every and --limit"
        )
    report = run_click_eval(
        method,
        samples,
        max_clicks=max_clicks,
        target_iou=None if all_clicks else 0.90,
        jobs=jobs,
        progress=progress,
        predictor_options=predictor_options,
        shard=shard,
        interaction=interaction,
    )
    report.meta["dataset"] = dataset
    return report
