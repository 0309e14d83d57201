"""The ``occseg`` command: one module per verb (group), assembled here.

Each verb module defines its own typer commands, a few lines over a public library function;
only this package puts them together and runs them (:func:`main`). The library never imports
the command line.

Every mistake on the command line ends in one line on stderr and exit status 2, never in a
traceback: typer's own usage errors (unknown command or option, missing option, bad value) as
well as every user-caused :class:`~occseg.errors.OccsegError` raised by the library.
"""

from __future__ import annotations

import typer

# typer runs its own copy of click (typer._click): its exceptions are not click's
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from occseg import __version__
from occseg.cli import (
    annotate,
    boundaries,
    demo,
    evaluate,
    export,
    merge,
    order,
    proposals,
    synth,
    train,
)
from occseg.errors import OccsegError

__all__ = ["app", "main"]

app = typer.Typer(
    name="occseg",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"occseg {__version__}")
        raise typer.Exit()


@app.callback()
def _occseg(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Interactive, occlusion-aware image segmentation: object masks from clicks, occlusion
    boundaries and occlusion order; evaluation with the field's protocols."""


for _verbs in (annotate, boundaries, order, proposals, synth, demo, evaluate, train, export, merge):
    app.add_typer(_verbs.app)


def _error(message: str) -> None:
    """``message`` as one line on stderr."""
    typer.echo(" ".join(message.split()), err=True)


def _usage_error(exc: ClickException) -> str:
    """typer's message, with where to find help when it knows the command."""
    text = f"error: {exc.format_message()}"
    ctx = getattr(exc, "ctx", None) if isinstance(exc, UsageError) else None
    if ctx is not None:
        text += f" (see '{ctx.command_path} --help')"
    return text


def main(argv: list[str] | None = None) -> int:
    """Run ``occseg`` with ``argv`` (default: the process's arguments); return the exit status.

    0 on success and for ``--help`` / ``--version``; 2 for every mistake (printed as one line on
    stderr), with the usage when a command is called without arguments; 130 when interrupted.
    """
    try:
        result = app(args=argv, prog_name="occseg", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # `occseg`, `occseg eval`: the help, then status 2
        exc.show()
        return exc.exit_code
    except ClickException as exc:
        _error(_usage_error(exc))
        return 2
    except OccsegError as exc:
        _error(f"error: {exc}")
        return 2
    except OSError as exc:  # a path the user gave cannot be read or written
        if exc.filename is None:
            raise
        _error(f"error: {exc.strerror or exc}: {exc.filename}")
        return 2
    except typer.Abort:
        _error("aborted")
        return 1
    return result if isinstance(result, int) else 0
