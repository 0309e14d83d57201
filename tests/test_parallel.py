"""The one ordered process map (spawned workers, input order, per-worker state) and shards."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from occseg import parallel
from occseg.errors import ConfigError, DatasetError
from occseg.parallel import Shard, ordered_map, unshard


@pytest.fixture
def tasks(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The helper tasks, importable by spawned workers (they inherit ``sys.path``)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return importlib.import_module("parallel_tasks")


@pytest.fixture
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers even on a one-CPU machine, so that the pool is really used."""
    monkeypatch.setattr(parallel, "cpu_count", lambda: 2)


def test_results_keep_input_order_when_workers_finish_out_of_order(tasks, two_cpus) -> None:
    items = [(0.4, 0), (0.0, 1), (0.0, 2), (0.2, 3), (0.0, 4), (0.0, 5)]
    seen: list[tuple[int, int]] = []
    out = ordered_map(tasks.slow_echo, items, jobs=2, progress=seen.append)
    assert [v for v, _ in out] == list(range(6))
    assert seen == out  # progress sees every result, in input order
    pids = {pid for _, pid in out}
    assert len(pids) == 2 and os.getpid() not in pids


def test_one_job_runs_here_without_a_pool(tasks) -> None:
    out = ordered_map(tasks.slow_echo, [(0.0, 7), (0.0, 8)], jobs=1)
    assert out == [(7, os.getpid()), (8, os.getpid())]


def test_jobs_clamp_to_items_and_cpus(tasks, monkeypatch) -> None:
    # One item: no pool, whatever jobs says.
    assert ordered_map(tasks.slow_echo, [(0.0, 1)], jobs=8) == [(1, os.getpid())]
    # One CPU: no pool either.
    monkeypatch.setattr(parallel, "cpu_count", lambda: 1)
    out = ordered_map(tasks.slow_echo, [(0.0, 1), (0.0, 2)], jobs=8)
    assert {pid for _, pid in out} == {os.getpid()}
    with pytest.raises(ConfigError, match="at least 1"):
        ordered_map(tasks.slow_echo, [], jobs=0)
    assert ordered_map(tasks.slow_echo, [], jobs=2) == []


def test_workers_are_spawned_not_forked_and_run_one_thread(tasks, two_cpus) -> None:
    # The parent runs torch's thread pool; a forked child would inherit torch (and its locks).
    torch.ones(300, 300) @ torch.ones(300, 300)
    facts = ordered_map(tasks.worker_facts, range(4), jobs=2)
    assert all(f["pid"] != os.getpid() for f in facts)
    assert not any(f["torch_loaded"] for f in facts)  # fresh interpreters
    assert all(f["cv2_threads"] == 1 for f in facts)


def test_setup_builds_state_once_in_each_worker_and_torch_gets_one_thread(tasks, two_cpus) -> None:
    facts = ordered_map(tasks.facts_with_state, range(6), jobs=2, setup=tasks.load_torch)
    # (version, setup calls so far in that process, process that built it)
    assert all(f["state"] == (torch.__version__, 1, f["pid"]) for f in facts)
    assert os.getpid() not in {f["pid"] for f in facts}  # never built in this process
    assert all(f["torch_loaded"] and f["torch_threads"] == 1 for f in facts)
    here = ordered_map(tasks.facts_with_state, range(3), jobs=1, setup=tasks.load_torch)
    assert len({f["state"] for f in here}) == 1 and here[0]["state"][2] == os.getpid()


def test_long_inputs_are_read_lazily(tasks, two_cpus) -> None:
    drawn: list[int] = []
    drawn_at_first_result: list[int] = []

    def items():
        for i in range(40):
            drawn.append(i)
            yield (0.0, i)

    def tick(_result) -> None:
        if not drawn_at_first_result:
            drawn_at_first_result.append(len(drawn))

    out = ordered_map(tasks.slow_echo, items(), jobs=2, progress=tick)
    assert [v for v, _ in out] == list(range(40))
    assert drawn_at_first_result[0] < 40


def test_a_worker_error_reaches_the_caller_with_its_type(tasks, two_cpus) -> None:
    with pytest.raises(DatasetError, match="item 3 is broken"):
        ordered_map(tasks.fail_on_three, range(8), jobs=2)
    with pytest.raises(DatasetError, match="item 3 is broken"):
        ordered_map(tasks.fail_on_three, range(8), jobs=1)
    for jobs in (1, 2):
        with pytest.raises(DatasetError, match="setup failed"):
            ordered_map(tasks.facts_with_state, range(4), jobs=jobs, setup=tasks.broken_setup)


# ---------------------------------------------------------------------------------------------
# shards


def test_shard_parsing() -> None:
    assert Shard.parse("2/4") == Shard(2, 4)
    assert Shard.parse(" 1 / 1 ") == Shard(1, 1)
    assert str(Shard.parse("3/7")) == "3/7"
    for bad in ("3/2", "0/2", "a/b", "1/0", "2", "", "-1/2", "1/2/3", "1.5/2"):
        with pytest.raises(ConfigError) as err:
            Shard.parse(bad)
        assert "K/N" in str(err.value) and "\n" not in str(err.value)


def test_shard_indices_are_one_based_and_select_every_nth() -> None:
    assert list(Shard(1, 3).indices(7)) == [0, 3, 6]
    assert list(Shard(3, 3).indices(7)) == [2, 5]
    assert Shard(2, 3).select("abcdefg") == "be"
    assert list(Shard(4, 4).indices(2)) == []


@given(st.integers(0, 40), st.integers(1, 9))
def test_shards_partition_the_items_and_unshard_restores_the_order(n: int, count: int) -> None:
    items = [f"item{i}" for i in range(n)]
    parts = [(Shard(k, count), Shard(k, count).select(items)) for k in range(count, 0, -1)]
    assert sorted(i for s, _ in parts for i in s.indices(n)) == list(range(n))
    assert unshard(parts) == items


def test_unshard_refuses_incomplete_or_mixed_parts() -> None:
    items = list(range(10))
    a, b, c = (Shard(k, 3) for k in (1, 2, 3))
    with pytest.raises(ConfigError, match="3/3 missing"):
        unshard([(a, a.select(items)), (b, b.select(items))])
    with pytest.raises(ConfigError, match="twice"):
        unshard([(a, a.select(items)), (a, a.select(items))])
    with pytest.raises(ConfigError, match="different numbers"):
        unshard([(a, a.select(items)), (Shard(2, 2), items[1::2])])
    with pytest.raises(ConfigError, match="hold 4, 2, 3 results"):
        unshard([(a, a.select(items)), (b, [1, 4]), (c, c.select(items))])
    with pytest.raises(ConfigError, match="nothing to merge"):
        unshard([])
