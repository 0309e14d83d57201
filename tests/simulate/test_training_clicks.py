"""Training-time click simulation: random first clicks and iterative error-region clicks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from occseg.distances import distance_to_outside
from occseg.encode import ClickEncoder
from occseg.simulate import (
    ClickSimulator,
    ErrorRegionClicker,
    InteractionSimulator,
    RandomClickSampler,
    error_regions,
    make_simulator,
)
from occseg.train.iterative import iterative_rollout, sample_n_iters
from occseg.types import Click


def _disk(shape: tuple[int, int], cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _random_shapes(rng: np.random.Generator, shape=(64, 80)) -> np.ndarray:
    m = np.zeros(shape, bool)
    for _ in range(rng.integers(1, 4)):
        m |= _disk(shape, rng.uniform(0, shape[0]), rng.uniform(0, shape[1]), rng.uniform(4, 20))
    return m


def _component_of(mask: np.ndarray, c: Click) -> np.ndarray:
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return labels == labels[c.y, c.x]


def test_first_clicks_follow_the_rules() -> None:
    rng = np.random.default_rng(0)
    sampler = RandomClickSampler()
    for _ in range(40):
        gt = _random_shapes(rng)
        if not gt.any():
            continue
        others = _disk(gt.shape, 5, 5, 6) & ~gt
        clicks = sampler(gt, rng, others=others)
        pos = [c for c in clicks if c.positive]
        neg = [c for c in clicks if not c.positive]
        assert 1 <= len(pos) <= 5 and len(neg) <= 10
        depth = distance_to_outside(gt)
        margin = min(5.0, depth.max())
        assert all(gt[c.y, c.x] and depth[c.y, c.x] >= margin for c in pos)
        assert all(not gt[c.y, c.x] for c in neg)
        for a in range(len(pos)):
            for b in range(a):
                assert np.hypot(pos[a].y - pos[b].y, pos[a].x - pos[b].x) >= 10


@pytest.mark.parametrize("strategy", ["band", "others", "cover"])
def test_negative_strategies(strategy: str) -> None:
    rng = np.random.default_rng(1)
    gt = _disk((80, 80), 40, 40, 15)
    others = _disk((80, 80), 10, 70, 8)
    sampler = RandomClickSampler(max_negative=6, gamma=1.0, strategies=[strategy])
    negs = [c for _ in range(10) for c in sampler.negatives(gt, rng, others=others)]
    assert negs and all(not gt[c.y, c.x] for c in negs)
    if strategy == "others":
        assert all(others[c.y, c.x] for c in negs)
    else:
        dist = np.hypot(np.array([c.y for c in negs]) - 40, np.array([c.x for c in negs]) - 40)
        assert (dist >= 15 + 5 - 1.5).all() and (dist <= 15 + 40 + 1.5).all()


def test_iterative_clicks_lie_in_the_eroded_error_region() -> None:
    """RITM Sec. 3.2: only inside the error region, sampled from its 4×-shrunk erosion."""
    rng = np.random.default_rng(2)
    clicker = ErrorRegionClicker()
    n = 0
    for _ in range(60):
        gt, pred = _random_shapes(rng), _random_shapes(rng)
        ignore = _random_shapes(rng) if rng.random() < 0.3 else None
        fn, fp = error_regions(gt, pred, ignore)
        clicks = clicker(gt, pred, rng, ignore)
        if not (fn.any() or fp.any()):
            assert clicks == []
            continue
        (c,) = clicks
        assert (fn if c.positive else fp)[c.y, c.x]
        region, positive = clicker.eroded_region(gt, pred, ignore)
        assert positive == c.positive and region[c.y, c.x]
        component = _component_of(fn if positive else fp, c)
        assert (region <= component).all()
        depth = distance_to_outside(component)
        deepest = depth == depth.max()
        assert region.sum() <= 0.5 * component.sum() or (region == deepest).all()
        n += 1
    assert n > 40


def test_eroded_area_is_about_a_quarter() -> None:
    gt = np.zeros((100, 100), bool)
    gt[20:80, 20:80] = True
    region, positive = ErrorRegionClicker().eroded_region(gt, np.zeros_like(gt))
    assert positive
    assert 0.2 <= region.sum() / gt.sum() <= 0.3


def test_no_error_no_click() -> None:
    gt = _disk((20, 20), 10, 10, 5)
    assert ErrorRegionClicker()(gt, gt, np.random.default_rng(0)) == []


def test_rollout_feeds_back_and_clicks_in_errors() -> None:
    """A fake model predicting an empty mask makes every added click positive, in the object."""
    rng = np.random.default_rng(3)
    gts = np.stack([_disk((40, 40), 20, 20, 10), _disk((40, 40), 10, 25, 6)])
    calls = []

    def forward(maps: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        assert not torch.is_grad_enabled()
        calls.append(prev.clone())
        return torch.full_like(prev, 0.2) + 0.0 * maps[:, :1]

    start = [[Click(20, 20, True)], [Click(10, 25, True)]]
    out, prev = iterative_rollout(
        forward, start, gts, ClickEncoder(), make_simulator("clicks"), 3, rng
    )
    assert len(calls) == 3 and calls[0].abs().sum() == 0 and torch.allclose(calls[1], prev)
    for k in range(2):
        assert out[k][0] == start[k][0] and len(out[k]) == 4
        assert all(c.positive and gts[k][c.y, c.x] for c in out[k][1:])
    out0, prev0 = iterative_rollout(forward, start, gts, ClickEncoder(), ClickSimulator(), 0, rng)
    assert out0 == start and prev0.abs().sum() == 0


def test_protocol_and_registry() -> None:
    assert isinstance(make_simulator("clicks", max_positive=2), InteractionSimulator)
    with pytest.raises(ValueError, match="no simulator"):
        make_simulator("scribbles")
    counts = {sample_n_iters(np.random.default_rng(s), 3) for s in range(50)}
    assert counts == {0, 1, 2, 3}
