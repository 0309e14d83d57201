"""Shapes and gradients of every backbone on tiny inputs."""

from __future__ import annotations

import pytest
import torch

from occseg.nn.backbones import BODY_NAMES, build_body
from occseg.nn.backbones.hrnet import HRNET_SPECS, HRNetOCR

torch.set_num_threads(1)


@pytest.mark.parametrize("name", BODY_NAMES)
def test_shapes_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    body = build_body(name, width_mult=0.125)
    x = torch.randn(2, 3, 36, 44, requires_grad=True)
    stem = torch.zeros(2, body.stem_channels, 18, 22, requires_grad=True)
    feats, aux = body(x, stem)
    assert feats.shape == (2, body.out_channels, 9, 11)
    if name.startswith("hrnet"):
        assert aux is not None and aux.shape == (2, 1, 9, 11)
    else:
        assert aux is None
    (feats.square().mean() + (aux.mean() if aux is not None else 0)).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert stem.grad is not None and stem.grad.abs().sum() > 0  # the Conv1S entry point
    missing = [n for n, p in body.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing


def test_channels_last_matches_contiguous() -> None:
    torch.manual_seed(0)
    body = build_body("hrnet18s", width_mult=0.125).eval()
    x = torch.randn(1, 3, 32, 32)
    ref, _ = body(x)
    body = body.to(memory_format=torch.channels_last)
    out, _ = body(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("name", "params_m"), [("hrnet18s", 4.22), ("hrnet18", 10.03)])
def test_paper_widths(name: str, params_m: float) -> None:
    """RITM Table 4 lists HRNet18s+OCR at 4.22 M and HRNet18+OCR at 10.03 M parameters."""
    body = HRNetOCR(name)
    assert body.ocr.out_channels == 2 * HRNET_SPECS[name].ocr_width
    n = sum(p.numel() for p in body.parameters()) / 1e6
    assert abs(n - params_m) < 0.05


def test_unknown_backbone() -> None:
    with pytest.raises(ValueError, match="unknown backbone"):
        build_body("vgg16")
