"""What several verbs share: the stderr console, option checks typer has no range for, progress
bars over the library's per-item callbacks, and the click-evaluation summary table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from occseg.progress import progress_bar

if TYPE_CHECKING:
    from occseg.eval.clicks import SampleResult

console = Console(stderr=True)


def open_unit_interval(value: float | None) -> float | None:
    """Typer callback: the value (if given) must lie strictly between 0 and 1."""
    if value is not None and not 0 < value < 1:
        raise typer.BadParameter(f"must be between 0 and 1 (exclusive), got {value}")
    return value


def longest_side(value: int | None) -> int | None:
    """Typer callback of ``--max-side``: 0 (full size) or at least 32 pixels."""
    if value is not None and 0 < value < 32:
        raise typer.BadParameter(f"must be 0 (full size) or at least 32, got {value}")
    return value


@contextmanager
def advancing(description: str, total: int | None) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr; yields the callback that advances it by one item."""
    with progress_bar(console=console) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


@contextmanager
def click_progress(
    method: str, total: int, max_clicks: int
) -> Iterator[Callable[[SampleResult], None]]:
    """A progress bar with the running NoC@90; yields the callback that takes each result."""
    with progress_bar("NoC@90 {task.fields[noc]}", console=console) as bar:
        task = bar.add_task(method, total=total, noc="-")
        nocs: list[float] = []

        def tick(result: SampleResult) -> None:
            nocs.append(result.noc(0.90, max_clicks))
            bar.update(task, advance=1, noc=f"{sum(nocs) / len(nocs):.2f}")

        yield tick


def print_click_summary(summary: dict) -> None:
    """The headline numbers of a click evaluation as a table on stdout."""
    table = Table(title=f"{summary.get('method')} on {summary.get('dataset', '?')}")
    max_clicks = summary["max_clicks"]
    cols = ["samples", "NoC@85", "NoC@90", f"NoC@90≥{max_clicks}"]
    cols += [f"mIoU@{k}" for k in summary["mIoU@k"]] + ["s/click"]
    for c in cols:
        table.add_column(c, justify="right")
    table.add_row(
        str(summary["n_samples"]),
        f"{summary['NoC@85']:.2f}",
        f"{summary['NoC@90']:.2f}",
        str(summary[f"NoC@90>={max_clicks}"]),
        *[f"{100 * v:.1f}" for v in summary["mIoU@k"].values()],
        f"{summary['seconds_per_click']:.3f}",
    )
    Console(width=max(Console().width, 132)).print(table)
