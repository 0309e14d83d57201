"""Tasks for ``tests/test_parallel.py``: spawned workers import them by name (test modules, loaded
by pytest's importlib mode, cannot be imported there)."""

from __future__ import annotations

import os
import sys
import time

from occseg.errors import DatasetError


def slow_echo(item: tuple[float, int]) -> tuple[int, int]:
    """Sleep ``item[0]`` seconds, then return ``item[1]`` and this process's id."""
    delay, value = item
    time.sleep(delay)
    return value, os.getpid()


def worker_facts(_item: object) -> dict:
    """What the process running this looks like: its id, threads, and whether torch is loaded."""
    import cv2

    torch = sys.modules.get("torch")
    return {
        "pid": os.getpid(),
        "cv2_threads": cv2.getNumThreads(),
        "torch_loaded": torch is not None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
    }


_setup_calls = 0


def load_torch() -> tuple[str, int, int]:
    """A setup that imports torch (as building a predictor does): its version, how many times
    this process ran the setup, and the process id."""
    global _setup_calls
    import torch

    _setup_calls += 1
    return torch.__version__, _setup_calls, os.getpid()


def facts_with_state(state: object, item: object) -> dict:
    """:func:`worker_facts` of a worker with state, and that state."""
    return {"state": state, **worker_facts(item)}


def fail_on_three(item: int) -> int:
    """Raise a user error on item 3."""
    if item == 3:
        raise DatasetError("item 3 is broken")
    return item


def broken_setup() -> None:
    """A setup that fails as building a predictor from a bad name does."""
    raise DatasetError("setup failed: no such model")
