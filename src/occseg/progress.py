"""The one progress-bar style of the long-running commands (evaluation, generation, training)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)


class _Progress(Progress):
    """A progress bar that clears itself when the work ends in an error, so that the error's
    one line is all that stays on the terminal (and all a log file gets)."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            super().__exit__(exc_type, exc_val, exc_tb)
        else:  # Progress.stop would also end a non-terminal's output with an empty line
            self.live.transient = True
            self.live.stop()


def progress_bar(*fields: str, console: Console | None = None, disable: bool = False) -> Progress:
    """A rich progress bar: description, bar, done/total, any ``fields``, time remaining.

    Each item of ``fields`` is a rich format string such as ``"NoC@90 {task.fields[noc]}"``.
    Progress goes to stderr unless ``console`` says otherwise; a bar left by an exception is
    cleared.
    """
    columns: list[ProgressColumn] = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *(TextColumn(f) for f in fields),
        TimeRemainingColumn(),
    ]
    return _Progress(*columns, console=console or Console(stderr=True), disable=disable)
