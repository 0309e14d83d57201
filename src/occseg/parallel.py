"""The one ordered process map of occseg, and shards (``K/N``) splitting long jobs across machines.

Click evaluation, the boundary benchmark and synthesis all run their items through
:func:`ordered_map`:

- workers are started with the ``"spawn"`` method, fresh interpreters that inherit no thread of
  the parent (forking a process after torch, OpenCV, Embree or a progress bar has started threads
  can leave the child asleep on a lock forever);
- heavy objects (a predictor, a renderer) are built by ``setup`` inside each worker, never in the
  parent and never pickled;
- every worker runs one OpenCV/BLAS/OpenMP/torch thread (the processes already fill the cores);
- results come back in input order and equal a single-process run; ``jobs=1`` runs the very same
  calls in this process, without a pool.

A :class:`Shard` selects every ``N``-th item so that any cluster scheduler can run the parts of one
job on different machines; :func:`unshard` puts the parts' results back in input order.

Because workers are spawned, a script that calls a parallel occseg function must guard its entry
point with ``if __name__ == "__main__":`` (the usual rule of Python's ``multiprocessing``).
This module does not import torch.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence, Sized
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, TypeVar

from occseg.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")

#: How worker processes start: a fresh interpreter, safe whatever threads the parent runs.
START_METHOD = "spawn"
#: Items in flight per worker (inputs load lazily, so a long iterable is never read ahead whole).
_IN_FLIGHT_PER_WORKER = 4
#: Thread-count variables read when numpy/BLAS, OpenMP and torch load in a worker.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_UNSET = object()


def cpu_count() -> int:
    """The number of CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class _Worker:
    """What one process holds: the function and the state ``setup`` built for it."""

    def __init__(self, func: Callable[..., Any], setup: Callable[[], Any] | None) -> None:
        self.func = func
        self.state = _UNSET if setup is None else setup()

    def __call__(self, item: Any) -> Any:
        if self.state is _UNSET:
            return self.func(item)
        return self.func(self.state, item)


#: In a pool worker: the pickled ``(func, setup)``, and the worker built from it on first use.
_payload: bytes = b""
_worker: _Worker | None = None


def _start_worker(payload: bytes) -> None:
    """Pool initializer: one thread per library before anything heavy is imported."""
    global _payload
    # numpy's BLAS, OpenMP and torch read these when they load.
    os.environ.update({name: "1" for name in _THREAD_VARS})
    import cv2

    cv2.setNumThreads(1)
    _payload = payload


def _run_in_worker(item: Any) -> Any:
    global _worker
    if _worker is None:  # built with the first item, so that a setup error reaches the caller
        func, setup = pickle.loads(_payload)
        _worker = _Worker(func, setup)
        # torch only if the task imported it: this module stays torch-free.
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(1)
    return _worker(item)


def ordered_map(
    func: Callable[..., R],
    items: Iterable[Any],
    *,
    jobs: int = 1,
    setup: Callable[[], Any] | None = None,
    progress: Callable[[R], None] | None = None,
) -> list[R]:
    """Apply ``func`` to every item in up to ``jobs`` processes; results in input order.

    Parameters
    ----------
    func
        ``func(item)``, or ``func(state, item)`` when ``setup`` is given. Must pickle (a
        module-level function, a :func:`functools.partial` of one, or an instance of a
        module-level class); it is sent once to each worker.
    items
        Any iterable; items are sent to the workers one by one and read lazily (a few per worker
        ahead), so a generator of large arrays is never held whole.
    jobs
        Worker processes, clamped to :func:`cpu_count` and to the number of items (when
        ``items`` has a length). With one worker everything runs in this process, no pool.
    setup
        Called once in each worker, before its first item (in this process for one worker), to
        build the state passed to ``func``, e.g. a predictor. Must pickle like ``func``; the
        state itself is never pickled.
    progress
        Called in this process with each result, in input order, as soon as it is available.

    Returns
    -------
    list
        ``[func(item) for item in items]`` (or with the state), identical whatever ``jobs`` is.

    Raises
    ------
    ConfigError
        If ``jobs`` is below 1. An exception raised by ``func`` or ``setup`` in a worker is
        re-raised here, with its type.

    Examples
    --------
    >>> ordered_map(abs, [-2, 1, -3], jobs=1)
    [2, 1, 3]
    """
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    workers = min(jobs, cpu_count())
    if isinstance(items, Sized):
        workers = min(workers, max(1, len(items)))
    if workers == 1:
        return _map_here(_Worker(func, setup), items, progress)
    return _map_in_pool(func, setup, items, workers, progress)


