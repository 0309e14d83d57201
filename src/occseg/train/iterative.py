"""The iterative part of RITM's training-time interaction simulation (Sec. 3.2-3.3).

:func:`iterative_rollout` runs the model on a batch without gradients, lets the simulated user
correct each prediction, and feeds the prediction back as the previous mask, ``n_iters`` times.
It knows the model only as a function ``(maps, prev) -> probability``, the interactions only
through an :class:`~occseg.nn.inputs.InteractionEncoder` and the user only through an
:class:`~occseg.simulate.clicks.InteractionSimulator`, so boundary clicks or proposal targets
plug in without changes here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from occseg.encode import InteractionEncoder
from occseg.simulate.clicks import InteractionSimulator

#: ``forward(maps B×C×H×W, prev B×1×H×W) -> probability B×1×H×W``.
Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def encode_batch(
    encoder: InteractionEncoder, interactions: Sequence[Sequence[Any]], shape: tuple[int, int]
) -> torch.Tensor:
    """Encode each sample's interactions: ``B×C×H×W float32`` tensor."""
    return torch.from_numpy(np.stack([encoder.encode(list(i), shape) for i in interactions]))


def sample_n_iters(rng: np.random.Generator, max_iters: int) -> int:
    """The number of iterative rounds of one batch, uniform in ``[0, max_iters]`` (Sec. 3.2)."""
    return int(rng.integers(0, max_iters + 1))


def iterative_rollout(
    forward: Forward,
    interactions: Sequence[Sequence[Any]],
    gts: np.ndarray,
    encoder: InteractionEncoder,
    simulator: InteractionSimulator,
    n_iters: int,
    rng: np.random.Generator,
    *,
    ignores: np.ndarray | None = None,
    threshold: float = 0.49,
) -> tuple[list[list[Any]], torch.Tensor]:
    """Add up to ``n_iters`` simulated corrections to each sample's interactions.

    Each round: predict with the current interactions and previous mask, threshold at
    ``threshold``, ask the simulator for corrections of the errors, and keep the probability as
    the next previous mask. Runs under ``torch.no_grad()``; put the model in eval mode first
    (RITM does). For ``n_iters == 0`` the previous mask is all zeros, as for a first click
    (Sec. 3.3).

    Parameters
    ----------
    forward
        The model as ``(maps, prev) -> probability`` (images bound by the caller).
    interactions
        Per sample, the interactions so far (copied, not modified).
    gts
        ``B×H×W bool`` targets.
    ignores
        ``B×H×W bool`` pixels excluded from the error regions, or None.

    Returns
    -------
    interactions, prev
        The extended interactions and the ``B×1×H×W`` previous probability to feed with them.
    """
    out = [list(i) for i in interactions]
    b, h, w = gts.shape
    prev = torch.zeros(b, 1, h, w)
    with torch.no_grad():
        for _ in range(n_iters):
            prob = forward(encode_batch(encoder, out, (h, w)), prev).float()
            pred = (prob[:, 0] > threshold).cpu().numpy()
            for k in range(b):
                ignore = None if ignores is None else ignores[k]
                out[k] += simulator.next(gts[k], pred[k], rng, ignore=ignore, history=out[k])
            prev = prob.cpu()
    return out, prev
