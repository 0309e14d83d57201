"""The one progress-bar style of the long-running commands (evaluation, generation, training)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)


def progress_bar(*fields: str, console: Console | None = None, disable: bool = False) -> Progress:
    """A rich progress bar: description, bar, done/total, any ``fields``, time remaining.

    Each item of ``fields`` is a rich format string such as ``"NoC@90 {task.fields[noc]}"``.
    Progress goes to stderr unless ``console`` says otherwise.
    """
    columns: list[ProgressColumn] = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *(TextColumn(f) for f in fields),
        TimeRemainingColumn(),
    ]
    return Progress(*columns, console=console or Console(stderr=True), disable=disable)