def _map_here(
    worker: _Worker, items: Iterable[Any], progress: Callable[[Any], None] | None
) -> list[Any]:
    results = []
    for item in items:
        results.append(worker(item))
        if progress is not None:
            progress(results[-1])
    return results


def _map_in_pool(
    func: Callable[..., Any],
    setup: Callable[[], Any] | None,
    items: Iterable[Any],
    workers: int,
    progress: Callable[[Any], None] | None,
) -> list[Any]:
    payload = pickle.dumps((func, setup))
    results: list[Any] = []
    pending: deque[Future] = deque()
    pool = ProcessPoolExecutor(
        workers,
        mp_context=get_context(START_METHOD),
        initializer=_start_worker,
        initargs=(payload,),
    )
    try:
        remaining = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < _IN_FLIGHT_PER_WORKER * workers:
                item = next(remaining, _UNSET)
                if item is _UNSET:
                    exhausted = True
                else:
                    pending.append(pool.submit(_run_in_worker, item))
            if not pending:
                break
            results.append(pending.popleft().result())
            if progress is not None:
                progress(results[-1])
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` of a job, written ``"K/N"`` with ``K`` counted from 1.

    Shard ``K/N`` takes the items ``i`` (counted from 0) with ``i % N == K - 1``: every ``N``-th
    item, so that parts are balanced even when neighbouring items cost alike. Run ``1/N`` ...
    ``N/N`` anywhere, then merge their outputs (:func:`unshard`).

    Examples
    --------
    >>> s = Shard.parse("2/3")
    >>> list(s.indices(8)), str(s)
    ([1, 4, 7], '2/3')
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ConfigError(
                f"shard {self.index}/{self.count} does not exist: use K/N with 1 <= K <= N"
            )

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Read ``"K/N"`` (e.g. ``"2/4"``, 1-based); raise :class:`ConfigError` otherwise."""
        m = _SHARD.fullmatch(str(text))
        if m is None:
            raise ConfigError(f"shard must look like K/N with 1 <= K <= N (e.g. 2/4), got {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def indices(self, n: int) -> range:
        """The positions of this shard's items among ``n`` items."""
        return range(self.index - 1, n, self.count)

    def select(self, items: Sequence[T]) -> Sequence[T]:
        """This shard's items of ``items`` (a sequence that slices lazily, e.g. a data set)."""
        return items[self.index - 1 :: self.count]


def unshard(parts: Iterable[tuple[Shard, Sequence[T]]]) -> list[T]:
    """Put the results of shards ``1/N`` ... ``N/N`` of one job back in input order.

    Parameters
    ----------
    parts
        ``(shard, results)`` pairs, in any order, where ``results`` are in the shard's order
        (``results[j]`` belongs to item ``shard.index - 1 + j * shard.count``).

    Raises
    ------
    ConfigError
        If the shards do not all split into the same ``N``, one is missing or given twice, or
        their lengths cannot come from one list of items.

    Examples
    --------
    >>> unshard([(Shard(2, 2), ["b", "d"]), (Shard(1, 2), ["a", "c", "e"])])
    ['a', 'b', 'c', 'd', 'e']
    """
    by_index: dict[int, Sequence[T]] = {}
    counts = set()
    for shard, results in parts:
        if shard.index in by_index:
            raise ConfigError(f"shard {shard} is given twice; merge each shard's output once")
        by_index[shard.index] = results
        counts.add(shard.count)
    if len(counts) != 1:
        raise ConfigError(
            "nothing to merge" if not counts else "the shards split into different numbers of parts"
        )
    n_parts = counts.pop()
    missing = [f"{k}/{n_parts}" for k in range(1, n_parts + 1) if k not in by_index]
    if missing:
        raise ConfigError(f"shard(s) {', '.join(missing)} missing: merge all {n_parts} shards")
    parts_in_order = [by_index[k] for k in range(1, n_parts + 1)]
    lengths = [len(r) for r in parts_in_order]
    if lengths != sorted(lengths, reverse=True) or lengths[0] - lengths[-1] > 1:
        raise ConfigError(
            f"shards 1..{n_parts} hold {', '.join(map(str, lengths))} results, which no single "
            "list of items gives: a shard's run is incomplete or belongs to another job"
        )
    out: list[Any] = [None] * sum(lengths)
    for k, results in enumerate(parts_in_order):
        out[k::n_parts] = results
    return out
