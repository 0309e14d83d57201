"""``occseg eval clicks|selection|boundaries|order``: the field's evaluation protocols over a
data set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from occseg.cli.common import (
    advancing,
    click_progress,
    console,
    open_unit_interval,
    print_click_summary,
)
from occseg.eval.selection_recall import DEFAULT_PADS
from occseg.occlusion.convexity import CONVEXITY_WEIGHT
from occseg.occlusion.detectors import DETECTORS
from occseg.occlusion.scores import DEFAULT_SCORE, SCORES

app = typer.Typer(
    name="eval", help="Evaluate methods with the field's standard protocols.", no_args_is_help=True
)

_SHARD_HELP = (
    "Evaluate only part K of N of the samples (e.g. 2/4), for splitting one run across "
    "machines; join the parts' --out folders with `occseg merge {kind}`."
)


@app.command("clicks")
def eval_clicks(
    dataset: str = typer.Option(..., help="KIND:PATH, e.g. coco_mval:../data/coco_mval."),
    method: str = typer.Option("graphcut", help="Predictor name or checkpoint path."),
    out: Path = typer.Option(..., help="Output folder for summary.json, per_sample.json, plots."),
    max_clicks: int = typer.Option(20, min=1, help="Clicks per object."),
    limit: int = typer.Option(0, min=0, help="Evaluate only the first N samples (0 = all)."),
    every: int = typer.Option(1, min=1, help="Evaluate every N-th sample (before --limit)."),
    jobs: int = typer.Option(1, min=1, help="Worker processes."),
    all_clicks: bool = typer.Option(
        False, help="Always make --max-clicks clicks (exact mIoU@k) instead of stopping at 90%."
    ),
    option: list[str] = typer.Option(
        [],
        help="Predictor option KEY=VALUE (repeatable), e.g. refine=hybrid, refine.weight=0.5.",
    ),
    shard: str | None = typer.Option(None, help=_SHARD_HELP.format(kind="clicks")),
    interaction: str = typer.Option(
        "clicks",
        help="The simulated user: clicks (positive/negative, the standard) or boundary (a "
        "selection click, then boundary clicks; for two-in-one models).",
    ),
) -> None:
    """Click evaluation (NoC@85/90, mIoU@k) with the standard (or the boundary-click) user."""
    from occseg.data import open_dataset
    from occseg.eval.click_run import parse_options, run_click_benchmark, select_samples
    from occseg.eval.report import write_click_report
    from occseg.io.outputs import check_output_folder
    from occseg.parallel import Shard

    part = Shard.parse(shard) if shard is not None else None
    check_output_folder(out, name="--out")
    options = parse_options(option)
    samples = select_samples(open_dataset(dataset), every=every, limit=limit)
    total = len(samples) if part is None else len(part.indices(len(samples)))
    with click_progress(method, total, max_clicks) as tick:
        report = run_click_benchmark(
            samples, method, dataset=dataset, max_clicks=max_clicks, all_clicks=all_clicks,
            jobs=jobs, predictor_options=options, shard=part, progress=tick,
            interaction=interaction,
        )  # fmt: skip
    title = f"{method} on {dataset}" + (" (boundary clicks)" if interaction == "boundary" else "")
    print_click_summary(write_click_report(report, out, title=title))
    console.print(f"wrote {out}/summary.json, per_sample.json, summary.md, miou_vs_clicks.png")


@app.command("selection")
def eval_selection(
    dataset: str = typer.Option(..., help="KIND:PATH, e.g. coco_mval:../data/coco_mval."),
    method: str = typer.Option(
        "twoinone", help="twoinone (the shipped model) or a checkpoint of `occseg train twoinone`."
    ),
    out: Path = typer.Option(
        ..., help="Output folder for summary.json, per_object.json, summary.md and the plot."
    ),
    pads: str = typer.Option(
        ",".join(map(str, DEFAULT_PADS)), help="Paddings in pixels, comma-separated."
    ),
    limit: int = typer.Option(0, min=0, help="Evaluate only the first N samples (0 = all)."),
    jobs: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Instance recall and crop area vs padding of a two-in-one model's selection crop (paper
    002, Sec. 4.2 and Fig. 3a): the share of objects entirely inside the crop."""
    from occseg.data import open_dataset
    from occseg.eval.click_run import select_samples
    from occseg.eval.selection_recall import parse_pads, run_selection_recall
    from occseg.eval.selection_report import write_selection_report
    from occseg.io.outputs import check_output_folder

    paddings = parse_pads(pads)
    check_output_folder(out, name="--out")
    samples = select_samples(open_dataset(dataset), limit=limit)
    with advancing("selection crops", len(samples)) as advance:
        report = run_selection_recall(
            method, samples, pads=paddings, dataset=dataset, jobs=jobs,
            progress=lambda _: advance(),
        )  # fmt: skip
    summary = write_selection_report(report, out, title=f"{method} on {dataset}")
    recall = report.recall(report.model_pad)
    typer.echo(
        f"instance recall {100 * recall:.1f} % at the model's padding ({report.model_pad} px), "
        f"{summary['n_objects']} objects -> {out}"
        if recall is not None
        else f"no object to score -> {out}"
    )


