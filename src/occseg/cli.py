"""The ``occseg`` command: thin argument parsing over the library.

Every user-caused error (:class:`~occseg.errors.OccsegError`) is printed as one line on stderr
and the command exits with status 2, never with a traceback.
"""

from __future__ import annotations

import sys

import typer

from occseg.errors import OccsegError

app = typer.Typer(
    name="occseg",
    help="Interactive, occlusion-aware image segmentation: object masks from clicks, "
    "occlusion boundaries and occlusion order; evaluation with the field's protocols.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(
    help="Evaluate methods with the field's standard protocols.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


def _register_commands() -> None:
    """Import the modules that attach sub-commands (kept apart so each area owns its verbs)."""
    from occseg.app import cli as app_cli  # noqa: F401
    from occseg.eval import boundaries_cli  # noqa: F401
    from occseg.eval import cli as eval_cli  # noqa: F401
    from occseg.eval import order_cli as eval_order_cli  # noqa: F401
    from occseg.occlusion import cli as order_cli  # noqa: F401
    from occseg.predict import cli as predict_cli  # noqa: F401
    from occseg.synth import cli as synth_cli  # noqa: F401
    from occseg.train import cli as train_cli  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    _register_commands()
    try:
        app(args=argv, standalone_mode=False)
    except OccsegError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except SystemExit as exc:  # typer/click exit paths (--help, usage errors)
        return int(exc.code or 0)
    except typer.Abort:
        return 1
    except Exception as exc:  # click usage errors surface as ClickException
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return 2
        raise
    return 0


if __name__ == "__main__":
    # Run through the imported module: sub-commands register on ``occseg.cli.app``, not on a
    # second copy of this file executing as ``__main__``.
    from occseg.cli import main as _main

    sys.exit(_main())
