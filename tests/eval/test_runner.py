"""Click evaluation over a data set: several processes give one process's results; shards merge."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from occseg import parallel
from occseg.checkpoint import save_checkpoint
from occseg.cli import main
from occseg.data.toy import toy_samples
from occseg.errors import ConfigError, FileFormatError
from occseg.eval.clicks import ClickReport, SampleResult
from occseg.eval.report import read_click_report, write_click_report
from occseg.eval.runner import merge_click_reports, run_click_eval
from occseg.io import write_png
from occseg.nn import ClickNet, ClickNetConfig
from occseg.parallel import Shard


def _traces(report: ClickReport) -> list[tuple]:
    return [(r.name, r.ious, r.clicks) for r in report.results]


@pytest.fixture
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers even on a one-CPU machine, so that the pool is really used."""
    monkeypatch.setattr(parallel, "cpu_count", lambda: 2)


@pytest.fixture
def torch_threads_running():
    """The parent has run torch's thread pool, as loading a predictor there does (the deadlock
    of issue 12 came from forking a pool after that)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    (torch.ones(1000, 1000) @ torch.ones(1000, 1000)).sum()
    yield
    torch.set_num_threads(before)


def test_two_jobs_equal_one_for_a_torch_predictor_built_in_the_workers(
    tmp_path: Path, two_cpus, torch_threads_running
) -> None:
    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, ClickNet(ClickNetConfig(width_mult=0.125)).eval())
    samples = toy_samples(4, size=(64, 80))
    options = {"zoom_in": False}
    one = run_click_eval(
        str(path), samples, max_clicks=3, target_iou=None, predictor_options=options
    )
    seen: list[SampleResult] = []
    two = run_click_eval(
        str(path),
        samples,
        max_clicks=3,
        target_iou=None,
        jobs=2,
        progress=seen.append,
        predictor_options=options,
    )
    assert _traces(two) == _traces(one)
    assert [r.name for r in seen] == [s.name for s in samples]
    assert all(len(r.ious) == 3 for r in two.results)
    assert two.meta == one.meta == {"method": str(path), "predictor_options": options}


def test_cli_jobs_2_writes_what_jobs_1_writes(tmp_path: Path, two_cpus) -> None:
    for folder in ("images", "masks"):
        (tmp_path / "d" / folder).mkdir(parents=True)
    for s in toy_samples(3, size=(48, 64)):
        write_png(tmp_path / "d" / "images" / f"{s.name}.png", s.image)
        write_png(tmp_path / "d" / "masks" / f"{s.name}.png", s.mask.astype(np.uint8) * 255)
    per_sample = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        args = ["--dataset", f"folder:{tmp_path / 'd'}", "--max-clicks", "4", "--jobs", jobs]
        assert main(["eval", "clicks", *args, "--out", str(out)]) == 0
        rows = json.loads((out / "per_sample.json").read_text())
        per_sample.append([{k: v for k, v in r.items() if k != "seconds"} for r in rows])
    assert per_sample[0] == per_sample[1] and len(per_sample[0]) == 3


def test_shards_merge_into_the_unsharded_report(tmp_path: Path) -> None:
    samples = toy_samples(5, size=(48, 64))
    whole = run_click_eval("graphcut", samples, max_clicks=4)
    parts = [run_click_eval("graphcut", samples, max_clicks=4, shard=Shard(k, 2)) for k in (2, 1)]
    assert [len(p.results) for p in parts] == [2, 3] and parts[0].meta["shard"] == "2/2"
    merged = merge_click_reports(parts)
    assert _traces(merged) == _traces(whole) and merged.meta == whole.meta

    # Through the files each run writes (the way separate machines hand back their parts).
    write_click_report(whole, tmp_path / "whole")
    for k, part in zip((2, 1), parts, strict=True):
        write_click_report(part, tmp_path / f"part{k}")
    from_files = merge_click_reports(read_click_report(tmp_path / f"part{k}") for k in (1, 2))
    expected = read_click_report(tmp_path / "whole")
    assert _traces(from_files) == _traces(expected)
    summary, want = from_files.summary(), expected.summary()
    summary.pop("seconds_per_click"), want.pop("seconds_per_click")
    assert summary == want


def test_merge_refuses_parts_that_do_not_make_one_run(tmp_path: Path) -> None:
    samples = toy_samples(3, size=(48, 64))
    first = run_click_eval("graphcut", samples, max_clicks=2, shard=Shard(1, 2))
    second = run_click_eval("graphcut", samples, max_clicks=2, shard=Shard(2, 2))
    with pytest.raises(ConfigError, match="2/2 missing"):
        merge_click_reports([first])
    with pytest.raises(ConfigError, match="not from a sharded run"):
        merge_click_reports([first, run_click_eval("graphcut", samples, max_clicks=2)])
    other = run_click_eval("graphcut", samples, max_clicks=3, shard=Shard(2, 2))
    with pytest.raises(ConfigError, match="other settings"):
        merge_click_reports([first, other])
    with pytest.raises(ConfigError, match="twice"):
        merge_click_reports([first, first, second])
    with pytest.raises(ConfigError, match="no click reports"):
        merge_click_reports([])
    with pytest.raises(FileFormatError, match="no readable click report"):
        read_click_report(tmp_path / "nothing")