@app.command("boundaries")
def eval_boundaries(
    dataset: str = typer.Option(
        ..., help="KIND:PATH (bsds500, synth, piod, p2orm), e.g. bsds500:../data/bsds500."
    ),
    method: str = typer.Option(
        "sobel",
        help=f"Boundary detector ({' | '.join(DETECTORS)}), obnet (the shipped OB model), "
        "ordernet (the shipped order model: its boundary head, and its orientation where the "
        "data set has orientation ground truth) or the path of an OB or order model checkpoint "
        "(from `occseg train boundaries` / `occseg train order`).",
    ),
    out: Path = typer.Option(..., help="Output folder for summary.json, summary.md and pr.png."),
    split: str | None = typer.Option(None, help="Dataset split (BSDS500: default test)."),
    interactive: bool = typer.Option(
        False,
        "--interactive",
        help="OB model only: evaluate automatic, then with scribbles simulated from the "
        "automatic output; report both and avgFN/avgFP.",
    ),
    threshold: float = typer.Option(
        0.7, callback=open_unit_interval, help="--interactive: T for the error segments."
    ),
    max_segments: int = typer.Option(
        0, min=0, help="--interactive: at most this many FN and FP segments per image (0 = all)."
    ),
    oracle: bool = typer.Option(
        False,
        "--oracle",
        help="--interactive: also score the automatic map with exactly the scribbled errors "
        "fixed (the most the scribbles can give).",
    ),
    limit: int = typer.Option(0, min=0, help="Evaluate only the first N images (0 = all)."),
    jobs: int = typer.Option(1, min=1, help="Worker processes."),
    n_thresholds: int = typer.Option(99, min=1, help="Number of thresholds."),
    max_dist: float = typer.Option(
        0.0075, callback=open_unit_interval, help="Tolerance as a fraction of the diagonal."
    ),
    shard: str | None = typer.Option(None, help=_SHARD_HELP.format(kind="boundaries")),
    flip: bool = typer.Option(
        False,
        "--flip",
        help="OB model only: average each map with that of the mirrored image (twice the time).",
    ),
) -> None:
    """Boundary precision/recall (ODS, OIS, AP, R50) of a detector, OB or order model on a
    dataset; with an order model on data with orientation ground truth also the oriented
    numbers (PIOD OPR).

    Model maps are thinned by edge NMS before the benchmark (paper 000, Sec. 3.2).
    """
    from occseg.eval.boundary_run import (
        check_boundary_options,
        open_boundary_benchmark,
        run_boundary_benchmark,
        write_boundary_run,
    )
    from occseg.io.outputs import check_output_folder
    from occseg.parallel import Shard

    settings: dict[str, Any] = dict(
        interactive=interactive, oracle=oracle, threshold=threshold, max_segments=max_segments,
        jobs=jobs, n_thresholds=n_thresholds, max_dist=max_dist,
        shard=Shard.parse(shard) if shard is not None else None, flip=flip,
    )  # fmt: skip
    check_boundary_options(method, limit=limit, **settings)
    check_output_folder(out, name="--out")
    data = open_boundary_benchmark(dataset, split=split, limit=limit, shard=settings["shard"])
    with advancing(f"{Path(method).stem} boundaries", len(data)) as advance:
        run = run_boundary_benchmark(
            data, method, dataset=dataset, split=split, progress=advance, **settings
        )
    write_boundary_run(run, out)
    typer.echo(f"{run.describe()} -> {out}")


