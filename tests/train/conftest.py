"""Fixtures of the training tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch


@pytest.fixture
def cuda_autocast_on_cpu(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """``patch(module)``: that trainer's ``autocast`` becomes bfloat16 autocast on the CPU too,
    so its CUDA path (bfloat16 forward passes, float32 losses) runs without a GPU."""

    def patch(module: str) -> None:
        monkeypatch.setattr(
            f"{module}.autocast", lambda device: torch.autocast(device.type, dtype=torch.bfloat16)
        )

    return patch
