"""The app's HTTP routes, one router per concern (all over :class:`~occseg.app.state.AppState`).

* :mod:`.project` — ``/api/info``, the image list, the COCO export;
* :mod:`.images` — an image, its annotation document and its version;
* :mod:`.objects` — object mode: clicks, undo/redo, edits, delete/restore;
* :mod:`.order` — order mode: manual order, its undo, automatic ordering;
* :mod:`.boundaries` — boundary mode: scribbles and the boundary map;
* :mod:`.proposals` — the proposals layer: an image's region proposals, adopting one.
"""

from occseg.app.routes import boundaries, images, objects, order, project, proposals

ROUTERS = (
    project.router,
    images.router,
    objects.router,
    order.router,
    boundaries.router,
    proposals.router,
)

__all__ = ["ROUTERS"]
