"""``occseg train KIND --config FILE``: one entry point over the trainers of every kind.

:func:`occseg.train.config.load_config` reads the kind's config; :func:`train` runs the
kind's trainer (:func:`~occseg.train.clicks.train_clicks`,
:func:`~occseg.train.boundaries.train_boundaries`, :func:`~occseg.train.order.train_order`,
:func:`~occseg.train.twoinone.train_twoinone`), all over the one loop of
:func:`occseg.train.loop.run_training`. Data-parallel training runs the
same command under torchrun::

    torchrun --standalone --nproc_per_node 2 -m occseg train clicks --config FILE
"""

from __future__ import annotations

from typing import Any

from occseg.train.boundaries import train_boundaries
from occseg.train.clicks import train_clicks
from occseg.train.config import (
    AnyTrainConfig,
    BoundaryTrainConfig,
    TrainConfig,
    TwoInOneTrainConfig,
)
from occseg.train.loop import dist_info
from occseg.train.order import train_order
from occseg.train.twoinone import train_twoinone

__all__ = ["describe", "is_main_process", "train"]


def train(
    config: AnyTrainConfig,
    *,
    resume: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or resume training) the model of ``config``'s kind; returns the run's summary.

    ``resume`` continues from ``OUT/last.pt`` when it exists; ``progress`` shows a progress bar
    (on rank 0).
    """
    if isinstance(config, TrainConfig):
        return train_clicks(config, resume=resume, progress=progress)
    if isinstance(config, BoundaryTrainConfig):
        return train_boundaries(config, resume=resume, progress=progress)
    if isinstance(config, TwoInOneTrainConfig):
        return train_twoinone(config, resume=resume, progress=progress)
    return train_order(config, resume=resume, progress=progress)


def is_main_process() -> bool:
    """True outside torchrun and on its rank 0 (the process that writes and reports)."""
    return dist_info()[0] == 0


def describe(summary: dict[str, Any]) -> str:
    """One line: steps, time, first and last loss, files written."""
    stage2 = summary.get("stage2_start")
    return (
        f"trained steps {summary['start_step']}..{summary['steps']} in "
        f"{summary['seconds']:.0f} s{'' if stage2 is None else f' (stage 2 from step {stage2})'}; "
        f"loss {summary['first_loss']:.4f} → {summary['last_loss']:.4f}; "
        f"wrote {summary['out']}/model.pt, last.pt, metrics.jsonl"
    )