@app.command("order")
def eval_order(
    dataset: str = typer.Option(
        ..., help="synth:PATH, or with --model also cocoa:PATH (a folder of N.jpg + N.json)."
    ),
    out: Path = typer.Option(..., help="Output folder for summary.json, summary.md, oair.png."),
    gt_inputs: bool = typer.Option(
        False, "--gt-inputs", help="Label from ground-truth background and oriented boundaries."
    ),
    model: str | None = typer.Option(
        None,
        help="Label from the maps of this network: ordernet (the shipped order model) or a "
        "checkpoint of `occseg train order`.",
    ),
    mutual: str = typer.Option(
        "majority", help="Ground-truth order of mutually occluding objects: majority | all."
    ),
    inputs: str = typer.Option(
        "order", help="Oriented boundaries from the GT order (supplement 1.3) or 'pixels'."
    ),
    refine: bool = typer.Option(
        True, help="Exact-energy segment moves after the jump moves (an extension)."
    ),
    max_gap: int = typer.Option(
        0, min=0, max=1, help="Graph adjacency: 0 = 4-neighbours, 1 = also one pixel apart."
    ),
    limit: int = typer.Option(0, min=0, help="Evaluate only the first N images (0 = all)."),
    class_agnostic: bool = typer.Option(
        False, "--class-agnostic", help="With --model: match instances by IoU alone."
    ),
    score: str = typer.Option(
        DEFAULT_SCORE,
        help=f"Instance confidence for mAP and the OAIR confidence sweep, one of "
        f"{', '.join(SCORES)} (see `occseg order --help`).",
    ),
    instances: str | None = typer.Option(
        None,
        help="With --model: regions (default; regions of the boundary map ordered by boundary "
        "votes) or crf (the paper's labelling). GT inputs are always labelled by the CRF.",
    ),
    convexity: float = typer.Option(
        CONVEXITY_WEIGHT,
        min=0.0,
        help="With --model: weight of the convexity cue beside the boundary vote when the "
        "ground-truth objects are ordered as given masks, as the app orders annotated objects "
        "(given_* in the summary; 0: the vote alone).",
    ),
    merge_regions: bool = typer.Option(
        True,
        help="With --model and regions: join touching regions split by a weak boundary between "
        "matching colours (as `occseg order` does).",
    ),
    max_side: int | None = typer.Option(
        None,
        "--max-side",
        help="With --model: longest image side the network and the labelling work at, as in "
        "`occseg order` (default 400; 0: full size).",
        show_default=False,
    ),
) -> None:
    """OAIR, weighted coverage, mask mAP and cycle rate of occlusion-ordered instances."""
    from occseg.eval.order_report import write_order_report
    from occseg.eval.order_run import check_order_options, count_order_images, run_order_eval
    from occseg.io.outputs import check_output_folder

    settings: dict[str, Any] = dict(
        gt_inputs=gt_inputs, model=model, mutual=mutual, inputs=inputs, max_gap=max_gap,
        limit=limit, class_agnostic=class_agnostic, score=score, instances=instances,
        merge_regions=merge_regions, max_side=max_side,
    )  # fmt: skip
    check_order_options(dataset, **settings)
    check_output_folder(out, name="--out")
    with advancing("order labelling", count_order_images(dataset, limit=limit)) as advance:
        result = run_order_eval(
            dataset,
            refine=refine,
            convexity=convexity,
            progress=advance,
            **settings,
        )
    write_order_report(result, out)
    typer.echo(f"{result.describe()} -> {out}")
