"""Optional capabilities of the app, used as soon as a model provides them.

Object mode (clicks → mask) and manual order mode always work. Four more appear when a model
offers them; the server reports them at ``GET /api/info`` and the page hides what is missing:

* **boundary clicks** — the click predictor declares ``supports_boundary_clicks = True`` and its
  ``predict`` accepts :class:`~occseg.types.BoundaryClick` among the interactions (Two-in-One
  refinement: the page's boundary-click mode, on from the start, sends an object's first click
  as a positive selection click and every later one as a boundary click);
* **boundary mode** — a :class:`~occseg.predictor.BoundaryModel` re-estimates the
  occlusion-boundary map from FN/FP scribbles (the page shows it thinned);
* **automatic ordering** — an :class:`~occseg.predictor.OrderModel` proposes ``(front, back)``
  pairs from the masks and, when present, the boundary map;
* **proposals** — a :class:`~occseg.app.proposals.RegionProposals` shows whole-image region
  proposals; a click on one adopts it as a new object.

A click predictor that also has ``predict_boundaries`` / ``order_objects`` methods serves as the
boundary / order model by itself; otherwise pass them to :func:`occseg.app.server.create_app`.
The library's trained networks serve as both through :mod:`occseg.app.models`: ``occseg
annotate`` uses the shipped ones where installed (``--boundary-model`` / ``--order-model``: a
checkpoint instead, or ``none``), and the proposals layer over EfficientNet features
(``--proposals``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from occseg.app.proposals import RegionProposals
from occseg.predictor import BoundaryModel, OrderModel

__all__ = ["Extensions", "capabilities", "resolve_extensions"]


@dataclass
class Extensions:
    """The optional models the app uses (None: that capability is hidden)."""

    boundary: BoundaryModel | None = None
    order: OrderModel | None = None
    proposals: RegionProposals | None = None


def resolve_extensions(predictor: Any, extensions: Extensions | None) -> Extensions:
    """Fill missing extensions from the click predictor when it offers the methods itself."""
    ext = extensions or Extensions()
    boundary = ext.boundary
    if boundary is None and callable(getattr(predictor, "predict_boundaries", None)):
        boundary = predictor
    order = ext.order
    if order is None and callable(getattr(predictor, "order_objects", None)):
        order = predictor
    return Extensions(boundary=boundary, order=order, proposals=ext.proposals)


def capabilities(predictor: Any, ext: Extensions) -> dict[str, bool]:
    """What the page may offer, as reported by ``GET /api/info``."""
    return {
        "object": True,
        "order": True,
        "boundary_clicks": bool(getattr(predictor, "supports_boundary_clicks", False)),
        "boundary": ext.boundary is not None,
        "auto_order": ext.order is not None,
        "proposals": ext.proposals is not None,
    }
