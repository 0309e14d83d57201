"""``occseg demo``: the click protocol on generated toy images (no files needed)."""

from __future__ import annotations

from pathlib import Path

import typer

from occseg.cli.common import click_progress, console, print_click_summary

app = typer.Typer()


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Output folder."),
    method: str = typer.Option("graphcut", help="Predictor name or checkpoint path."),
    n: int = typer.Option(12, min=1, max=10_000, help="Number of generated images."),
) -> None:
    """Evaluate a predictor on a generated toy dataset (no files needed) and show the results."""
    from occseg.data.toy import toy_samples
    from occseg.eval.click_run import run_click_benchmark
    from occseg.eval.report import write_click_report
    from occseg.io.outputs import check_output_folder

    check_output_folder(out, name="--out")
    samples = toy_samples(n)
    with click_progress(method, n, 20) as tick:
        report = run_click_benchmark(
            samples, method, dataset=f"toy (n={n}, generated)", progress=tick
        )
    print_click_summary(write_click_report(report, out, title=f"{method} on generated toy images"))
    console.print(f"mIoU vs clicks plot: {out / 'miou_vs_clicks.png'} (all results in {out}/)")
