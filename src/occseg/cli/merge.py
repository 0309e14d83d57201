"""``occseg merge clicks|boundaries|synth``: join the outputs of ``--shard K/N`` runs."""

from __future__ import annotations

from pathlib import Path

import typer

from occseg.cli.common import print_click_summary

app = typer.Typer(
    name="merge",
    help="Join the parts of a job split with --shard K/N (run anywhere, e.g. on a cluster).",
    no_args_is_help=True,
)

_PARTS = typer.Argument(..., help="The --out folders of the shard runs 1/N ... N/N.")
_OUT = typer.Option(..., "--out", help="Folder for the merged report.")


@app.command("clicks")
def merge_clicks(parts: list[Path] = _PARTS, out: Path = _OUT) -> None:
    """The report of the whole `occseg eval clicks` run from its shards' reports."""
    from occseg.eval.report import read_click_report, write_click_report
    from occseg.eval.runner import merge_click_reports
    from occseg.io.outputs import check_output_folder

    check_output_folder(out, name="--out")
    report = merge_click_reports(read_click_report(p) for p in parts)
    title = f"{report.meta.get('method')} on {report.meta.get('dataset')}"
    print_click_summary(write_click_report(report, out, title=title))


@app.command("boundaries")
def merge_boundaries(parts: list[Path] = _PARTS, out: Path = _OUT) -> None:
    """The report of the whole `occseg eval boundaries` run (plain or --interactive) from its
    shards' reports."""
    from occseg.eval.boundary_report import read_boundary_report
    from occseg.eval.boundary_run import BoundaryRun, merge_boundary_runs, write_boundary_run
    from occseg.io.outputs import check_output_folder

    check_output_folder(out, name="--out")
    whole = merge_boundary_runs(
        BoundaryRun(title, report) for report, title in map(read_boundary_report, parts)
    )
    write_boundary_run(whole, out)
    typer.echo(f"{whole.describe()} -> {out}")


@app.command("synth")
def merge_synth(
    out: Path = typer.Option(
        ..., "--out", help="The data set folder (the shards' own, or a new one to copy into)."
    ),
    parts: list[Path] = typer.Argument(
        None, help="Other folders holding shards (default: the shards are in --out)."
    ),
) -> None:
    """Write the index of a data set generated with `occseg synth --shard K/N`."""
    from occseg.io.outputs import check_output_folder
    from occseg.synth.dataset import merge_dataset

    check_output_folder(out, name="--out")
    records = merge_dataset(out, parts or [])
    typer.echo(f"merged {len(records)} samples into {out}")
